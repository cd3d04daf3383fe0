"""HTTP error bodies name what the caller can fix, never the server's paths, message text or personal
data (issue 9, item 8); a 500 is a generic message with a request id, and the log has the detail,
redacted, under the same id."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from supportcue.data.store import Store
from supportcue.pipeline import Pipeline
from supportcue.service.runtime import PipelineLoader
from supportcue.settings import Settings
from tests.conftest import LiveServer
from tests.service.conftest import authorize, wait_loaded
from tests.service.test_headers import assert_secured

CARD = "4111 1111 1111 1111"
EMAIL = "anna.berg@example.com"
SECRET_TEXT = f"please refund card {CARD} and mail {EMAIL}"
SERVER_PATH = "/srv/supportcue/workspace/supportcue.db"


def _assert_clean(text: str) -> None:
    for secret in ("4111", EMAIL, "please refund", "/srv/supportcue"):
        assert secret not in text, f"{secret!r} leaked: {text[:400]}"


class Lines(logging.Handler):
    """The formatted records (tracebacks included) a logger emits."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def uvicorn_records() -> Iterator[Lines]:
    """What uvicorn logs (it logs to its own handlers, which caplog does not see)."""
    handler = Lines()
    logger = logging.getLogger("uvicorn.error")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def test_a_500_is_generic_with_a_request_id_and_the_log_has_the_redacted_detail(
    api: httpx.Client,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    uvicorn_records: Lines,
) -> None:
    def broken(store: Store, row: dict[str, object], **_: object) -> None:
        raise RuntimeError(f"cannot store {row['text']!r} in {SERVER_PATH}")

    monkeypatch.setattr("supportcue.service.routes.events.record_event", broken)
    body = {"idempotency_key": "k1", "case_id": "c1", "kind": "sent", "text": SECRET_TEXT}
    with caplog.at_level(logging.ERROR):
        r = api.post("/v1/events", json=body, timeout=10)
    assert r.status_code == 500
    _assert_clean(r.text)
    request_id = r.json()["request_id"]
    assert re.fullmatch(r"[0-9a-f]{16}", request_id) and r.headers["x-request-id"] == request_id
    assert request_id in r.json()["detail"]
    logged = [rec for rec in caplog.records if request_id in rec.getMessage()]
    assert len(logged) == 1, caplog.text
    assert "RuntimeError" in logged[0].getMessage() and "POST /v1/events" in logged[0].getMessage()
    assert logged[0].exc_info is not None  # the traceback, for the operator
    assert "Traceback" in caplog.text and "[card]" in caplog.text and "[email]" in caplog.text
    for secret in ("4111", EMAIL):
        assert secret not in caplog.text
    # and only there: uvicorn logged it again in full ("Exception in ASGI application", a second
    # traceback without the request id), after the response had gone out
    deadline = time.time() + 1
    while not uvicorn_records.lines and time.time() < deadline:
        time.sleep(0.01)
    assert uvicorn_records.lines == []
    assert len([rec for rec in caplog.records if rec.exc_info]) == 1, caplog.text


def test_a_missing_column_is_a_500_in_the_log_not_an_outage(
    api: httpx.Client, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """SQLite raises its OperationalError for SQL that names a column the table lacks (a schema
    behind the code): answered 503 "the database cannot be reached" with nothing in the log, while
    the database was up, so no retry could help and the operator had nothing to go on."""
    import sqlite3

    from sqlalchemy.exc import OperationalError

    def behind(store: Store, row: dict[str, object], **_: object) -> None:
        orig = sqlite3.OperationalError("no such column: experiments.control")
        raise OperationalError("SELECT experiments.control FROM experiments", {}, orig)

    monkeypatch.setattr("supportcue.service.routes.events.record_event", behind)
    with caplog.at_level(logging.ERROR):
        r = api.post(
            "/v1/events", json={"idempotency_key": "k1", "case_id": "c1", "kind": "shown"}, timeout=10
        )
    assert r.status_code == 500 and "cannot be reached" not in r.text
    logged = [rec.getMessage() for rec in caplog.records if r.json()["request_id"] in rec.getMessage()]
    assert logged and "no such column: experiments.control" in logged[0]


def test_a_422_does_not_echo_the_request_text(api: httpx.Client) -> None:
    body = {"idempotency_key": "k1", "case_id": "c1", "kind": "sent", "text": [SECRET_TEXT]}
    r = api.post("/v1/events", json=body, timeout=10)
    assert r.status_code == 422
    assert "text" in r.json()["detail"]  # still names the field
    _assert_clean(r.text)


@pytest.mark.parametrize(
    ("method", "path", "body", "what"),
    [
        ("POST", f"/cases/{EMAIL}/resolve", None, "no case with this id"),
        ("GET", f"/cases/{EMAIL}", None, "There is no case with this id."),
        ("POST", f"/v1/answers/{EMAIL}/compose", {}, "no approved answer with this id"),
        (
            "PATCH",
            f"/v1/answers/{EMAIL}",
            {"status": "approved", "base_version": 1},
            "no answer with this id",
        ),
        ("GET", f"/v1/answers/{EMAIL}/versions", None, "no answer with this id"),
        ("GET", f"/library/{EMAIL}", None, "There is no answer with this id."),
        ("POST", "/v1/reviews", {"item_id": EMAIL, "verdict": "correct"}, "no review item with this id"),
        ("GET", "/v1/alerts/4242", None, "no drift alert with this id"),
        ("GET", "/v1/review/queue?alert=4242", None, "no drift alert with this id"),
    ],
)
def test_a_404_names_what_is_missing_never_the_id_asked_for(
    api: httpx.Client, method: str, path: str, body: dict[str, object] | None, what: str
) -> None:
    """A 404 echoed the id asked for ("no case 'anna.berg@example.com'"); a help desk's case id can be
    the customer's address (a shared inbox keyed by sender), and error bodies carry no personal data.
    Every 404 says what kind of thing is missing; the caller has the id it sent."""
    page = method == "GET" and not path.startswith("/v1/")  # a console page: the "Not found" page
    accept = "text/html" if page else "application/json"
    r = api.request(method, path, json=body, headers={"accept": accept}, timeout=10)
    assert r.status_code == 404, r.text
    assert what in r.text and EMAIL not in r.text and "4242" not in r.text and "anna.berg" not in r.text


def _failing(exc: Exception) -> PipelineLoader:
    def loader(store: Store, settings: Settings) -> Pipeline:
        raise exc

    return loader


def test_readyz_and_suggest_name_no_server_path_when_loading_fails(
    make_app: Callable[[PipelineLoader], FastAPI],
) -> None:
    app = make_app(_failing(FileNotFoundError(2, "No such file or directory", f"{SERVER_PATH}-model")))
    auth = authorize(app.state.runtime.store)
    with LiveServer(app) as live:
        wait_loaded(app)
        ready = httpx.get(f"{live.url}/readyz", timeout=10)
        suggest = httpx.post(f"{live.url}/v1/suggest", json={"message": "hi"}, headers=auth, timeout=10)
    assert ready.status_code == 503 and suggest.status_code == 503
    assert "supportcue.db-model" in ready.json()["reason"]  # the file's name says what is missing
    _assert_clean(ready.text)
    _assert_clean(suggest.text)


def test_readyz_names_a_missing_artifact_by_stage_version_and_workspace_path(
    make_app: Callable[[PipelineLoader], FastAPI], tmp_path: Path
) -> None:
    from tests.service.test_model_integrity import _train, hashing_pipeline

    app = make_app(hashing_pipeline)
    paths = _train(app.state.runtime.store, tmp_path / "models")
    paths["topic"].unlink()
    with LiveServer(app) as live:
        wait_loaded(app)
        ready = httpx.get(f"{live.url}/readyz", timeout=10)
    assert ready.status_code == 503
    reason = ready.json()["reason"]
    assert "topic v1" in reason and "models/topic/v1.joblib" in reason, reason
    assert str(tmp_path) not in reason


def test_a_page_opened_while_the_database_is_down_is_a_page_saying_so(
    app: FastAPI, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An agent's browser got a raw JSON body (`{"detail": ...}`) when the database could not be
    reached, whether at the caller's lookup or in the page's own query; an API client still gets JSON."""
    from fastapi.testclient import TestClient
    from sqlalchemy.exc import OperationalError

    down = OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))

    def refuse(*args: object, **kwargs: object) -> None:
        raise down

    known, fresh = authorize(store, "agent"), authorize(store, "agent")
    page = {"accept": "text/html,application/xhtml+xml"}
    with TestClient(app) as client:
        wait_loaded(app)
        assert client.get("/", headers={**known, **page}).status_code == 200  # the key is cached now
        monkeypatch.setattr(store.cases, "list", refuse)
        monkeypatch.setattr(app.state.authenticator, "by_key", refuse)
        for key, says in ((known, "cannot be reached"), (fresh, "cannot check the caller")):
            r = client.get("/", headers={**key, **page})
            assert r.status_code == 503 and r.headers["content-type"].startswith("text/html"), r.text
            assert "cannot reach its database" in r.text and says in r.text and "Reload" in r.text
            assert r.headers["retry-after"] == "5"
            assert_secured(r)  # an error page is a page: the same security headers
            api = client.get("/", headers={**key, "accept": "application/json"})
            assert api.status_code == 503 and says in api.json()["detail"]


def test_a_page_that_fails_is_the_consoles_error_page_and_a_script_still_gets_json(
    app: FastAPI, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A browser that hit an unexpected 500 on a console page got the raw JSON problem body."""
    from fastapi.testclient import TestClient

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"bug near {SECRET_TEXT} in {SERVER_PATH}")

    key = authorize(store, "agent")
    with TestClient(app) as client:
        wait_loaded(app)
        monkeypatch.setattr(store.cases, "list", broken)
        page = client.get("/", headers={**key, "accept": "text/html,application/xhtml+xml"})
        assert page.status_code == 500 and page.headers["content-type"].startswith("text/html")
        request_id = page.headers["x-request-id"]
        assert "Something went wrong" in page.text and request_id in page.text
        assert '<a href="/">' in page.text and "RuntimeError" not in page.text
        _assert_clean(page.text)
        assert_secured(page)
        api = client.get("/", headers={**key, "accept": "application/json"})
        assert api.status_code == 500 and api.headers["content-type"] == "application/json"
        assert set(api.json()) == {"detail", "request_id"}
        _assert_clean(api.text)


READS = [
    ("/v1/answers", "/v1/answers"),
    ("/v1/alerts", "/v1/alerts"),
    ("/v1/alerts/1", "/v1/alerts/{alert_id}"),
    ("/v1/cases/c1", "/v1/cases/{case_id}"),
    ("/v1/answers/a1/versions", "/v1/answers/{answer_id}/versions"),
    ("/v1/review/queue", "/v1/review/queue"),
    ("/v1/metrics", "/v1/metrics"),
]


def test_the_api_reads_answer_503_while_the_database_is_down_and_the_schema_says_so(
    app: FastAPI, store: Store
) -> None:
    """`GET /v1/answers`, `/v1/alerts` and `/v1/cases/{id}` answer 503 with Retry-After when the
    database cannot be reached, but their schema did not list the 503."""
    from fastapi.testclient import TestClient
    from sqlalchemy import event
    from sqlalchemy.exc import OperationalError

    def refuse(*args: object) -> None:
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))

    key = authorize(store, "admin")
    with TestClient(app, headers=key) as client:
        wait_loaded(app)
        schema = client.get("/openapi.json").json()
        assert client.get("/v1/answers").status_code == 200  # the key is cached now
        event.listen(store.db.engine, "before_cursor_execute", refuse)
        try:
            answers = [client.get(url) for url, _ in READS]
        finally:
            event.remove(store.db.engine, "before_cursor_execute", refuse)
    for (url, route), r in zip(READS, answers, strict=True):
        assert r.status_code == 503 and r.headers["retry-after"] == "5", (url, r.text)
        assert "cannot be reached" in r.json()["detail"], url
        assert "503" in schema["paths"][route]["get"]["responses"], f"GET {route} does not document its 503"


NAME = "José Álvarez"
DNI = "12345678Z"
ORDER = "A-10293"


def test_a_failed_suggestion_logs_no_name_field_value_or_national_id(
    app: FastAPI, api: httpx.Client, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The log of a failed suggestion had its traceback redacted of emails, cards, phones and IBANs
    only: the customer's name, the case's order id and a national id in the message were logged as
    they came, though the stored suggestion masks them. They are replaced now; ids stay."""
    from supportcue.pipeline import SuggestRequest

    def broken(requests: list[SuggestRequest]) -> None:
        raise RuntimeError(f"cannot answer {requests!r}")

    monkeypatch.setattr(app.state.batcher, "run", broken)
    body = {
        "case_id": "c-77",
        "message": f"my DNI is {DNI}, order {ORDER}, please refund",
        "customer_name": NAME,
        "fields": {"order_id": ORDER, "plan": "pro"},
    }
    with caplog.at_level(logging.INFO):
        r = api.post("/v1/suggest", json=body, timeout=10)
    assert r.status_code == 500
    for secret in (NAME, "José", "Álvarez", DNI, ORDER):
        assert secret not in r.text
        assert secret not in caplog.text, f"{secret!r} leaked: {caplog.text[-2000:]}"
    assert "suggestion for case c-77 failed" in caplog.text and "Traceback" in caplog.text
    assert "customer_name='[name]'" in caplog.text and "[id]" in caplog.text
    assert "'plan': 'pro'" in caplog.text  # not personal: kept


def test_what_the_pipeline_logs_while_it_answers_a_batch_is_redacted_too(
    app: FastAPI, api: httpx.Client, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The batch runs on the batcher's thread, outside the request: its records (a stage's warning,
    a shadow chain's failure) know the batch's names and field values all the same."""
    from supportcue.pipeline import Prepared

    pipeline = app.state.runtime.pipeline
    finish = pipeline.finish

    def chatty(prepared: Prepared, **kwargs: object) -> object:
        logging.getLogger("supportcue.stages.test").warning(
            "stage noted %s with order %s",
            prepared.request.customer_name,
            prepared.request.fields["order_id"],
        )
        return finish(prepared, **kwargs)

    monkeypatch.setattr(pipeline, "finish", chatty)
    body = {"case_id": "c-78", "message": "how do I pause payouts?", "customer_name": NAME}
    with caplog.at_level(logging.INFO):
        r = api.post("/v1/suggest", json={**body, "fields": {"order_id": ORDER}}, timeout=10)
    assert r.status_code == 200, r.text
    assert "stage noted [name] with order [field]" in caplog.text, caplog.text
    assert NAME not in caplog.text and ORDER not in caplog.text


def test_the_schema_documents_the_403_and_429_every_route_with_a_caller_can_answer(
    api: httpx.Client, store: Store
) -> None:
    """A help desk's developer reads the statuses a route answers from /openapi.json: `POST
    /v1/events`, `/v1/suggest`, `/v1/messages` and `/v1/metrics` answer 403 to a role that may not
    call them (an embed key's `sent` event, a metrics key's suggestion) and every route a 429 past
    the caller's rate limit, yet the schema listed neither for them."""
    embed = authorize(store, "embed")
    event = {"idempotency_key": "k1", "case_id": "c1", "kind": "sent", "text": "Done."}
    assert api.post("/v1/events", json=event, headers=embed).status_code == 403
    assert (
        api.post("/v1/suggest", json={"message": "hi"}, headers=authorize(store, "metrics")).status_code
        == 403
    )
    schema = api.get("/openapi.json").json()
    secured = [
        (path, method, operation["responses"])
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if operation.get("security")
    ]
    assert ("/v1/events", "post") in {(p, m) for p, m, _ in secured}
    for path, method, responses in secured:
        for status in ("401", "403", "429"):
            assert status in responses, f"{method.upper()} {path} does not document its {status}"
    problem = {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    assert schema["paths"]["/v1/events"]["post"]["responses"]["429"]["content"] == problem


def test_the_schema_documents_the_503_readyz_answers_before_it_is_ready(api: httpx.Client) -> None:
    """A help desk's health check reads from /openapi.json what /readyz answers: it listed 200 only,
    though /readyz answers 503 (with `status` and `reason`) while loading or when the database is down."""
    responses = api.get("/openapi.json").json()["paths"]["/readyz"]["get"]["responses"]
    assert "503" in responses and "reason" in responses["503"]["description"]


@pytest.mark.parametrize("path", ["/v1/events", "/v1/suggest", "/v1/messages"])
@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"", "body: the body is empty: send a JSON object with content-type: application/json"),
        (b"null", "body: send the body as a JSON object with content-type: application/json"),
        (b"[]", "body: send the body as a JSON object with content-type: application/json"),
        (b"42", "body: send the body as a JSON object with content-type: application/json"),
    ],
)
def test_an_empty_or_non_object_body_is_a_422_that_says_what_to_send(
    api: httpx.Client, path: str, body: bytes, says: str
) -> None:
    """An empty POST was answered "body: Field required", and a JSON array "Input should be a valid
    dictionary or object to extract fields from": now both say what to send."""
    r = api.post(path, content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["detail"] == says
    assert r.json()["errors"][0]["loc"] == ["body"]
