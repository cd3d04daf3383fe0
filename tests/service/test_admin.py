"""The console's Admin pages over real HTTP on both databases: users (add, change role, reset password,
remove), API keys (create, shown once; revoke) and the stages' modes (read only), as a logged-in admin
with the pages' CSRF token; and every refusal: another role (403), no session (the login redirect),
no or a wrong token (403), the last admin, a name taken, a password the policy refuses."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from typing import Any

import httpx
import pytest

from supportcue.data.store import Store
from supportcue.security.users import add_user, authenticate
from tests.conftest import LiveServer
from tests.service.test_auth import PASSWORD, log_in

HTML = {"accept": "text/html"}


@pytest.fixture(autouse=True)
def _seeded(store: Store) -> None:
    add_user(store, "rita", "admin", PASSWORD)
    add_user(store, "ana", "agent", PASSWORD)
    add_user(store, "rev", "reviewer", PASSWORD)


def _logged_in(server: LiveServer, name: str) -> httpx.Client:
    client, answer = log_in(server.url, name)
    assert answer.status_code == 303, answer.text
    client.headers.update(HTML)
    return client


@pytest.fixture
def rita(server: LiveServer) -> Iterator[httpx.Client]:
    """An admin's browser, logged in."""
    client = _logged_in(server, "rita")
    yield client
    client.close()


def token(client: httpx.Client, path: str = "/admin/users") -> str:
    """The CSRF token of the admin page `path` (its forms' hidden field)."""
    page = client.get(path)
    assert page.status_code == 200, page.text
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found
    return found[1]


def post(client: httpx.Client, path: str, **fields: str) -> httpx.Response:
    return client.post(path, data={"csrf_token": token(client, path), **fields})


def _roles(store: Store) -> dict[str, str]:
    return {u.name: u.role for u in store.callers.users()}


def _error(page: httpx.Response, element_id: str) -> str:
    found = re.search(rf'<p class="error" id="{element_id}" role="alert">([^<]*)</p>', page.text)
    assert found, page.text
    return found[1]


# -- users -----------------------------------------------------------------------------------------


def test_an_admin_adds_a_user_changes_role_resets_password_and_removes(
    rita: httpx.Client, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    listed = rita.get("/admin/users")
    assert listed.status_code == 200
    for name, role in (("rita", "admin"), ("ana", "agent"), ("rev", "reviewer")):
        assert re.search(rf'id="user-{name}".*?<td[^>]*>{role}</td>', listed.text, re.S), name
    assert "password_hash" not in listed.text and "$argon2" not in listed.text

    fields = {
        "name": "bo",
        "role": "agent",
        "password": "bo's long password",
        "confirm": "bo's long password",
    }
    added = post(rita, "/admin/users", action="add", **fields)
    assert added.status_code == 303 and added.headers["location"] == "/admin/users?done=added&done_for=bo"
    assert _roles(store)["bo"] == "agent" and authenticate(store, "bo", "bo's long password")
    banner = rita.get(added.headers["location"])
    assert 'id="admin-done"' in banner.text and "User &#39;bo&#39; added" in banner.text
    made_up = rita.get("/admin/users", params={"done": "removed", "done_for": "everyone, call 555"})
    assert 'id="admin-done"' not in made_up.text

    changed = post(rita, "/admin/users", action="role", name="bo", role="reviewer")
    assert changed.status_code == 303 and changed.headers["location"].endswith("done=role&done_for=bo")
    assert _roles(store)["bo"] == "reviewer"

    reset = post(
        rita,
        "/admin/users",
        action="password",
        name="bo",
        password="a new password",
        confirm="a new password",
    )
    assert reset.status_code == 303 and reset.headers["location"].endswith("done=password&done_for=bo")
    assert authenticate(store, "bo", "a new password") and not authenticate(store, "bo", "bo's long password")

    removed = post(rita, "/admin/users", action="remove", name="bo")
    assert removed.status_code == 303 and removed.headers["location"].endswith("done=removed&done_for=bo")
    assert "bo" not in _roles(store)
    logged = caplog.text
    assert "bo's long password" not in logged and "a new password" not in logged


def test_a_change_reaches_the_users_open_session_on_its_next_request(
    server: LiveServer, rita: httpx.Client
) -> None:
    """Not within the callers' cache's seconds: at once, in the process that made the change."""
    with closing(_logged_in(server, "ana")) as ana:
        assert ana.get("/review").status_code == 403
        assert post(rita, "/admin/users", action="role", name="ana", role="reviewer").status_code == 303
        assert ana.get("/review").status_code == 200
        new = {"password": "another password", "confirm": "another password"}
        assert post(rita, "/admin/users", action="password", name="ana", **new).status_code == 303
        assert ana.get("/review").status_code == 303  # her session ended: to the login form
    again, answer = log_in(server.url, "ana", "another password")
    with closing(again):
        assert answer.status_code == 303 and again.get("/review").status_code == 200


@pytest.mark.parametrize(
    ("fields", "status", "says"),
    [
        ({"name": "ana", "role": "agent"}, 409, "a user named 'ana' exists"),
        ({"name": "bo", "role": "agent", "password": "q7w8e9", "confirm": "q7w8e9"}, 422, "too short"),
        ({"name": "bo", "role": "agent", "confirm": "another one!"}, 422, "not the same"),
        ({"name": "bo", "role": "embed"}, 422, "the embed role is for the key"),
        ({"name": "bo", "role": "boss"}, 422, "unknown role 'boss'"),
        ({"name": "José", "role": "agent"}, 422, "user name 'José'"),
    ],
)
def test_a_refused_new_user_says_why_by_its_form_and_keeps_what_was_typed(
    rita: httpx.Client, store: Store, fields: dict[str, str], status: int, says: str
) -> None:
    sent = {"password": "a long password", "confirm": "a long password", **fields}
    refused = post(rita, "/admin/users", action="add", **sent)
    assert refused.status_code == status
    assert says in _error(refused, "add-user-error").replace("&#39;", "'")
    form = refused.text[refused.text.index('id="add-user"') :]
    assert f'value="{fields["name"]}"' in form  # the name is kept; a password never comes back
    assert sent["password"] not in refused.text
    assert sorted(_roles(store)) == ["ana", "rev", "rita"]
    assert store.callers.user("ana").role == "agent"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"action": "remove", "name": "rita"}, "'rita' is the last admin"),
        ({"action": "role", "name": "rita", "role": "reviewer"}, "'rita' is the last admin"),
    ],
)
def test_the_last_admin_is_neither_removed_nor_demoted(
    rita: httpx.Client, store: Store, fields: dict[str, str], says: str
) -> None:
    refused = post(rita, "/admin/users", **fields)
    assert refused.status_code == 409
    assert says in _error(refused, "user-error").replace("&#39;", "'")
    # the reason is in the row of the user it is about
    row = refused.text[refused.text.index('id="user-rita"') :]
    assert row.index('id="user-error"') < row.index("</tr>")
    assert _roles(store)["rita"] == "admin"


def test_with_another_admin_an_admin_may_step_down(rita: httpx.Client, store: Store) -> None:
    add_user(store, "olga", "admin", PASSWORD)
    stepped = post(rita, "/admin/users", action="role", name="rita", role="reviewer")
    assert stepped.status_code == 303 and stepped.headers["location"] == "/"  # no Admin page for her now
    assert _roles(store) == {"ana": "agent", "olga": "admin", "rev": "reviewer", "rita": "reviewer"}
    assert rita.get("/admin/users").status_code == 403


def test_an_admin_who_resets_their_own_password_or_leaves_is_sent_to_the_login(
    server: LiveServer, rita: httpx.Client, store: Store
) -> None:
    add_user(store, "olga", "admin", PASSWORD)
    new = {"password": "rita's new password", "confirm": "rita's new password"}
    reset = post(rita, "/admin/users", action="password", name="rita", **new)
    assert reset.status_code == 303 and reset.headers["location"] == "/login"
    assert rita.get("/admin/users").status_code == 303  # that session ended with the old password
    again, answer = log_in(server.url, "rita", "rita's new password")
    with closing(again):
        assert answer.status_code == 303
        again.headers.update(HTML)
        left = post(again, "/admin/users", action="remove", name="rita")
        assert left.status_code == 303 and left.headers["location"] == "/login"
    assert _roles(store) == {"ana": "agent", "olga": "admin", "rev": "reviewer"}


def test_changing_a_user_that_is_gone_says_so(rita: httpx.Client, store: Store) -> None:
    for fields in (
        {"action": "role", "name": "bo", "role": "agent"},
        {"action": "password", "name": "bo", "password": "a long password", "confirm": "a long password"},
        {"action": "remove", "name": "bo"},
    ):
        refused = post(rita, "/admin/users", **fields)
        assert refused.status_code == 404
        assert "no user named 'bo'" in _error(refused, "admin-error").replace("&#39;", "'")
    bad = post(rita, "/admin/users", action="promote", name="ana")
    assert bad.status_code == 422 and store.callers.user("ana").role == "agent"  # type: ignore[union-attr]


def test_a_reset_password_is_checked_like_a_new_ones(rita: httpx.Client, store: Store) -> None:
    for password, confirm, says in (
        ("q7w8e9", "q7w8e9", "too short"),
        ("a long password", "a long passw0rd", "not the same"),
    ):
        refused = post(
            rita, "/admin/users", action="password", name="ana", password=password, confirm=confirm
        )
        assert refused.status_code == 422 and says in _error(refused, "user-error")
        assert password not in refused.text
    assert authenticate(store, "ana", PASSWORD) is not None


# -- API keys --------------------------------------------------------------------------------------


def test_a_key_is_shown_once_and_works_until_revoked(
    server: LiveServer, rita: httpx.Client, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    created = post(rita, "/admin/keys", action="create", name="grafana", role="metrics")
    assert created.status_code == 200
    assert "no-store" in created.headers["cache-control"]
    secret = re.search(r'<code id="new-key">(sc_[A-Za-z0-9_-]{43})</code>', created.text)
    assert secret, created.text
    key = secret[1]
    [stored] = [k for k in store.callers.api_keys() if k.name == "grafana"]
    assert stored.role == "metrics" and key.startswith(stored.prefix)

    listed = rita.get("/admin/keys")
    assert key not in listed.text and "no-store" not in listed.headers.get("cache-control", "")
    row = listed.text[listed.text.index('id="key-grafana"') :]
    assert stored.prefix in row[: row.index("</tr>")] and "metrics" in row[: row.index("</tr>")]
    assert key not in caplog.text

    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as grafana:
        assert grafana.get("/v1/metrics").status_code == 200
        revoked = post(rita, "/admin/keys", action="revoke", name="grafana")
        assert revoked.status_code == 303
        assert revoked.headers["location"] == "/admin/keys?done=revoked&done_for=grafana"
        refused = grafana.get("/v1/metrics")  # the very next request, not within the cache's seconds
        assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
    assert [k.name for k in store.callers.api_keys()] == []
    assert 'id="key-grafana"' not in rita.get("/admin/keys").text


def test_a_refused_key_says_why_by_its_form(rita: httpx.Client, store: Store) -> None:
    assert post(rita, "/admin/keys", action="create", name="grafana", role="metrics").status_code == 200
    for fields, status, says in (
        ({"name": "grafana", "role": "metrics"}, 409, "a key named 'grafana' exists"),
        ({"name": "my key", "role": "metrics"}, 422, "key name 'my key'"),
        ({"name": "other", "role": "boss"}, 422, "unknown role 'boss'"),
    ):
        refused = post(rita, "/admin/keys", action="create", **fields)
        assert refused.status_code == status
        assert says in _error(refused, "create-key-error").replace("&#39;", "'")
        assert 'id="new-key"' not in refused.text
    gone = post(rita, "/admin/keys", action="revoke", name="nope")
    assert gone.status_code == 404 and "no key named 'nope'" in _error(gone, "admin-error").replace(
        "&#39;", "'"
    )
    assert [k.name for k in store.callers.api_keys()] == ["grafana"]


def test_the_keys_page_shows_when_each_key_was_last_used(
    server: LiveServer, rita: httpx.Client, store: Store
) -> None:
    from supportcue.security.keys import create_key

    key = create_key(store, "grafana", "metrics")
    create_key(store, "stale", "metrics")
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as grafana:
        assert grafana.get("/v1/metrics").status_code == 200
    used = _wait_for(lambda: {k.name: k.last_used_at for k in store.callers.api_keys()}["grafana"])
    page = rita.get("/admin/keys").text

    def row(name: str) -> str:
        found = page[page.index(f'id="key-{name}"') :]
        return found[: found.index("</tr>")]

    assert used.strftime("%Y-%m-%d %H:%M") in row("grafana") and "never" not in row("grafana")
    assert "never" in row("stale")


def _wait_for(read: Callable[[], Any], seconds: float = 10.0) -> Any:
    """`read()` once it is not None (a key's use is written by a thread of its own)."""
    deadline = time.monotonic() + seconds
    while (value := read()) is None:
        assert time.monotonic() < deadline, "not written in time"
        time.sleep(0.05)
    return value


# -- audit -----------------------------------------------------------------------------------------


def test_every_change_made_here_is_on_the_audit_page_newest_first_without_a_secret(
    rita: httpx.Client, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    created = post(rita, "/admin/keys", action="create", name="grafana", role="metrics")
    key = re.search(r'<code id="new-key">(sc_[A-Za-z0-9_-]{43})</code>', created.text)
    assert key
    new_password = "another long secret"
    for fields in (
        {"action": "add", "name": "eve", "role": "agent", "password": new_password, "confirm": new_password},
        {"action": "role", "name": "eve", "role": "reviewer"},
        {"action": "password", "name": "eve", "password": new_password + "!", "confirm": new_password + "!"},
        {"action": "remove", "name": "eve"},
    ):
        assert post(rita, "/admin/users", **fields).status_code == 303, fields
    assert post(rita, "/admin/keys", action="revoke", name="grafana").status_code == 303

    page = rita.get("/admin/audit")
    assert page.status_code == 200 and "no-store" in page.headers["cache-control"]
    rows = re.findall(r'<tr id="audit-\d+">(.*?)</tr>', page.text, re.S)
    cells = [re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", r, re.S) for r in rows]
    assert [c[1:5] for c in cells[:6]] == [
        ["user:rita", "console", "key revoked", "grafana"],
        ["user:rita", "console", "user removed", "eve"],
        ["user:rita", "console", "password reset", "eve"],
        ["user:rita", "console", "role changed", "eve"],
        ["user:rita", "console", "user added", "eve"],
        ["user:rita", "console", "key created", "grafana"],
    ]
    assert "agent → reviewer" in cells[3][5] and cells[5][5] == "metrics"
    assert [c[2] for c in cells[6:]] == ["cli"] * 3  # the fixture's users, added from this process
    hashes = [u.password_hash for u in store.callers.users()]
    for secret in (key[1], key[1][3:], new_password, PASSWORD, *hashes):
        assert secret not in page.text and secret not in caplog.text


def test_the_audit_page_is_paged_by_the_older_link(rita: httpx.Client, store: Store) -> None:
    from supportcue.data.security import Actor
    from supportcue.security.keys import create_key

    for i in range(57):  # with the fixture's 3 users: 60 rows, a page of 50 and one of 10
        create_key(store, f"k{i:02d}", "metrics", Actor("ops", "cli"))
    first = rita.get("/admin/audit").text
    names = re.findall(r'<th scope="row" data-label="To">(.*?)</th>', first)
    assert names[:2] == ["k56", "k55"] and len(names) == 50
    older = re.search(r'<a href="(/admin/audit\?before=\d+)" rel="next">Older changes</a>', first)
    assert older and "Newest changes" not in first
    second = rita.get(older[1]).text
    names2 = re.findall(r'<th scope="row" data-label="To">(.*?)</th>', second)
    assert names2 == ["k06", "k05", "k04", "k03", "k02", "k01", "k00", "rev", "ana", "rita"]
    assert "Older changes" not in second and 'href="/admin/audit">Newest changes' in second
    for bad in ("abc", "-1", "1.5", "²", "9" * 30):
        refused = rita.get("/admin/audit", params={"before": bad})
        assert refused.status_code == 422 and "Older changes link" in refused.text, bad
    assert "No older changes" in rita.get("/admin/audit", params={"before": "1"}).text


# -- stages ----------------------------------------------------------------------------------------


def test_the_stages_page_shows_each_mode_and_where_to_change_it(rita: httpx.Client) -> None:
    page = rita.get("/admin/stages")
    assert page.status_code == 200
    for stage in ("validation", "topic", "response", "tone"):
        assert re.search(rf'id="stage-{stage}".*?<td[^>]*>live</td>', page.text, re.S), stage
    assert "SUPPORTCUE_PIPELINE__TOPIC" in page.text and "supportcue.toml" in page.text
    assert "<form" not in page.text.split("<main", 1)[1]  # read only: the settings are the one source


class TestAStageSetInShadow:
    @pytest.fixture
    def extra_environ(self) -> dict[str, str]:
        return {"SUPPORTCUE_PIPELINE__TONE": "shadow"}

    def test_shows_shadow_and_the_variable_that_set_it(self, rita: httpx.Client) -> None:
        page = rita.get("/admin/stages").text
        row = page[page.index('id="stage-tone"') :]
        row = row[: row.index("</tr>")]
        assert re.findall(r"<td[^>]*>(\w+)", row)[0] == "shadow"  # (this test's pipeline is its own)
        assert "environment variable SUPPORTCUE_PIPELINE__TONE" in row


# -- who may ---------------------------------------------------------------------------------------

PAGES = ("/admin/users", "/admin/keys", "/admin/stages", "/admin/audit")
FORMS = (
    (
        "/admin/users",
        {"action": "add", "name": "eve", "role": "admin", "password": "x" * 12, "confirm": "x" * 12},
    ),
    ("/admin/users", {"action": "role", "name": "ana", "role": "admin"}),
    ("/admin/users", {"action": "password", "name": "rita", "password": "x" * 12, "confirm": "x" * 12}),
    ("/admin/users", {"action": "remove", "name": "rita"}),
    ("/admin/keys", {"action": "create", "name": "eve", "role": "admin"}),
    ("/admin/keys", {"action": "revoke", "name": "kept"}),
)


def _unchanged(store: Store) -> None:
    assert _roles(store) == {"ana": "agent", "rev": "reviewer", "rita": "admin"}
    assert authenticate(store, "rita", PASSWORD) is not None
    assert [k.name for k in store.callers.api_keys()] == ["kept"]
    # only the seeding's records: a refused form records nothing
    assert sorted((r.action, r.via) for r in store.callers.audit()) == [
        ("key.create", "cli"),
        *[("user.add", "cli")] * 3,
    ]


@pytest.mark.parametrize("who", ["ana", "rev"])
def test_agents_and_reviewers_get_the_forbidden_page_and_change_nothing(
    server: LiveServer, store: Store, who: str
) -> None:
    from supportcue.security.keys import create_key

    create_key(store, "kept", "integration")
    with closing(_logged_in(server, who)) as browser:
        assert 'href="/admin/users"' not in browser.get("/").text  # no Admin in the nav
        for path in PAGES:
            page = browser.get(path)
            assert page.status_code == 403 and 'id="forbidden"' in page.text and "admin role" in page.text
        csrf = re.search(r'<meta name="csrf-token" content="([^"]+)">', browser.get("/").text)
        assert csrf
        for path, fields in FORMS:
            assert browser.post(path, data={"csrf_token": csrf[1], **fields}).status_code == 403, fields
    _unchanged(store)


def test_without_a_session_pages_lead_to_the_login_and_forms_are_refused(
    server: LiveServer, store: Store
) -> None:
    from supportcue.security.keys import create_key

    create_key(store, "kept", "integration")
    with httpx.Client(base_url=server.url, timeout=30, headers=HTML) as nobody:
        for path in PAGES:
            page = nobody.get(path)
            assert page.status_code == 303 and page.headers["location"] == f"/login?next={path}"
        for path, fields in FORMS:
            assert nobody.post(path, data=fields).status_code == 401
    _unchanged(store)


def test_forms_without_the_sessions_csrf_token_change_nothing(rita: httpx.Client, store: Store) -> None:
    from supportcue.security.keys import create_key

    create_key(store, "kept", "integration")
    assert 'href="/admin/users"' in rita.get("/").text  # Admin in the nav, for admins
    for path, fields in FORMS:
        assert rita.post(path, data=fields).status_code == 403, fields
        assert rita.post(path, data={**fields, "csrf_token": "0" * 64}).status_code == 403, fields
    _unchanged(store)
