"""`redact` on hand-made examples: personal data replaced by typed placeholders, and the near misses
(ids, amounts, dates, invalid checksums) left alone, because logs need the ids."""

from __future__ import annotations

import logging
import time

import pytest

from supportcue.security.redaction import (
    hide_paths,
    holds_personal,
    iban_valid,
    install_log_redaction,
    luhn_valid,
    personal_scope,
    redact,
    remember_personal,
)

REDACTED = [
    ("email", "write to anna.berg+shop@example.co.uk today", "write to [email] today"),
    ("email upper", "From: ANNA@EXAMPLE.COM", "From: [email]"),
    ("visa spaced", "card 4111 1111 1111 1111 was declined", "card [card] was declined"),
    ("mastercard dashed", "5500-0000-0000-0004", "[card]"),
    ("amex plain", "my amex 378282246310005.", "my amex [card]."),
    ("13 digits", "old card 4222222222222", "old card [card]"),
    ("card after an order id", "order 1234 4111 1111 1111 1111 paid", "order 1234 [card] paid"),
    ("iban grouped", "IBAN DE89 3704 0044 0532 0130 00 please", "IBAN [iban] please"),
    ("iban compact", "FR1420041010050500013M02606", "[iban]"),
    ("iban letters", "to GB82 WEST 1234 5698 7654 32, thanks", "to [iban], thanks"),
    ("phone international", "call +44 20 7946 0958", "call [phone]"),
    ("phone 00", "call 0044 20 7946 0958 now", "call [phone] now"),
    ("phone trunk", "mobile 06 12 34 56 78", "mobile [phone]"),
    ("phone parentheses", "(020) 7946 0958", "[phone]"),
    ("phone nanp", "555-123-4567 or 555.123.4567", "[phone] or [phone]"),
    ("phone +1", "+1 (555) 123-4567", "[phone]"),
    ("several", "anna@x.io, 4111111111111111, +33612345678", "[email], [card], [phone]"),
    ("mailto", "<mailto:anna@example.com>", "<mailto:[email]>"),
    ("another URL's user and host", "ftp://anna@example.com/x", "ftp://[email]/x"),
    ("email in a URL's path", "https://example.com/u/anna@example.com", "https://example.com/u/[email]"),
    # the detectors the suggestion masking (`llm/privacy.py`) also uses
    ("us ssn", "ssn 123-45-6789 on file", "ssn [id] on file"),
    ("spanish dni", "mi DNI es 12345678Z.", "mi DNI es [id]."),
    ("spanish nie", "NIE X1234567L", "NIE [id]"),
    ("uk national insurance", "NI number AB 12 34 56 C", "NI number [id]"),
    ("street address", "ship to 221B Baker Street today", "ship to [address] today"),
    ("french address", "au 12 rue de la Paix", "au [address]"),
    ("postcode and town", "in 10115 Berlin", "in [address]"),
    ("postcode and a town in -s", "75001 Paris or 11527 Athens", "[address] or [address]"),
    ("postcode and town after a count", "read 12000 rows for 10115 Berlin", "read 12000 rows for [address]"),
    (
        "us state and zip",
        "Mountain View, CA 94043 or Boise, ID 83702",
        "Mountain View, [address] or Boise, [address]",
    ),
    ("a name the customer gives", "Hi, my name is Ana Silva. Ana here", "Hi, my name is [name]. [name] here"),
    ("a name after a sign-off", "Refund please.\nThanks,\nJosé Álvarez", "Refund please.\nThanks,\n[name]"),
    ("in a repr", "ValueError('my DNI is 12345678Z')", "ValueError('my DNI is [id]')"),
    # an address spelled out, as people write it to dodge spam bots
    ("spelled out", "write to jane dot doe at gmail dot com please", "write to [email] please"),
    ("spelled out, capitals", "JANE AT GMAIL DOT COM", "[email]"),
    ("spelled out after 'at'", "email me at jane dot doe at gmail dot com", "email me at [email]"),
    ("spelled out, country domain", "mail anna at example dot co dot uk today", "mail [email] today"),
    ("spelled 'at', written dots", "it is jane.doe at gmail.com.", "it is [email]."),
    ("'@', spelled dot", "jane@gmail dot com", "[email]"),
    ("spelled and bracketed", "jane dot doe (at) gmail (dot) com", "[email]"),
    ("bracketed", "jane(at)example(dot)com or jane [at] example [dot] com", "[email] or [email]"),
]

KEPT = [
    ("card with a bad checksum", "4111 1111 1111 1112"),
    ("iban with a bad checksum", "DE88 3704 0044 0532 0130 00"),
    ("iso date", "since 2026-10-01 at 10:30"),
    ("order id", "order 12345678 and invoice INV-2026-0042"),
    ("amount", "a refund of €1,250.00 or $99.99"),
    ("case and suggestion ids", "case c-000123 suggestion 3f2a9c1e0b7d4e21"),
    ("business days", "3 to 5 business days, 10 working days"),
    ("handle", "@anna said hi"),
    # "at" and "dot" in sentences: no address, for want of a domain's tail (a dot and a top-level
    # domain) or of a written address's marks (a spelled dot, a dot in the name before "at")
    ("meeting at a place", "meet at the cafe dot, see you at 10 dot 30"),
    ("a shop's site", "I bought it at amazon.com and looked at example.org"),
    ("polka dots", "a dress at home with a polka dot pattern"),
    ("versions", "topic v12, model 0.3.1"),
    ("short digit run", "code 123456"),
    ("a long id that is no card", "ticket 1234567890123"),
    ("lowercase word after numbers", "de89 3704 text"),
    ("a database URL's user and host", "cannot open postgresql://supportcue@db.example.com/support"),
    ("a database URL's host, psycopg", "postgresql+psycopg://ops@pg-01.internal:5432/test refused"),
    ("request ids", "request 3f2a9c1e0b7d4e21: POST /v1/suggest failed, x-request-id 0a1b2c3d4e5f6789"),
    ("uuids", "suggestion 123e4567-e89b-12d3-a456-426614174000"),
    ("times", "at 2026-10-01T09:00:00Z, 2026-10-01 09:00:00+00:00, 01/10/2026"),
    ("versions and http", "HTTP/1.1 500, supportcue 0.31.2, python 3.11.9, topic v12"),
    ("a traceback line", 'File "/srv/app/supportcue/pipeline.py", line 403, in suggest'),
    ("sha and key prefixes", "sha256 9f86d081884c7d65, key sc_AB12CD34"),
    ("english words after a sign-off", "Thanks, that worked. Best regards from the worker."),
    ("counts", "read 12345 rows in 250 ms, 10115 bytes"),
    # a count before a capitalised word (a log line's title case, a table's header) is no postcode
    ("counts before a capitalised noun", "import: 10115 Rows, 20000 Cases, 12345 Messages, 50000 Tokens"),
    ("a count at a sentence's start", "Stored 10115 Labels. 30000 Events read"),
    ("an id or an ok before a number", "case ID 12345: HTTP 200 OK 12345 rows"),
]


@pytest.mark.parametrize(("name", "text", "expected"), REDACTED, ids=[r[0] for r in REDACTED])
def test_personal_data_is_replaced(name: str, text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(("name", "text"), KEPT, ids=[k[0] for k in KEPT])
def test_near_misses_are_kept(name: str, text: str) -> None:
    assert redact(text) == text


def test_checksums() -> None:
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert iban_valid("DE89 3704 0044 0532 0130 00") and not iban_valid("DE88 3704 0044 0532 0130 00")
    assert not iban_valid("DE89")


def test_redact_is_idempotent_and_total() -> None:
    once = redact(" ".join(r[1] for r in REDACTED))
    assert redact(once) == once
    assert redact("") == ""


def test_absolute_paths_lose_their_folders() -> None:
    text = "artifact /srv/ws/models/topic/v1.joblib missing; C:\\ws\\models\\v2.joblib too"
    assert hide_paths(text) == "artifact …/v1.joblib missing; …/v2.joblib too"
    assert hide_paths("models/topic/v1.joblib and 1/2 and https://x.io/a/b") == (
        "models/topic/v1.joblib and 1/2 and https://x.io/a/b"
    )


def test_every_log_record_is_redacted(caplog: pytest.LogCaptureFixture) -> None:
    install_log_redaction()
    install_log_redaction()  # idempotent
    logger = logging.getLogger("sqlalchemy.engine.test")
    with caplog.at_level(logging.INFO):
        logger.warning("insert failed for %s with card %s", "anna@example.com", "4111 1111 1111 1111")
        try:
            raise ValueError("bad row: +44 20 7946 0958")
        except ValueError:
            logger.exception("row %d", 7)
    text = caplog.text
    assert "anna@example.com" not in text and "4111" not in text and "7946" not in text
    assert "insert failed for [email] with card [card]" in text
    assert "bad row: [phone]" in text and "row 7" in text


def test_the_case_values_of_a_request_are_redacted_in_its_log_records(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The customer's name and the case's field values are known to the request that carries them:
    a log record (its traceback too) written while it runs has them replaced, as the suggestion's
    stored message has; harmless values (a plan, a date, a version) stay, and no other request's
    records are touched."""
    install_log_redaction()
    logger = logging.getLogger("supportcue.test")
    fields = {"order_id": "A-10293", "plan": "pro", "since": "2026-10-01", "app": "3.11.2", "n": "7"}
    with caplog.at_level(logging.INFO), personal_scope():
        remember_personal("José Post", fields.values())
        try:
            raise KeyError(
                "no refund for José Post (Jose) on order A-10293, plan pro, app 3.11.2, 2026-10-01"
            )
        except KeyError:
            logger.exception("request 3f2a9c1e0b7d4e21: POST /v1/suggest failed for %s", "JOSÉ POST")
    text = caplog.text
    for secret in ("José", "Jose", "Post ", "JOSÉ", "A-10293"):
        assert secret not in text, text
    assert "no refund for [name] ([name]) on order [field], plan pro, app 3.11.2, 2026-10-01" in text
    # a part of the name in capitals is no name: the method stays
    assert "request 3f2a9c1e0b7d4e21: POST /v1/suggest failed for [name]" in text
    caplog.clear()
    with caplog.at_level(logging.INFO):
        logger.warning("another request: José, A-10293")  # outside the scope: nothing known
    assert "José, A-10293" in caplog.text


def test_a_scope_keeps_the_latest_values_only(caplog: pytest.LogCaptureFixture) -> None:
    """`supportcue batch` runs a whole file of cases in one command's scope: every case's name and
    field values were kept, so memory grew with the file and every log record was checked against
    all of them. A scope keeps the latest `MAX_KNOWN`: the cases at hand."""
    import time

    from supportcue.security.redaction import MAX_KNOWN

    install_log_redaction()
    with caplog.at_level(logging.INFO), personal_scope():
        for i in range(5 * MAX_KNOWN):
            remember_personal(f"Customer{i} Lastname{i}", [f"ORD-{i}"])
        n = 5 * MAX_KNOWN - 1
        started = time.perf_counter()
        for _ in range(20):
            logging.getLogger("supportcue.test").warning("case for Customer%d, ORD-%d", n, n)
        elapsed = time.perf_counter() - started
    assert "case for [name], [field]" in caplog.text and f"Customer{n}" not in caplog.text
    assert elapsed < 1.0, elapsed  # 20 records


@pytest.mark.parametrize("unit", ["A-", "Aa-", "A1-", "Ä-"])
def test_hyphenated_capitals_are_redacted_in_linear_time(unit: str) -> None:
    """The German street pattern (`Hauptstraße 12`) started at every capital after a hyphen and read
    to the end of the hyphenated run from each: 20 kB of `A-A-A-` took 5 s, 40 kB 20 s, in `redact`
    (every log line) and in the masking of every suggestion's message, where a customer's message of
    10,000 characters held the server (the regex engine keeps the GIL) for 1.5 s."""
    text = "Hauptstraße 12 " + unit * (40_000 // len(unit)) + " Am Lindenweg 3a"
    started = time.perf_counter()
    redacted = redact(text)
    assert time.perf_counter() - started < 0.5
    assert redacted.startswith("[address] ") and redacted.endswith(" [address]")


@pytest.mark.parametrize(
    "text",
    [
        "a dot " * 8_000,
        "a at " * 10_000,
        "a dot a at " * 5_000,
        "dot " * 12_000,
        "x at " + "a dot " * 8_000 + "a",
        "a (dot) " * 6_000,
        "a.a dot " * 6_000 + "at",
        "jane dot doe at gmail dot c" * 2_000,
    ],
    ids=["dots", "ats", "dots and ats", "dot words", "one long domain", "bracketed", "mixed", "near misses"],
)
def test_spelled_out_addresses_are_looked_for_in_linear_time(text: str) -> None:
    """A spelled-out address is a chain of words joined by " dot " and " at ": a pattern that read
    such a chain again from each of its words took quadratic time on a long one (a customer's
    message of 10,000 characters is masked for every suggestion, and every log line redacted): 50 kB
    of "a dot " took 30 s so; 0.1 s read once from each chain's first word."""
    started = time.perf_counter()
    redact(text)
    assert time.perf_counter() - started < 2.0


def test_holds_personal_is_what_replace_personal_replaces() -> None:
    for value in ("ana.lima@example.com", "4111 1111 1111 1111", "+44 20 7946 0958", "221B Baker Street"):
        assert holds_personal(value), value
    for value in ("Pro", "88213", "A-10293", "", "2026-10-01"):
        assert not holds_personal(value), value
