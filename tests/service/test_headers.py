"""Security headers on every response, trusted hosts, the framing exception for the Chatwoot embed,
the offline API docs, and /static paths that are never a 500 (real HTTP unless said)."""

from __future__ import annotations

import re
import socket
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.testclient import TestClient
from starlette.routing import Route

from supportcue.data.store import Store
from supportcue.service.headers import SecurityHeaders
from tests.conftest import LiveServer
from tests.service.conftest import PAUSE_PAYOUTS, T0, authorize, case

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SERVICE = Path(__file__).resolve().parents[2] / "src" / "supportcue" / "service"


@pytest.fixture
def seeded(store: Store) -> Store:
    """A case with a suggestion (the app's store: the app is built, and must then be started)."""
    store.library.upsert_answers([PAUSE_PAYOUTS])
    store.cases.upsert([case("c1", "how do I pause a payout", "Ana")])
    store.cases.add_suggestions(
        [{"id": "s1", "case_id": "c1", "created_at": T0, "pipeline_version": "p1", "topic": "payouts"}]
    )
    return store


def _boom() -> None:
    raise RuntimeError("a bug")


def assert_secured(r: httpx.Response, csp: str = CSP) -> None:
    where = f"{r.request.method} {r.request.url.path} ({r.status_code})"
    assert r.headers.get("content-security-policy") == csp, where
    assert r.headers.get("x-content-type-options") == "nosniff", where
    assert r.headers.get("referrer-policy") == "same-origin", where
    assert r.headers.get("x-frame-options") == "DENY", where
    assert r.headers.get("cross-origin-opener-policy") == "same-origin", where
    assert "strict-transport-security" not in r.headers, where  # plain http


REQUESTS: list[tuple[str, str, dict[str, Any], int]] = [
    ("GET", "/", {}, 200),
    ("GET", "/cases/c1", {}, 200),
    ("GET", "/cases/nope", {}, 404),
    ("GET", "/dashboard", {}, 200),
    ("GET", "/dashboard?since=yesterday", {}, 422),
    ("GET", "/static/style.css", {}, 200),
    ("GET", "/static/nothing.js", {}, 404),
    ("GET", "/nowhere", {}, 404),
    ("GET", "/healthz", {}, 200),
    ("GET", "/readyz", {}, 200),
    ("GET", "/metrics", {}, 200),
    ("GET", "/v1/metrics", {}, 200),
    ("GET", "/openapi.json", {}, 200),
    ("GET", "/docs", {}, 200),
    ("POST", "/v1/suggest", {"json": {"message": "how do I pause a payout"}}, 200),
    ("POST", "/v1/suggest", {"json": {}}, 422),
    ("POST", "/v1/events", {"content": b"x" * 70_000}, 413),
    ("DELETE", "/v1/suggest", {}, 405),
    ("GET", "/test/boom", {}, 500),
]
IDS = [f"{m} {p}" for m, p, _, _ in REQUESTS]


@pytest.mark.parametrize(("method", "path", "kw", "status"), REQUESTS, ids=IDS)
def test_every_response_carries_the_security_headers(
    seeded: Store,
    app: FastAPI,
    server: LiveServer,
    admin_key: dict[str, str],
    method: str,
    path: str,
    kw: dict[str, Any],
    status: int,
) -> None:
    app.add_api_route("/test/boom", _boom)  # an unhandled exception: Starlette's own 500
    r = httpx.request(method, server.url + path, headers=admin_key, **kw)
    assert r.status_code == status, r.text
    assert_secured(r)


def test_strict_transport_security_only_over_https(server: LiveServer) -> None:
    # uvicorn trusts X-Forwarded-Proto from 127.0.0.1 (a TLS-terminating proxy on the same host)
    secure = httpx.get(f"{server.url}/", headers={"x-forwarded-proto": "https"})
    assert secure.headers["strict-transport-security"] == "max-age=31536000"
    assert "strict-transport-security" not in httpx.get(f"{server.url}/").headers


# -- inline code: what the CSP forbids, the pages must not need -------------------------------------


class _Inline(HTMLParser):
    """Collects what a strict CSP would refuse: inline scripts, event handlers, style attributes,
    <style> elements, javascript: URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._script_data = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script":
            executable = a.get("type") in (None, "", "text/javascript", "module")
            if executable and not a.get("src"):
                self.found.append("inline <script>")
            self._script_data = executable
        if tag == "style":
            self.found.append("<style> element")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=...>")
            if name == "style":
                self.found.append(f"<{tag} style={value!r}>")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}=javascript:...>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._script_data = False


def inline_code(html: str) -> list[str]:
    parser = _Inline()
    parser.feed(html)
    return parser.found


def _routes(found: list[Any]) -> list[Route]:
    """Every route under `found`, routers included in routers too."""
    out: list[Route] = []
    for route in found:
        if isinstance(route, Route):
            out.append(route)
        inner = getattr(route, "original_router", None)
        if inner is not None:
            out += _routes(inner.routes)
    return out


PAGES = {"/": 200, "/cases/c1": 200, "/cases/nope": 404, "/dashboard": 200, "/docs": 200, "/login": 200}


def test_every_page_is_free_of_inline_code(seeded: Store, client: TestClient, app: FastAPI) -> None:
    seeded.events.add_many(  # so the dashboard draws its bars and charts
        [
            {"idempotency_key": "k1", "case_id": "c1", "suggestion_id": "s1", "kind": "shown", "ts": T0},
            {"idempotency_key": "k2", "case_id": "c1", "suggestion_id": "s1", "kind": "dismissed", "ts": T0},
        ]
    )
    html_pages = {
        r.path
        for r in _routes(app.routes)
        if "GET" in (r.methods or ()) and r.endpoint.__module__.endswith(".pages")
    }
    assert "/dashboard" in html_pages  # (FastAPI keeps included routers nested: `_routes` walks them)
    html_pages -= {"/static/{name}", "/static/swagger-ui/{name}"}
    covered = {re.sub(r"/cases/\w+", "/cases/{case_id:path}", p) for p in PAGES}
    assert html_pages <= covered, f"pages not checked here: {html_pages - covered}"
    for path, status in PAGES.items():
        r = client.get(path)
        assert r.status_code == status and r.headers["content-type"].startswith("text/html"), path
        assert inline_code(r.text) == [], path
        assert "width:" not in r.text or path == "/docs", path


def test_templates_and_scripts_have_no_inline_code() -> None:
    for template in sorted((SERVICE / "templates").glob("*.html")):
        text = template.read_text(encoding="utf-8")
        assert inline_code(text) == [], template.name
        assert not re.search(r"\son\w+\s*=", text), template.name
    for script in sorted((SERVICE / "static").glob("*.js")):
        text = script.read_text(encoding="utf-8")
        for forbidden in ("eval(", "new Function", "innerHTML", 'setAttribute("on', 'setAttribute("style'):
            assert forbidden not in text, f"{script.name}: {forbidden}"


# -- framing: 'none', except the Chatwoot embed page for the configured origin ---------------------


def _embed() -> HTMLResponse:
    return HTMLResponse("<p id='embedded'>suggestion</p>")


CHATWOOT = {"SUPPORTCUE_CHATWOOT__BASE_URL": "https://chat.example.com/app/"}


@pytest.mark.parametrize("extra_environ", [CHATWOOT])
def test_the_chatwoot_embed_may_be_framed_by_its_origin_only(
    app: FastAPI, server: LiveServer, admin_key: dict[str, str]
) -> None:
    app.add_api_route("/embed/chatwoot", _embed)  # the page itself comes with the Chatwoot issue
    app.add_api_route("/embed/chatwootish", _embed)
    embed = httpx.get(f"{server.url}/embed/chatwoot", headers=admin_key)
    assert embed.status_code == 200
    assert embed.headers["content-security-policy"] == CSP.replace(
        "frame-ancestors 'none'", "frame-ancestors https://chat.example.com"
    )
    assert "x-frame-options" not in embed.headers  # it cannot name an origin; the CSP does
    assert embed.headers["x-content-type-options"] == "nosniff"
    assert_secured(httpx.get(f"{server.url}/embed/chatwootish", headers=admin_key))
    assert_secured(httpx.get(f"{server.url}/", headers=admin_key))


def test_without_a_chatwoot_origin_the_embed_is_not_framed(
    app: FastAPI, server: LiveServer, admin_key: dict[str, str]
) -> None:
    app.add_api_route("/embed/chatwoot", _embed)
    embed = httpx.get(f"{server.url}/embed/chatwoot", headers=admin_key)
    assert embed.status_code == 200
    assert_secured(embed)


def test_frame_overrides_match_path_prefixes() -> None:
    async def ok(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"x-frame-options", b"X")]})
        await send({"type": "http.response.body", "body": b""})

    app = SecurityHeaders(ok, frame_ancestors={"/embed/chatwoot": "https://a.example"})
    client = TestClient(app)  # type: ignore[arg-type]
    for path, allowed in [
        ("/embed/chatwoot", True),
        ("/embed/chatwoot/", True),
        ("/embed/chatwoot/x", True),
        ("/embed/chatwoot2", False),
        ("/embed", False),
    ]:
        r = client.get(path)
        csp = r.headers["content-security-policy"]
        assert ("frame-ancestors https://a.example" in csp) is allowed, path
        assert r.headers.get_list("x-frame-options") == ([] if allowed else ["DENY"]), path
    assert "strict-transport-security" not in r.headers
    secure = TestClient(app, base_url="https://testserver")  # type: ignore[arg-type]
    assert secure.get("/").headers["strict-transport-security"] == "max-age=31536000"


# -- trusted hosts ------------------------------------------------------------------------------------


def test_a_wrong_host_is_a_clear_400(server: LiveServer) -> None:
    r = httpx.get(f"{server.url}/", headers={"host": "evil.example"})
    assert r.status_code == 400
    assert r.json()["detail"] == (
        "this server does not answer to the host name 'evil.example'; add it to [service] allowed_hosts "
        "in supportcue.toml (or SUPPORTCUE_SERVICE__ALLOWED_HOSTS)"
    )
    assert_secured(r)
    for host in ("localhost", f"localhost:{server.port}", f"127.0.0.1:{server.port}", f"[::1]:{server.port}"):
        assert httpx.get(f"{server.url}/healthz", headers={"host": host}).status_code == 200, host
    for host in ("", "evil.example:80", "localhost.evil.example", "[::2]:80", "127.0.0.1.evil"):
        assert httpx.get(f"{server.url}/healthz", headers={"host": host}).status_code == 400, host


@pytest.mark.parametrize(
    "hosts",
    [
        [b"localhost:@evil.example"],  # an allowed name, then what a URL reads as its host
        [b"localhost:80@evil.example"],
        [b"localhost:abc"],  # a port that is no number
        [b"localhost", b"evil.example"],  # two Host headers (RFC 9112: a 400)
        [b"evil.example", b"localhost"],
    ],
    ids=["userinfo", "port-userinfo", "port-not-a-number", "two-hosts", "two-hosts-allowed-last"],
)
def test_a_host_header_that_only_starts_with_an_allowed_name_is_a_400(
    server: LiveServer, hosts: list[bytes]
) -> None:
    """The check read `localhost:@evil.example` as the host `localhost` (all before the last colon),
    and the first of two Host headers only; the app builds its own address from the header
    (`request.base_url`: the links in a help desk's notes, the webhook address on the dashboard),
    which read as `evil.example`. A port must be a number, and one Host header is sent."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        lines = [b"GET /healthz HTTP/1.1", *(b"Host: " + h for h in hosts), b"Connection: close"]
        sock.sendall(b"\r\n".join(lines) + b"\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:300]


class TestConfiguredHosts:
    @pytest.fixture
    def service_settings(self) -> dict[str, Any]:
        return {"allowed_hosts": "support.example.com, *.example.org"}

    def test_only_the_configured_hosts_are_answered(self, server: LiveServer) -> None:
        def status(host: str) -> int:
            return httpx.get(f"{server.url}/healthz", headers={"host": host}).status_code

        assert status("support.example.com") == 200 and status("SUPPORT.example.com:443") == 200
        assert status("a.example.org") == 200 and status("b.a.example.org") == 200
        assert status("example.org") == 400 and status("localhost") == 400
        assert status("support.example.com.evil") == 400
        # a URL parser reads these as evil.example: no host name has `#`, `/`, `?` or `@`
        for host in ("evil.example#.example.org", "evil.example/.example.org", "evil.example?.example.org"):
            assert status(host) == 400, host


class TestAnyHost:
    @pytest.fixture
    def service_settings(self) -> dict[str, Any]:
        return {"allowed_hosts": '["*"]'}

    def test_star_answers_every_host(self, server: LiveServer) -> None:
        assert httpx.get(f"{server.url}/healthz", headers={"host": "whatever.example"}).status_code == 200


# -- the API docs, offline ----------------------------------------------------------------------------


def test_the_docs_page_needs_nothing_from_elsewhere(server: LiveServer, admin_key: dict[str, str]) -> None:
    r = httpx.get(f"{server.url}/docs", headers=admin_key)
    assert r.status_code == 200
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", r.text, re.I), "an external URL in /docs"
    assets = re.findall(r'(?:src|href)="(/[^"]+)"', r.text)
    swagger = {"/static/swagger-ui/swagger-ui-bundle.js", "/static/swagger-ui/swagger-ui.css"}
    assert swagger | {"/static/docs.js"} <= set(assets)
    for asset in assets:
        got = httpx.get(server.url + asset)
        assert got.status_code == 200 and len(got.content) > 100, asset
        assert_secured(got)
    js = httpx.get(f"{server.url}/static/swagger-ui/swagger-ui-bundle.js")
    assert js.headers["content-type"].startswith("text/javascript")
    assert httpx.get(f"{server.url}/static/swagger-ui/index.html").status_code == 404  # only what /docs uses
    assert 'data-openapi-url="/openapi.json"' in r.text


# -- /static: a bad path is a 404, never a 500 --------------------------------------------------------

BAD_STATIC = [
    "a" * 300,
    "a" * 300 + ".js",
    "." * 300,
    "%00",
    "style.css%00",
    "%2e%2e",
    "..%2Fapp.py",
    "..%5Capp.py",
    "con",
    "%ff%fe",
    "style.css%20",
    ".hidden",
    "swagger-ui/" + "a" * 300,
    "swagger-ui/..%2F..%2Fpages.py",
    "swagger-ui/%00",
    "swagger-ui/index.html",
]


@pytest.mark.parametrize("name", BAD_STATIC, ids=lambda n: n[:24])
def test_a_bad_static_path_is_a_404_never_a_500(server: LiveServer, name: str) -> None:
    r = httpx.get(f"{server.url}/static/{name}")
    assert r.status_code == 404, r.text
    assert len(r.text) < 300 and "/work" not in r.text and str(SERVICE) not in r.text


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/v1/answers", "GET, HEAD, POST"),  # routes of two routers; HEAD wherever GET
        ("GET", "/v1/messages", "POST"),
        ("PUT", "/v1/answers/a1", "PATCH"),
        ("DELETE", "/dashboard", "GET, HEAD"),
    ],
)
def test_a_405_names_the_methods_the_path_allows(
    client: TestClient, method: str, path: str, allow: str
) -> None:
    r = client.request(method, path)
    assert r.status_code == 405 and r.headers["allow"] == allow


HEAD_PATHS = [
    "/healthz",
    "/readyz",
    "/login",
    "/static/style.css",
    "/",
    "/cases/c1",
    "/dashboard",
    "/v1/metrics",
]


@pytest.mark.parametrize("path", HEAD_PATHS)
def test_head_answers_like_get_without_a_body(
    server: LiveServer, seeded: Store, admin_key: dict[str, str], path: str
) -> None:
    """Uptime checkers and load balancers send HEAD: the same status and headers as GET, no body."""
    got = httpx.get(f"{server.url}{path}", headers=admin_key)
    head = httpx.head(f"{server.url}{path}", headers=admin_key)
    assert (head.status_code, head.content) == (got.status_code, b""), path
    assert got.status_code == 200 and got.content
    for name in ("content-type", "content-length", "cache-control"):
        assert head.headers.get(name) == got.headers.get(name), (path, name)
    assert_secured(head)


def test_head_keeps_the_auth_rules_of_get(server: LiveServer, seeded: Store) -> None:
    page = httpx.head(f"{server.url}/cases/c1", headers={"accept": "text/html"})
    assert page.status_code == 303 and page.headers["location"] == "/login?next=/cases/c1"
    api = httpx.head(f"{server.url}/v1/metrics")
    assert api.status_code == 401 and api.headers["www-authenticate"] == "Bearer" and not api.content
    assert_secured(api)
    assert httpx.head(f"{server.url}/nothing-here").status_code == 401  # unknown paths too: no route list
    assert httpx.head(f"{server.url}/nothing-here", headers=authorize(seeded, "admin")).status_code == 404
    assert httpx.head(f"{server.url}/v1/suggest").status_code == 401  # a caller first, as for GET


def test_head_on_a_path_without_get_is_a_405(client: TestClient) -> None:
    r = client.head("/v1/messages")
    assert r.status_code == 405 and r.headers["allow"] == "POST"


def test_head_requests_are_counted_as_head_under_their_route(client: TestClient) -> None:
    assert client.head("/healthz").status_code == 200
    metrics = client.get("/metrics").text
    assert 'supportcue_http_requests_total{method="HEAD",route="/healthz",status="200"} 1.0' in metrics


def test_the_docs_page_links_back_to_the_console(client: TestClient) -> None:
    """/docs had no header and no way back to the console but the browser's Back button."""
    r = client.get("/docs")
    assert r.status_code == 200
    header = re.search(r'<header class="docs-top">(.*?)</header>', r.text, re.S)
    assert header and '<a href="/">' in header[1] and "supportcue" in header[1], r.text[:800]
    assert inline_code(r.text) == []
