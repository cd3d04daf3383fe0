"""Callers and roles: API keys, users and login sessions, CSRF tokens, per-caller rate limits; and
redaction of personal data from logs, errors and rejects (`redaction.py`).

See DESIGN.md, "Contract: who may do what". The service reaches callers through `service/auth.py`
(the middleware that finds the caller) and `service/deps.py` (`CallerDep`, `require(...)`).
"""

from supportcue.security.callers import Authenticator, Caller
from supportcue.security.keys import create_key
from supportcue.security.ratelimit import RateLimiter
from supportcue.security.roles import allows, includes
from supportcue.security.users import add_user
from supportcue.vocab import Role

__all__ = ["Authenticator", "Caller", "RateLimiter", "Role", "add_user", "allows", "create_key", "includes"]
