"""Hostile and malformed input over real HTTP, on both databases: a 4xx whose message names what to
fix, never a 500, and nothing stored. Bodies are sent as raw bytes, the way an attacker or a broken
client sends them (a JSON encoder would refuse a lone surrogate before it left the test)."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from supportcue.data.store import Store, open_store
from supportcue.service import body as body_module
from tests.conftest import LiveServer
from tests.service.conftest import PAUSE_PAYOUTS, authorize

JSON = "application/json"
BAD_CHARS = {"NUL": ("\\u0000", "NUL byte"), "surrogate": ("\\ud800", "lone surrogate")}
EVENT = '{"idempotency_key": "k1", "case_id": "c1", "kind": "sent", "text": "done"'

# (body with %s where the bad character goes, the field the answer must name)
TEXT_FIELDS = [
    ("/v1/suggest", '{"message": "x %s"}', "message"),
    ("/v1/suggest", '{"message": "hi", "customer_name": "Ana%s"}', "customer_name"),
    ("/v1/suggest", '{"message": "hi", "agent_name": "Jo%s"}', "agent_name"),
    ("/v1/suggest", '{"message": "hi", "case_id": "c%s"}', "case_id"),
    ("/v1/suggest", '{"message": "hi", "context": "before %s"}', "context"),
    ("/v1/suggest", '{"message": "hi", "context": [{"text": "before %s"}]}', "context"),
    ("/v1/suggest", '{"message": "hi", "fields": {"order_id": "o%s"}}', "fields"),
    ("/v1/suggest", '{"message": "hi", "fields": {"order%s": "o1"}}', "fields"),
    ("/v1/events", '{"idempotency_key": "k%s", "case_id": "c1", "kind": "shown"}', "idempotency_key"),
    ("/v1/events", '{"idempotency_key": "k1", "case_id": "c%s", "kind": "shown"}', "case_id"),
    ("/v1/events", EVENT + ', "suggestion_id": "s%s"}', "suggestion_id"),
    ("/v1/events", '{"idempotency_key": "k1", "case_id": "c1", "kind": "sent", "text": "a%s"}', "text"),
    ("/v1/events", EVENT + ', "agent_id": "a%s"}', "agent_id"),
]


def post(api: httpx.Client, path: str, body: bytes, content_type: str = JSON) -> httpx.Response:
    return api.post(path, content=body, headers={"content-type": content_type})


def stored_rows(app: FastAPI, database_url: str) -> dict[str, int]:
    app.state.runtime.writer.flush()
    store = open_store(database_url)
    try:
        return {table: store.db.count(table) for table in ("events", "suggestions")}
    finally:
        store.close()


@pytest.mark.parametrize("bad", BAD_CHARS, ids=list(BAD_CHARS))
@pytest.mark.parametrize(
    ("path", "template", "field"), TEXT_FIELDS, ids=[f"{p}:{f}" for p, _, f in TEXT_FIELDS]
)
def test_nul_bytes_and_lone_surrogates_are_a_422_naming_the_field(
    api: httpx.Client, app: FastAPI, database_url: str, path: str, template: str, field: str, bad: str
) -> None:
    escape, says = BAD_CHARS[bad]
    r = post(api, path, (template % escape).encode())
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail.startswith(field) and says in detail
    assert [e["loc"][1] for e in r.json()["errors"]] == [field]
    assert stored_rows(app, database_url) == {"events": 0, "suggestions": 0}


INVISIBLE = {"RLO": "\\u202e", "RLI": "\\u2067", "ZWSP": "\\u200b", "ZWJ": "\\u200d", "BOM": "\\ufeff"}
# (path, body with %s where the invisible character goes, the field the answer must name)
ID_FIELDS = [
    ("/v1/suggest", '{"message": "hi", "case_id": "c-1%s"}', "case_id"),
    ("/v1/events", '{"idempotency_key": "k1", "case_id": "c-1%s", "kind": "shown"}', "case_id"),
    ("/v1/messages", '{"case_id": "c-1%s", "message_id": "m1", "text": "hi"}', "case_id"),
    ("/v1/messages", '{"case_id": "c-1", "message_id": "m1%s", "text": "hi"}', "message_id"),
    ("/v1/answers", '{"id": "a-1%s", "topic": "payouts", "title": "T", "body": "B"}', "id"),
    ("/v1/answers", '{"topic": "payouts%s", "title": "T", "body": "B", "new_topic": true}', "topic"),
]


@pytest.mark.parametrize("char", INVISIBLE, ids=list(INVISIBLE))
@pytest.mark.parametrize(("path", "template", "field"), ID_FIELDS, ids=[f"{p}:{f}" for p, _, f in ID_FIELDS])
def test_ids_holding_a_bidi_control_or_zero_width_character_are_a_422_naming_the_field(
    api: httpx.Client, store: Store, path: str, template: str, field: str, char: str
) -> None:
    """`c-1` and `c-1` plus a zero-width space (or `1-c` behind a right-to-left override) were two
    cases that look the same in the inbox."""
    r = post(api, path, (template % INVISIBLE[char]).encode())
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail.startswith(field) and "invisible character" in detail, detail
    assert store.db.count("cases") == 0 and store.db.count("answers") == 0


def test_an_answers_title_refuses_bidi_controls_and_keeps_the_joiners(api: httpx.Client) -> None:
    body = {"topic": "payouts", "body": "B"}
    r = api.post("/v1/answers", json={**body, "title": "Refund \u202eeludehcs"})
    assert r.status_code == 422 and r.json()["detail"].startswith("title"), r.text
    r = api.post("/v1/answers", json={**body, "id": "a-2", "title": "Pause \u200b payouts"})
    assert r.status_code == 422 and "invisible character" in r.json()["detail"], r.text
    persian = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"  # ZWNJ belongs in Persian words
    r = api.post("/v1/answers", json={**body, "id": "a-3", "title": persian})
    assert r.status_code == 201 and r.json()["title"] == persian, r.text
    r = api.patch("/v1/answers/a-3", json={"title": "x\u2066y"})
    assert r.status_code == 422 and r.json()["detail"].startswith("title"), r.text


HOSTILE: list[tuple[str, str, bytes, str, str]] = [
    # (id, path, body, content type, what the message says)
    (
        "ts year 1 east of UTC",
        "/v1/events",
        b'{"idempotency_key": "k1", "case_id": "c1", "kind": "shown", "ts": "0001-01-01T00:00:00+01:00"}',
        JSON,
        "ts: Value error, 0001-01-01T00:00:00+01:00 is out of range",
    ),
    (
        "ts year 9999 west of UTC",
        "/v1/events",
        b'{"idempotency_key": "k1", "case_id": "c1", "kind": "shown", "ts": "9999-12-31T23:59:59-01:00"}',
        JSON,
        "ts: Value error, 9999-12-31T23:59:59-01:00 is out of range",
    ),
    (
        "ts year 1",
        "/v1/events",
        b'{"idempotency_key": "k1", "case_id": "c1", "kind": "shown", "ts": "0001-01-01T00:00:00"}',
        JSON,
        "is out of range: give a time from 1900-01-01",
    ),
    ("body 1e999999 (events)", "/v1/events", b"1e999999", JSON, "number out of range"),
    ("body 1e999999 (suggest)", "/v1/suggest", b"1e999999", JSON, "number out of range"),
    (
        "handle_seconds 1e999999",
        "/v1/events",
        b'{"idempotency_key": "k1", "case_id": "c1", "kind": "shown", "handle_seconds": 1e999999}',
        JSON,
        "number out of range",
    ),
    ("body NaN", "/v1/suggest", b"NaN", JSON, "NaN is not a JSON number"),
    ("message Infinity", "/v1/suggest", b'{"message": Infinity}', JSON, "Infinity is not a JSON number"),
    (
        "handle_seconds -Infinity",
        "/v1/events",
        b'{"idempotency_key": "k1", "case_id": "c1", "kind": "shown", "handle_seconds": -Infinity}',
        JSON,
        "-Infinity is not a JSON number",
    ),
    (
        "handle_seconds 5000 digits",
        "/v1/events",
        b'{"idempotency_key": "k1", "case_id": "c1", "kind": "shown", '
        b'"handle_seconds": ' + b"9" * 5000 + b"}",
        JSON,
        "too many digits",
    ),
    (
        "handle_seconds 400 digits",
        "/v1/events",
        b'{"idempotency_key": "k1", "case_id": "c1", "kind": "shown", "handle_seconds": ' + b"9" * 400 + b"}",
        JSON,
        "handle_seconds:",
    ),
    ("deeply nested body", "/v1/suggest", b"[" * 50_000 + b"]" * 50_000, JSON, "nested too deeply"),
    (
        "deeply nested context",
        "/v1/suggest",
        b'{"message": "hi", "context": ' + b"[" * 40_000 + b"]" * 40_000 + b"}",
        JSON,
        "nested too deeply",
    ),
    ("invalid UTF-8 in a string", "/v1/suggest", b'{"message": "hi \xff\xfe"}', JSON, "not UTF-8"),
    ("invalid UTF-8 body", "/v1/events", b"\xff\xfe\x00\x00", JSON, "not UTF-8"),
    ("text/plain", "/v1/suggest", b'{"message": "hi"}', "text/plain", "content-type: application/json"),
    (
        "a form",
        "/v1/events",
        b"idempotency_key=k1&case_id=c1&kind=shown",
        "application/x-www-form-urlencoded",
        "content-type: application/json",
    ),
    ("a JSON array", "/v1/events", b"[1, 2]", JSON, "body: send the body as a JSON object"),
    (
        "a key twice",
        "/v1/suggest",
        b'{"message": "hi", "message": "card 4242"}',
        JSON,
        'the key "message" is given twice',
    ),
    (
        "a key twice, nested",
        "/v1/suggest",
        b'{"message": "hi", "context": [{"text": "a"}, {"role": "agent", "text": "b", "text": "c"}]}',
        JSON,
        'the key "text" is given twice',
    ),
    (
        "a key twice, in an event",
        "/v1/events",
        b'{"idempotency_key": "k1", "case_id": "c1", "kind": "shown", "case_id": "c2"}',
        JSON,
        'the key "case_id" is given twice',
    ),
    ("two BOMs", "/v1/suggest", b'\xef\xbb\xbf\xef\xbb\xbf{"message": "hi"}', JSON, "not valid JSON"),
    (
        "20,000 arrays",
        "/v1/suggest",
        b'{"message": "hi", "context": [' + b"[]," * 20_000 + b"[]]}",
        JSON,
        "more than 10,000 items in its arrays and objects",
    ),
    (
        "15,000 objects",
        "/v1/events",
        b'{"idempotency_key": "k1", "case_id": "c1", "kind": "shown", "x": [' + b"{}," * 15_000 + b"{}]}",
        JSON,
        "more than 10,000 items in its arrays and objects",
    ),
]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/suggest", b'{"message": "how do I pause a payout"}'),
        ("/v1/events", b'{"idempotency_key": "k1", "case_id": "c1", "kind": "shown"}'),
    ],
)
def test_a_body_starting_with_a_byte_order_mark_is_read(
    api: httpx.Client, app: FastAPI, database_url: str, path: str, body: bytes
) -> None:
    """PowerShell and .NET clients often send UTF-8 with a byte-order mark first; RFC 8259 lets a
    parser ignore it, and it is no part of the JSON."""
    r = post(api, path, b"\xef\xbb\xbf" + body)
    assert r.status_code in (200, 202), r.text[:300]
    stored = stored_rows(app, database_url)
    assert stored["events" if path == "/v1/events" else "suggestions"] == 1


@pytest.mark.parametrize(
    ("path", "body", "content_type", "says"), [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE]
)
def test_malformed_bodies_are_a_422_with_a_message(
    api: httpx.Client, app: FastAPI, database_url: str, path: str, body: bytes, content_type: str, says: str
) -> None:
    r = post(api, path, body, content_type)
    assert r.status_code == 422, r.text
    assert says in r.json()["detail"]
    assert isinstance(r.json()["errors"], list)
    assert stored_rows(app, database_url) == {"events": 0, "suggestions": 0}


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("since=0001-01-01", "since=0001-01-01 is out of range"),
        ("since=0001-01-01T00:00:00%2B01:00", "is out of range"),
        ("until=9999-12-31", "until=9999-12-31 is out of range"),
        ("until=9999-12-31T23:59:59-01:00", "is out of range"),
        ("since=2026-13-01", "is not an ISO date or datetime"),
    ],
)
@pytest.mark.parametrize("page", ["/v1/metrics", "/dashboard"])
def test_reporting_windows_at_the_ends_of_time_are_a_422(
    api: httpx.Client, page: str, query: str, says: str
) -> None:
    r = api.get(f"{page}?{query}")
    assert r.status_code == 422 and says in r.json()["detail"]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/static/" + "a" * 300, 404),
        ("/cases/%00", 422),
        ("/cases/%ED%A0%80", 404),  # the server decodes the path with replacement characters
    ],
)
def test_page_paths_that_no_file_or_case_can_have(api: httpx.Client, path: str, status: int) -> None:
    r = api.get(path)
    assert r.status_code == status
    assert r.json()["detail"] if "json" in r.headers["content-type"] else "Not found" in r.text


@pytest.mark.parametrize(
    "before",
    [
        "2026-10-01T11:00:00,c%00",  # PostgreSQL cannot compare with a NUL byte: it was a 500 there
        "0001-01-01T00:00:00%2B14:00,c1",  # year 1 east of UTC: before year 1 in UTC, a 500
        "9999-12-31T23:59:59-14:00,c1",  # year 9999 west of UTC: past year 9999 in UTC, a 500
    ],
)
def test_an_inbox_cursor_no_link_can_hold_is_a_422_page(api: httpx.Client, before: str) -> None:
    """The inbox's "Older cases" link (`?before=<time>,<id>`) holds a case's stored time and id; a
    cursor whose time lies past the ends of `datetime` once converted to UTC, or whose id holds a NUL
    byte, was a 500 (the time could not be converted to bind it, PostgreSQL refused the NUL): the
    page that says what `before` must be, as for any other cursor that is not a time and an id."""
    r = api.get(f"/?before={before}", headers={"accept": "text/html"})
    assert r.status_code == 422, r.text[:300]
    assert "before must be a case" in r.text


def test_error_bodies_do_not_echo_the_input(api: httpx.Client) -> None:
    r = post(api, "/v1/suggest", b'{"message": "card 4242 4242 4242 4242 \\u0000"}')
    assert r.status_code == 422 and "4242" not in r.text
    r = post(api, "/v1/suggest", b'{"message": "card 4242 4242", "message": "card 4242 4242"}')
    assert r.status_code == 422 and "4242" not in r.text
    errors: list[dict[str, Any]] = r.json()["errors"]
    assert [sorted(e) for e in errors] == [["loc", "msg", "type"]]


TWO_MIB = 2 * 1_048_576
BODIES = [
    # (method, path, role of the key (None: no key), its limit): the routes without a limit of their
    # own, and one with
    ("POST", "/v1/answers/a1/compose", "embed", "1,048,576"),  # the least secret key
    ("POST", "/v1/answers", "reviewer", "1,048,576"),
    ("PATCH", "/v1/answers/a1", "reviewer", "1,048,576"),
    ("POST", "/v1/reviews", "reviewer", "1,048,576"),
    ("POST", "/library", "reviewer", "1,048,576"),
    ("POST", "/login", None, "1,048,576"),
    ("POST", "/v1/events", "integration", "65,536"),
]


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize(("method", "path", "role", "limit"), BODIES, ids=[f"{b[0]} {b[1]}" for b in BODIES])
def test_every_body_has_a_size_limit(
    server: LiveServer, store: Store, method: str, path: str, role: str | None, limit: str, chunked: bool
) -> None:
    """A body of megabytes is a 413 before it is read whole (a JSON parse or a form of 2 MiB costs the
    worker many times that in memory), whichever route it is sent to, and however it is sent."""
    form = path in ("/library", "/login")
    content_type = "application/x-www-form-urlencoded" if form else JSON
    headers = {"content-type": content_type, **(authorize(store, role) if role else {})}
    body = b"body=" + b"x" * TWO_MIB if form else b'{"body": "' + b"x" * TWO_MIB + b'"}'
    content: Any = iter([body[i : i + 65_536] for i in range(0, len(body), 65_536)]) if chunked else body
    r = httpx.request(method, server.url + path, content=content, headers=headers, timeout=30)
    assert r.status_code == 413, r.text[:300]
    assert f"the limit is {limit}" in r.json()["detail"]


def test_a_body_of_unclosed_escaped_quotes_is_refused_at_once_and_stalls_no_other_request(
    server: LiveServer, store: Store
) -> None:
    """The nesting check skips what is inside strings; it found strings with a pattern that, on a
    body of `\\"` after a quote, scanned from each quote to the end: 30 kB from the embed key (the
    least secret key) held the event loop, and every other request (/healthz too), for 5 to 11 s;
    100 kB for a minute; a 1 MiB body (the limit of most routes) for hours."""
    body = b"[" * 70 + b'"' + b'\\"' * 15_000
    headers = {"content-type": JSON, **authorize(store, "embed")}
    with ThreadPoolExecutor(1) as pool:
        started = time.perf_counter()
        url = server.url + "/v1/suggest"
        refused = pool.submit(httpx.post, url, content=body, headers=headers, timeout=60)
        time.sleep(0.2)
        health = httpx.get(server.url + "/healthz", timeout=60)
        health_s = time.perf_counter() - started
        r = refused.result()
    took = time.perf_counter() - started
    assert r.status_code == 422 and "nested too deeply" in r.json()["detail"]
    assert health.status_code == 200
    assert took < 1.5 and health_s < 1.5, (took, health_s)


def _health_while(server: LiveServer, request: Callable[[], httpx.Response]) -> tuple[httpx.Response, float]:
    """`request`'s answer, and the slowest /healthz answer while it was in flight."""
    slowest = 0.0
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(request)
        time.sleep(0.1)  # the body is on its way
        while not pending.done():
            asked = time.perf_counter()
            assert httpx.get(server.url + "/healthz", timeout=120).status_code == 200
            slowest = max(slowest, time.perf_counter() - asked)
            time.sleep(0.02)
        return pending.result(), slowest


def test_a_large_body_is_parsed_off_the_event_loop_and_stalls_no_other_request(
    server: LiveServer, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A JSON body was parsed, and its nesting checked, where it is read: on the event loop. A body of
    1 MiB (most routes' limit; the embed key, the least secret, may send one) of numbers took 0.2 s
    to parse, on a loaded machine 0.4 s, and every other request (/healthz too) waited for it. A
    body over 64 kB is parsed on a worker thread. The parse is made to take 2 s here (a sleep before
    the real one), so that the event loop's being held shows whatever the machine's load."""
    real = body_module.parse_json

    def slow(body: bytes) -> Any:
        time.sleep(2.0)
        return real(body)

    monkeypatch.setattr(body_module, "parse_json", slow)
    numbers = ("[" + "0.5," * 262_000 + "0.5]").encode()  # 0.2 s to parse: `_float` reads each
    assert 1_000_000 < len(numbers) < 1_048_576
    headers = {"content-type": JSON, **authorize(store, "embed")}
    url = server.url + "/v1/answers/a1/compose"
    r, slowest = _health_while(server, lambda: httpx.post(url, content=numbers, headers=headers, timeout=120))
    assert r.status_code == 422, r.text[:300]  # too many items (on the worker thread too)
    assert slowest < 1.0, slowest  # it waited the whole 2 s


def test_a_body_of_a_million_bytes_of_empty_arrays_is_refused_before_it_is_parsed(
    server: LiveServer, store: Store
) -> None:
    """1 MiB of `[],` (the embed key, the least secret, may send that much to compose) is some 340,000
    lists: parsing them took 2 s on a loaded machine (0.1 s of it the parse, the rest the garbage
    collections the new lists set off), holding the interpreter meanwhile; 30 such requests at once
    held /healthz for 27 s and made other callers' key lookups time out (503). No request of this
    API has more than a few thousand items in its arrays and objects: past 10,000 the body is refused,
    counted outside strings (commas and brackets in a text are text), before it is parsed."""
    store.library.upsert_answers([PAUSE_PAYOUTS])
    lists = b'{"case_id": "c1", "fields": {"a": [' + b"[]," * 340_000 + b"[]]}}"
    assert 1_000_000 < len(lists) < 1_048_576
    headers = {"content-type": JSON, **authorize(store, "embed")}
    r = httpx.post(server.url + "/v1/answers/a1/compose", content=lists, headers=headers, timeout=120)
    assert r.status_code == 422 and "more than 10,000 items" in r.json()["detail"], r.text[:300]
    brackets = '{"case_id": "c1", "customer_name": "' + "[]{}" * 50 + '"}'
    r = httpx.post(server.url + "/v1/answers/a1/compose", content=brackets.encode(), headers=headers)
    assert r.status_code == 200, r.text[:300]  # brackets in a string are text


def test_a_body_of_a_million_bytes_of_numbers_is_refused_before_it_is_parsed(
    server: LiveServer, store: Store
) -> None:
    """1 MiB of `0.5,` is 262,000 numbers, each read in Python (`_float`, which refuses an overflow):
    0.3 s a body on a loaded machine, holding the interpreter; 30 such requests at once (an embed
    key may send them) held /healthz for 7 s. No request of this API has more than a few thousand
    values: past 10,000 items in its arrays and objects (commas outside strings) the body is refused
    before it is parsed; commas in a text are text."""
    store.library.upsert_answers([PAUSE_PAYOUTS])
    numbers = b"[" + b"0.5," * 262_000 + b"0.5]"
    headers = {"content-type": JSON, **authorize(store, "embed")}
    r = httpx.post(server.url + "/v1/answers/a1/compose", content=numbers, headers=headers, timeout=120)
    assert r.status_code == 422 and "more than 10,000 items" in r.json()["detail"], r.text[:300]
    commas = '{"case_id": "c1", "customer_name": "' + "," * 150 + '"}'
    r = httpx.post(server.url + "/v1/answers/a1/compose", content=commas.encode(), headers=headers)
    assert r.status_code == 200, r.text[:300]


PADDING = b" " * 70_000
"""Whitespace, which JSON ignores: a body with it is over 64 kB, parsed on a worker thread."""


@pytest.mark.parametrize("pad", [b"", PADDING], ids=["small body", "large body"])
@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        (b'{"message": "how do I pause a payout", "context": [%s"hi"]}', 200, None),
        (b'{"message": "hi", "context": [%sNaN]}', 422, "NaN is not a JSON number"),
        (b'{"message": "hi", "context": [%s' + b"[" * 70 + b"]" * 70 + b"]}", 422, "nested too deeply"),
        (b'{"message": "hi", "context": [%s"\xff"]}', 422, "not UTF-8"),
        (b'{"message": "hi", "context": [%s', 422, "not valid JSON"),
        (b'{"message": "hi", "context": [%s{"text": "a", "text": "b"}]}', 422, 'key "text" is given twice'),
        (b'\xef\xbb\xbf{"message": "how do I pause a payout", "context": [%s"hi"]}', 200, None),
    ],
    ids=["valid", "NaN", "nested", "not UTF-8", "truncated", "key twice", "BOM"],
)
def test_a_body_is_read_alike_whether_parsed_on_the_event_loop_or_a_worker_thread(
    api: httpx.Client, pad: bytes, body: bytes, status: int, says: str | None
) -> None:
    r = post(api, "/v1/suggest", body.replace(b"%s", pad))
    assert r.status_code == status, r.text[:300]
    if says is not None:
        assert says in r.json()["detail"]
    else:
        assert r.json()["topic"] == "payouts"
