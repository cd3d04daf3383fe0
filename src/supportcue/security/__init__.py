"""Security: redaction of personal data from logs, errors and rejects (`redaction.py`)."""
