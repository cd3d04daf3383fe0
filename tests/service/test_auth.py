"""Who may call what, over real HTTP on both databases: 401 (API) or a redirect to /login (pages)
without a caller, 403 for a role that does not allow it, login and logout, session expiry, CSRF on
everything a logged-in browser changes, and the console's events carrying the logged-in agent."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from supportcue.data.store import Store, open_store
from supportcue.security import callers
from supportcue.security.users import add_user, set_role
from supportcue.service.auth import is_public
from supportcue.service.runtime import PipelineLoader
from tests.conftest import BACKENDS, LiveServer
from tests.service.conftest import PAUSE_PAYOUTS, authorize, case, fake_pipeline, wait_loaded
from tests.service.test_headers import assert_secured

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def _seeded(store: Store) -> None:
    store.library.upsert_answers([PAUSE_PAYOUTS])
    store.cases.upsert([case("c1", "how do I pause a payout", "Ana"), case("c2", "refund?", "Bo", hours=1)])
    add_user(store, "ana", "agent", PASSWORD)


def log_in(base_url: str, name: str = "ana", password: str = PASSWORD) -> tuple[httpx.Client, httpx.Response]:
    """A client that filled in the login form (its cookies kept), and the form's answer."""
    client = httpx.Client(base_url=base_url, timeout=30)
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert form.status_code == 200 and token
    answer = client.post(
        "/login", data={"name": name, "password": password, "csrf_token": token[1], "next": "/cases/c1"}
    )
    return client, answer


def page_token(client: httpx.Client) -> str:
    """The CSRF token the console's pages carry for the session."""
    found = re.search(r'<meta name="csrf-token" content="([^"]+)">', client.get("/").text)
    assert found
    return found[1]


@pytest.fixture
def ana(server: LiveServer) -> Iterator[httpx.Client]:
    client, answer = log_in(server.url)
    assert answer.status_code == 303
    yield client
    client.close()


# -- no caller -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/suggest"),
        ("POST", "/v1/events"),
        ("GET", "/v1/metrics"),
        ("GET", "/metrics"),
        ("GET", "/openapi.json"),
        ("POST", "/cases/c1/resolve"),
        ("POST", "/logout"),
    ],
)
def test_no_caller_is_a_401_with_a_json_message(
    server: LiveServer, store: Store, method: str, path: str
) -> None:
    r = httpx.request(method, f"{server.url}{path}", json={"message": "how do I pause a payout"})
    assert r.status_code == 401 and "/login" in r.json()["detail"] and "Bearer" in r.json()["detail"]
    assert r.headers["www-authenticate"] == "Bearer"
    assert store.cases.get("c1").status == "open"  # type: ignore[union-attr]
    assert store.events.list() == []


@pytest.mark.parametrize("path", ["/", "/cases/c1?tab=reply", "/dashboard", "/docs"])
def test_a_page_without_a_caller_redirects_to_the_login(server: LiveServer, path: str) -> None:
    r = httpx.get(f"{server.url}{path}", headers={"accept": "text/html"})
    assert r.status_code == 303
    target = httpx.URL(r.headers["location"])
    assert target.path == "/login" and target.params["next"] == path


def test_refusals_carry_the_security_headers(server: LiveServer, store: Store) -> None:
    agent = authorize(store, "agent")
    for r in (
        httpx.get(f"{server.url}/v1/metrics"),  # 401
        httpx.get(f"{server.url}/", headers={"accept": "text/html"}),  # 303 to /login
        httpx.get(f"{server.url}/v1/metrics", headers=agent),  # 403
        httpx.get(f"{server.url}/dashboard", headers={**agent, "accept": "text/html"}),  # 403 page
    ):
        assert r.status_code in (401, 303, 403)
        assert_secured(r)


def test_health_login_and_static_need_no_caller(server: LiveServer) -> None:
    for path in (
        "/healthz",
        "/readyz",
        "/login",
        "/static/style.css",
        "/static/console.js",
        "/embed/chatwoot",
    ):
        assert httpx.get(f"{server.url}{path}").status_code == 200, path
    assert httpx.get(f"{server.url}/static/nothing.js").status_code == 404  # static files are public


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/nothing-here"), ("GET", "/v1/admin"), ("POST", "/v1/nothing"), ("GET", "/wp-login.php")],
)
def test_without_a_caller_an_unknown_path_is_a_401_as_a_known_one_is(
    server: LiveServer, store: Store, method: str, path: str
) -> None:
    """Unknown paths answered 404 to anyone and known ones 401: a caller without a key could list
    the routes by trying names. Without a caller every path but health, login and the static files
    is a 401 (a browser is sent to the login); with one, an unknown path is a 404."""
    r = httpx.request(method, f"{server.url}{path}")
    known = httpx.request("POST", f"{server.url}/v1/events")
    assert (r.status_code, r.json()) == (known.status_code, known.json()) == (401, known.json())
    assert r.headers["www-authenticate"] == "Bearer"
    page = httpx.get(f"{server.url}{path}", headers={"accept": "text/html"})
    assert page.status_code == 303 and httpx.URL(page.headers["location"]).path == "/login"
    found = httpx.request(method, f"{server.url}{path}", headers=authorize(store, "admin"))
    assert found.status_code == 404, found.text


@pytest.mark.parametrize(
    ("authorization", "says"),
    [
        ("Bearer sc_not-a-key", "not valid"),
        ("Bearer", "Authorization: Bearer <key>"),
        ("Basic YW5hOnB3", "Authorization: Bearer <key>"),
    ],
)
def test_a_wrong_key_is_a_401_that_says_what_is_wrong(
    server: LiveServer, authorization: str, says: str
) -> None:
    r = httpx.post(
        f"{server.url}/v1/suggest", json={"message": "hi"}, headers={"authorization": authorization}
    )
    assert r.status_code == 401 and says in r.json()["detail"]


# -- roles -----------------------------------------------------------------------------------------

EVENT = {"case_id": "c1", "kind": "shown"}
ROUTES = {
    "console": ("GET", "/"),
    "case": ("GET", "/cases/c1"),
    "suggest": ("POST", "/v1/suggest"),
    "events": ("POST", "/v1/events"),
    "dashboard": ("GET", "/dashboard"),
    "v1_metrics": ("GET", "/v1/metrics"),
    "prometheus": ("GET", "/metrics"),
    "docs": ("GET", "/docs"),
    "openapi": ("GET", "/openapi.json"),
    "answers": ("GET", "/v1/answers"),
}
ALLOWED = {
    "agent": {"console", "case", "suggest", "events", "answers", "docs", "openapi"},
    "reviewer": {
        "console",
        "case",
        "suggest",
        "events",
        "answers",
        "dashboard",
        "v1_metrics",
        "docs",
        "openapi",
    },
    "admin": set(ROUTES),
    "integration": {"suggest", "events", "answers", "docs", "openapi"},
    "metrics": {"v1_metrics", "prometheus", "docs", "openapi"},
    "embed": {"suggest", "events", "answers", "docs", "openapi"},
}


@pytest.mark.parametrize("role", list(ALLOWED))
def test_each_role_reaches_what_it_may_and_gets_403_elsewhere(
    server: LiveServer, store: Store, role: str
) -> None:
    headers = authorize(store, role)
    for route, (method, path) in ROUTES.items():
        body = (
            {"message": "how do I pause a payout"}
            if route == "suggest"
            else {**EVENT, "idempotency_key": str(uuid.uuid4())}
        )
        r = httpx.request(
            method, f"{server.url}{path}", headers=headers, json=body if method == "POST" else None
        )
        if route in ALLOWED[role]:
            assert r.status_code in (200, 202), (role, route, r.status_code, r.text[:200])
        else:
            assert r.status_code == 403, (role, route, r.status_code)
            assert f"has the {role} role" in r.json()["detail"]


def test_the_agent_is_refused_the_reviewer_pages_with_a_page(ana: httpx.Client) -> None:
    r = ana.get("/dashboard", headers={"accept": "text/html"})
    assert r.status_code == 403 and 'id="forbidden"' in r.text and "needs the reviewer role" in r.text
    assert ana.get("/v1/metrics").status_code == 403
    assert 'href="/dashboard"' not in ana.get("/").text  # not offered in the navigation either


def routes(found: list[Any], inherited: tuple[Any, ...] = ()) -> Iterator[tuple[APIRoute, list[Any]]]:
    """Every APIRoute under `found` (routers included in routers too), with its dependencies."""
    for route in found:
        if isinstance(route, APIRoute):
            yield route, [*inherited, *route.dependant.dependencies]
        inner = getattr(route, "original_router", None)  # an included router
        if inner is not None:
            context = getattr(route, "include_context", None)
            extra = tuple(getattr(context, "dependencies", ()))
            yield from routes(inner.routes, (*inherited, *extra))


def test_every_route_but_the_public_ones_declares_its_roles(app: FastAPI, server: LiveServer) -> None:
    # (served, so that the app's store is closed when it stops)
    def roles(dependencies: list[Any]) -> list[object]:
        found, todo = [], list(dependencies)
        while todo:
            dep = todo.pop()
            todo.extend(getattr(dep, "dependencies", ()))
            call = getattr(dep, "call", None) or getattr(dep, "dependency", None)
            if hasattr(call, "required_roles"):
                found.append(call.required_roles)  # type: ignore[union-attr]
        return found

    every = list(routes(app.routes))
    assert len(every) >= 14
    for route, dependencies in every:
        public = is_public(route.path) or route.path.startswith("/static/")
        assert public or roles(dependencies), f"{route.path} has no require(...) dependency"
        assert not (public and roles(dependencies)), f"{route.path} is public yet requires a role"


# -- login, logout, sessions -------------------------------------------------------------------------


def test_login_sets_a_session_cookie_and_goes_where_the_user_was_going(server: LiveServer) -> None:
    client, r = log_in(server.url)
    assert r.status_code == 303 and r.headers["location"] == "/cases/c1"
    cookie = next(v for k, v in r.headers.multi_items() if k == "set-cookie" and "supportcue_session=" in v)
    flags = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "path", "max-age"} <= flags and "secure" not in flags  # plain http here
    assert "samesite=lax" in cookie.lower() and "max-age=43200" in cookie.lower()
    page = client.get("/cases/c1")
    assert page.status_code == 200 and 'id="me"' in page.text and "ana" in page.text
    client.close()


def test_login_sets_a_long_lived_device_cookie_for_the_login_form_only(server: LiveServer) -> None:
    """The device cookie (its own failed-login bucket for this browser and name) goes only to /login,
    is out of scripts' and other sites' reach, and holds neither the name nor anything guessable."""
    client, r = log_in(server.url)
    cookie = next(v for k, v in r.headers.multi_items() if k == "set-cookie" and "supportcue_device=" in v)
    flags = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "path", "max-age"} <= flags and "secure" not in flags  # plain http here
    assert "path=/login" in cookie.lower() and "samesite=strict" in cookie.lower()
    assert "max-age=31536000" in cookie.lower()
    value = client.cookies["supportcue_device"]
    assert "ana" not in value.lower() and len(value) >= 80
    assert client.post("/logout", headers={"x-csrf-token": page_token(client)}).status_code == 303
    again = log_in(server.url)[0]  # another browser, or the same one again: a new cookie each time
    assert again.cookies["supportcue_device"].split(".")[0] != value.split(".")[0]
    client.close()
    again.close()


def test_the_device_cookie_is_secure_over_https(server: LiveServer) -> None:
    # uvicorn trusts X-Forwarded-Proto from 127.0.0.1 (a TLS-terminating proxy on the same host)
    with httpx.Client(base_url=server.url, headers={"x-forwarded-proto": "https"}) as client:
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
        assert token
        # the login form's cookie is Secure now, so the client (on http) would not send it back
        r = client.post(
            "/login",
            data={"name": "ana", "password": PASSWORD, "csrf_token": token[1]},
            headers={"cookie": f"supportcue_login={token[1]}"},
        )
    assert r.status_code == 303
    cookie = next(v for k, v in r.headers.multi_items() if k == "set-cookie" and "supportcue_device=" in v)
    assert "secure" in {part.strip().lower() for part in cookie.split(";")}


def test_the_stored_session_id_is_hashed(server: LiveServer, store: Store) -> None:
    client, _ = log_in(server.url)
    session_id = client.cookies["supportcue_session"]
    rows = list(store.db.rows("login_sessions"))
    assert len(rows) == 1 and rows[0]["user_name"] == "ana"
    assert session_id not in str(rows) and len(session_id) >= 40
    client.close()


@pytest.mark.parametrize(("name", "password"), [("ana", "wrong password!"), ("nobody", PASSWORD)])
def test_a_failed_login_does_not_say_which_was_wrong(server: LiveServer, name: str, password: str) -> None:
    client, r = log_in(server.url, name, password)
    assert r.status_code == 401 and "Wrong name or password." in r.text
    assert "supportcue_session" not in client.cookies
    assert client.get("/", headers={"accept": "text/html"}).status_code == 303
    client.close()


@pytest.mark.parametrize("name", ["ana\x00", "\x00"], ids=["ana NUL", "NUL"])
def test_a_name_no_user_can_have_is_a_failed_login_not_a_500(server: LiveServer, name: str) -> None:
    """Anyone may post the login form: a name with a NUL byte (which no user's name can hold) was a
    500 on PostgreSQL, which cannot compare text with one. It is a wrong name, and a failure counted
    like any other; the user with the name without it still logs in."""
    client, r = log_in(server.url, name, PASSWORD)
    assert r.status_code == 401 and "Wrong name or password." in r.text
    assert "supportcue_session" not in client.cookies
    client.close()
    client, r = log_in(server.url)
    assert r.status_code == 303
    client.close()


def test_a_login_post_without_its_form_token_is_refused(server: LiveServer) -> None:
    r = httpx.post(f"{server.url}/login", data={"name": "ana", "password": PASSWORD})
    assert r.status_code == 403 and "supportcue_session" not in r.cookies


@pytest.mark.parametrize(
    ("next_value", "lands"),
    [("/cases/c2", "/cases/c2"), ("https://evil.example/", "/"), ("//evil.example", "/"), ("/\\evil", "/")],
)
def test_only_same_site_next_values_are_followed(server: LiveServer, next_value: str, lands: str) -> None:
    client = httpx.Client(base_url=server.url)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token
    r = client.post(
        "/login", data={"name": "ana", "password": PASSWORD, "csrf_token": token[1], "next": next_value}
    )
    assert r.status_code == 303 and r.headers["location"] == lands
    client.close()


def test_logout_needs_the_csrf_token_and_ends_the_session(ana: httpx.Client) -> None:
    assert ana.post("/logout").status_code == 403
    assert ana.get("/").status_code == 200  # still logged in
    token = page_token(ana)
    r = ana.post("/logout", data={"csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    ana.cookies.clear()  # a browser drops it; a thief who kept it gets nothing either:
    stale = httpx.get(f"{ana.base_url}/v1/metrics", cookies={"supportcue_session": "x"})
    assert stale.status_code == 401


def test_a_session_cookie_kept_after_logout_no_longer_works(server: LiveServer, ana: httpx.Client) -> None:
    session_id = ana.cookies["supportcue_session"]
    ana.post("/logout", data={"csrf_token": page_token(ana)})
    r = httpx.post(
        f"{server.url}/v1/suggest", json={"message": "hi"}, cookies={"supportcue_session": session_id}
    )
    assert r.status_code == 401


def test_a_session_expires(app: FastAPI, ana: httpx.Client) -> None:
    assert ana.get("/").status_code == 200
    app.state.authenticator.clock = lambda: datetime.now(UTC) + timedelta(hours=12, minutes=1)
    assert ana.get("/", headers={"accept": "text/html"}).status_code == 303
    assert ana.post("/v1/suggest", json={"message": "hi"}).status_code == 401


def test_removing_a_user_ends_their_sessions(store: Store, ana: httpx.Client) -> None:
    assert ana.get("/").status_code == 200
    store.callers.remove_user("ana")  # as `supportcue users remove` does, from another process
    deadline = time.time() + 5
    while ana.get("/").status_code == 200 and time.time() < deadline:
        time.sleep(0.2)
    assert ana.get("/").status_code == 401


def test_a_new_role_reaches_an_open_session_within_seconds(store: Store, ana: httpx.Client) -> None:
    """`supportcue users set-role` (another process): no need to log out and in again, either way."""
    assert ana.get("/review").status_code == 403

    def settles(role: str, status: int) -> None:
        set_role(store, "ana", role)
        deadline = time.time() + 5
        while ana.get("/review").status_code != status and time.time() < deadline:
            time.sleep(0.2)
        assert ana.get("/review").status_code == status

    settles("reviewer", 200)
    settles("agent", 403)


def test_a_new_password_ends_the_users_sessions(
    server: LiveServer, store: Store, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str
) -> None:
    """`supportcue demo` run again sets its users' passwords anew (from another process): a browser
    logged in with the old one is sent to the login page."""
    from supportcue.demo.workspace import DEMO_USERS, demo_users

    add_user(store, "agent", "agent", PASSWORD)
    assert ("agent", "agent") in DEMO_USERS
    client, answer = log_in(server.url, "agent")
    try:
        assert answer.status_code == 303 and client.get("/").status_code == 200
        monkeypatch.setenv("SUPPORTCUE_DATABASE_URL", database_url)
        demo_users(tmp_path)  # the app's workspace, on the test's database
        deadline = time.time() + 5
        while client.get("/").status_code == 200 and time.time() < deadline:
            time.sleep(0.2)
        assert client.get("/", headers={"accept": "text/html"}).headers["location"].startswith("/login")
        assert client.post("/v1/suggest", json={"message": "hi"}).status_code == 401
    finally:
        client.close()


# -- CSRF and the console's agent --------------------------------------------------------------------


def test_a_cookie_post_without_the_csrf_token_is_403_and_changes_nothing(
    store: Store, ana: httpx.Client
) -> None:
    resolve = "/cases/c1/resolve"
    assert ana.post(resolve, headers={"accept": "application/json"}).status_code == 403
    assert ana.post(resolve, headers={"x-csrf-token": "0" * 64}).status_code == 403
    assert ana.post(resolve, data={"csrf_token": "forged"}).status_code == 403
    event = {"idempotency_key": "k1", "case_id": "c1", "kind": "shown"}
    assert ana.post("/v1/events", json=event).status_code == 403
    assert ana.post("/v1/suggest", json={"message": "how do I pause a payout"}).status_code == 403
    assert store.cases.get("c1").status == "open"  # type: ignore[union-attr]
    assert store.events.list() == []


@pytest.mark.parametrize(
    "forged",
    [
        {"headers": {"x-csrf-token": "é".encode("latin-1")}},  # a header's bytes are read as latin-1
        {"data": {"csrf_token": "café"}},
        {"content": b"csrf_token=%FF%FE", "headers": {"content-type": "application/x-www-form-urlencoded"}},
    ],
    ids=["header", "form field", "form field not utf-8"],
)
def test_a_non_ascii_csrf_token_is_a_403_not_a_500(
    store: Store, ana: httpx.Client, forged: dict[str, Any]
) -> None:
    r = ana.post("/cases/c1/resolve", **forged)
    assert r.status_code == 403 and "CSRF token" in r.json()["detail"]
    assert store.cases.get("c1").status == "open"  # type: ignore[union-attr]


def test_a_non_ascii_login_form_token_is_refused_like_a_wrong_one(server: LiveServer) -> None:
    client = httpx.Client(base_url=server.url, timeout=30)
    client.get("/login")
    r = client.post("/login", data={"name": "ana", "password": PASSWORD, "csrf_token": "jeton-é"})
    assert r.status_code == 403 and "The form expired" in r.text
    r = client.post(
        "/login",
        data={"name": "ana", "password": PASSWORD, "csrf_token": "x"},
        headers={"cookie": "supportcue_login=é".encode("latin-1")},  # type: ignore[dict-item]
    )
    assert r.status_code == 403 and "supportcue_session" not in client.cookies
    client.close()


def test_a_cookie_post_with_the_csrf_token_goes_through(store: Store, ana: httpx.Client) -> None:
    token = page_token(ana)
    r = ana.post("/cases/c1/resolve", headers={"accept": "application/json", "x-csrf-token": token})
    assert r.status_code == 200 and r.json()["status"] == "resolved"
    r = ana.post("/cases/c2/resolve", data={"csrf_token": token})  # a plain form works as well
    assert r.status_code == 303
    assert [store.cases.get(c).status for c in ("c1", "c2")] == ["resolved", "resolved"]  # type: ignore[union-attr]


def test_another_sessions_token_does_not_do(server: LiveServer, store: Store, ana: httpx.Client) -> None:
    add_user(store, "bo", "agent", PASSWORD)
    bo, _ = log_in(server.url, "bo")
    r = ana.post("/cases/c1/resolve", headers={"x-csrf-token": page_token(bo)})
    assert r.status_code == 403
    bo.close()


def test_console_events_carry_the_logged_in_agent_whatever_the_body_says(
    store: Store, ana: httpx.Client
) -> None:
    token = {"x-csrf-token": page_token(ana)}
    body = {"idempotency_key": "k1", "case_id": "c1", "kind": "shown", "agent_id": "mallory"}
    assert ana.post("/v1/events", json=body, headers=token).status_code == 202
    assert (
        ana.post(
            "/v1/events", json={**body, "idempotency_key": "k2", "agent_id": None}, headers=token
        ).status_code
        == 202
    )
    assert [e.agent_id for e in store.events.list()] == ["ana", "ana"]


def test_a_bearer_key_needs_no_csrf_token_and_names_the_agent(api: httpx.Client, store: Store) -> None:
    body = {"idempotency_key": "k1", "case_id": "c1", "kind": "shown", "agent_id": "a7"}
    assert api.post("/v1/events", json=body).status_code == 202
    assert [e.agent_id for e in store.events.list()] == ["a7"]
    r = api.post("/cases/c1/resolve", headers={"accept": "application/json"})
    assert r.status_code == 200


def test_idempotency_keys_are_scoped_to_the_caller(
    server: LiveServer, store: Store, ana: httpx.Client
) -> None:
    """Two callers may use the same key without pre-empting each other; each repeat is its own."""
    first, second = authorize(store, "integration"), authorize(store, "integration")
    body = {"idempotency_key": "same", "case_id": "c1", "kind": "shown"}
    answers = [
        httpx.post(f"{server.url}/v1/events", json=body, headers=first),
        httpx.post(f"{server.url}/v1/events", json={**body, "kind": "inserted"}, headers=second),
        ana.post("/v1/events", json=body, headers={"x-csrf-token": page_token(ana)}),
        httpx.post(f"{server.url}/v1/events", json=body, headers=first),
    ]
    assert [a.status_code for a in answers] == [202, 202, 202, 202]
    assert [a.json()["duplicate"] for a in answers] == [False, False, False, True]
    callers = sorted(e.caller for e in store.events.list())
    assert len(set(callers)) == 3 and "user:ana" in callers
    assert all(c.startswith(("key:test-integration-", "user:")) for c in callers)


def test_pages_holding_a_session_token_or_customer_data_are_never_kept_by_a_shared_cache(
    ana: httpx.Client, server: LiveServer, admin_key: dict[str, str]
) -> None:
    """Pages carried the session's CSRF token (/docs for "Try it out", the console's pages, the login
    form) and customers' messages with no Cache-Control: a shared proxy cache could keep them and
    hand them to another user. Static files stay cacheable (revalidated)."""
    for path in ("/cases/c1", "/docs", "/openapi.json"):
        r = ana.get(path)
        assert r.status_code == 200 and r.headers.get("cache-control") == "private, no-cache", (
            path,
            r.headers,
        )
    r = ana.get("/")  # the inbox is never kept at all: Back to it reads it afresh
    assert r.status_code == 200 and r.headers.get("cache-control") == "private, no-store"
    assert httpx.get(f"{server.url}/login").headers.get("cache-control") == "private, no-cache"
    r = httpx.get(f"{server.url}/v1/metrics", headers=admin_key)
    assert r.status_code == 200 and r.headers.get("cache-control") == "private, no-cache"
    assert httpx.get(f"{server.url}/static/style.css").headers["cache-control"] == "no-cache"
    assert httpx.get(f"{server.url}/static/docs.js").headers["cache-control"] == "no-cache"


def test_a_cookie_form_with_many_fields_is_a_400_not_a_500(store: Store, ana: httpx.Client) -> None:
    form = {"content-type": "application/x-www-form-urlencoded", "accept": "application/json"}
    token = page_token(ana)
    many = "&".join(f"f{i}=x" for i in range(1500))
    for body in (many, f"csrf_token={token}&{many}"):
        r = ana.post("/cases/c1/resolve", content=body.encode(), headers=form)
        assert r.status_code == 400 and r.json()["detail"] == "the form has more than 1,000 fields"
    assert store.cases.get("c1").status == "open"  # type: ignore[union-attr]
    some = "&".join(f"f{i}=x" for i in range(150))  # was a 500 from 101 fields on
    r = ana.post("/cases/c1/resolve", content=f"{some}&csrf_token={token}".encode(), headers=form)
    assert r.status_code == 200 and r.json()["status"] == "resolved"


def test_logout_opened_in_a_browser_is_a_page_with_the_logout_button(ana: httpx.Client) -> None:
    """GET /logout (typed in, or a bookmark) showed the raw JSON `{"detail":"Method Not Allowed"}`."""
    token = page_token(ana)
    r = ana.get("/logout", headers={"accept": "text/html"})
    assert r.status_code == 405 and r.headers["content-type"].startswith("text/html")
    assert r.headers["allow"] == "POST"
    assert "<h1>Log out</h1>" in r.text and '<a href="/">Back to the inbox</a>' in r.text
    form = r.text[r.text.index('<form method="post" action="/logout" id="logout-form">') :]
    assert f'<input type="hidden" name="csrf_token" value="{token}">' in form[: form.index("</form>")]
    assert_secured(r)
    assert ana.get("/logout").json() == {"detail": "Method Not Allowed"}  # a script: the JSON
    assert ana.get("/").status_code == 200  # still logged in: opening the address logs nobody out
    assert ana.post("/logout", data={"csrf_token": token}).status_code == 303


def test_an_address_that_only_takes_a_post_is_a_page_in_a_browser(ana: httpx.Client) -> None:
    r = ana.get("/v1/events", headers={"accept": "text/html"})
    assert r.status_code == 405 and r.headers["content-type"].startswith("text/html")
    assert r.headers["allow"] == "POST"
    assert "<h1>Cannot open this address</h1>" in r.text and '<a href="/">Back to the inbox</a>' in r.text
    assert "/v1/events" in r.text
    assert ana.get("/v1/events").json() == {"detail": "Method Not Allowed"}


@pytest.mark.parametrize("database_url", [b for b in BACKENDS if b == "postgresql"], indirect=True)
def test_a_revoked_key_and_a_removed_user_stop_at_once_in_every_worker(
    make_app: Callable[[PipelineLoader], FastAPI], monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    """`keys revoke` and `users remove` (another process, as the CLI) hold at once in every serving
    process, not once each one's cache of callers expires (2 s, which let a leaked key keep working
    meanwhile). The cache is made to last here, so only the change's notification can end it."""
    monkeypatch.setattr(callers, "CACHE_SECONDS", 600.0)
    workers = [make_app(fake_pipeline), make_app(fake_pipeline)]
    cli = open_store(database_url)
    try:
        key = authorize(cli, "integration")
        name = key["Authorization"].removeprefix("Bearer ")
        with LiveServer(workers[0]) as one, LiveServer(workers[1]) as two:
            for w in workers:
                wait_loaded(w)
            sessions = [log_in(live.url)[0] for live in (one, two)]
            for live, session in zip((one, two), sessions, strict=True):
                assert httpx.get(f"{live.url}/v1/answers", headers=key, timeout=30).status_code == 200
                assert session.get("/cases/c1").status_code == 200
            stored = next(k.name for k in cli.callers.api_keys() if name.startswith(k.prefix))
            assert cli.callers.revoke_key(stored)
            assert cli.callers.remove_user("ana")

            def statuses() -> list[tuple[int, int]]:
                return [
                    (
                        httpx.get(f"{live.url}/v1/answers", headers=key, timeout=30).status_code,
                        session.get("/cases/c1", follow_redirects=False).status_code,
                    )
                    for live, session in zip((one, two), sessions, strict=True)
                ]

            deadline = time.time() + 1.0  # a notification's way: milliseconds
            try:
                while (now := statuses()) != [(401, 401)] * 2:
                    assert time.time() < deadline, f"the revoked key or removed user still works: {now}"
                    time.sleep(0.05)
            finally:
                for session in sessions:
                    session.close()
    finally:
        cli.close()


def test_requests_arriving_together_with_one_key_look_it_up_once(
    server: LiveServer, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A burst of requests with a key not in the cache (a new key, or one whose 2 s in the cache ran
    out) made a database lookup each, all at once: on a busy machine some waited past the lookup's
    deadline and were 503s. Requests with the same credential wait for the one lookup under way."""
    from concurrent.futures import ThreadPoolExecutor

    key = authorize(store, "reviewer")
    lookups: list[str] = []
    read = store.callers.key_by_hash

    def slow_read(digest: str) -> Any:  # a busy database: every request of the burst arrives meanwhile
        lookups.append(digest)
        time.sleep(0.4)
        return read(digest)

    with httpx.Client(base_url=server.url) as warm:  # the server's first requests pay for imports
        assert warm.get("/healthz").status_code == 200
    monkeypatch.setattr(store.callers, "key_by_hash", slow_read)
    with ThreadPoolExecutor(8) as pool:
        codes = list(
            pool.map(lambda _: httpx.get(f"{server.url}/v1/metrics", headers=key).status_code, range(8))
        )
    assert codes == [200] * 8
    assert 1 <= len(lookups) <= 2, len(lookups)  # 2: the burst outlasted the cache's 2 s
