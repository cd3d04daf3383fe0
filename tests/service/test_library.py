"""Over real HTTP on both databases: the answer library's write side (POST /v1/answers, PATCH
/v1/answers/{id}, versions and diffs, the /library pages' forms), who may use it, bad input, and an
edited or approved answer served by the running pipeline without a restart."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from supportcue.data.store import Store
from tests.conftest import LiveServer
from tests.service.conftest import PAUSE_PAYOUTS, authorize, wait_loaded
from tests.service.test_live_data import environ, serve, suggest, train_workspace

CYCLE_DAYS = 30


@pytest.fixture
def extra_environ() -> dict[str, str]:
    return {"SUPPORTCUE_RESPONSE__REVIEW_CYCLE_DAYS": str(CYCLE_DAYS)}


@pytest.fixture
def reviewer(server: LiveServer, store: Store) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers=authorize(store, "reviewer"), timeout=30) as c:
        yield c


def _near(when: str, expected: datetime) -> bool:
    return abs(datetime.fromisoformat(when) - expected) < timedelta(minutes=5)


def test_create_edit_approve_review_retire_keeps_every_version(reviewer: httpx.Client, store: Store) -> None:
    before = store.library.version()
    body = {
        "topic": "payouts",
        "title": "Payout schedule",
        "body": "Payouts arrive in 2 days.",
        "owner": "olga",
        "new_topic": True,  # the workspace's first answer starts its first topic
    }
    r = reviewer.post("/v1/answers", json=body)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["id"] == "payouts-payout-schedule" and created["status"] == "draft"
    assert created["version"] == 1 and created["review_due_at"] is None
    assert store.library.version() > before  # the running pipeline reloads on this

    r = reviewer.patch(
        f"/v1/answers/{created['id']}",
        json={"body": "Payouts arrive in 3 days.", "note": "new bank", "base_version": 1},
    )
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2 and r.json()["status"] == "draft"

    r = reviewer.patch(f"/v1/answers/{created['id']}", json={"status": "approved", "base_version": 2})
    approved = r.json()
    assert approved["status"] == "approved" and approved["version"] == 2  # a status is not a new version
    assert _near(approved["review_due_at"], datetime.now(UTC) + timedelta(days=CYCLE_DAYS))

    r = reviewer.patch(
        f"/v1/answers/{created['id']}", json={"body": "Payouts arrive in 3 days.", "base_version": 2}
    )
    assert r.json()["version"] == 2  # the same text again: no new version

    versions = reviewer.get(f"/v1/answers/{created['id']}/versions").json()
    assert [v["version"] for v in versions["data"]] == [2, 1]
    assert versions["data"][0]["note"] == "new bank"
    assert versions["data"][0]["editor"].startswith("key:test-reviewer-")
    assert versions["data"][1]["body"] == "Payouts arrive in 2 days."
    diff = reviewer.get(f"/v1/answers/{created['id']}/diff").json()
    assert (diff["from_version"], diff["to_version"]) == (1, 2)
    assert "-Payouts arrive in 2 days." in diff["diff"] and "+Payouts arrive in 3 days." in diff["diff"]

    r = reviewer.patch(f"/v1/answers/{created['id']}", json={"status": "retired", "base_version": 2})
    assert r.json()["status"] == "retired"
    assert store.library.answer(created["id"]).status == "retired"  # type: ignore[union-attr]


def test_answers_titled_in_any_script_get_ids_of_their_own(reviewer: httpx.Client) -> None:
    """The id made from topic and title keeps letters of every script (the ASCII-only slug made
    "answer", or the topic alone, of every title in Cyrillic: the second one was a 409)."""
    ids = []
    for title in ("Пауза выплат", "График выплат"):
        new = {"topic": "payouts", "title": title, "body": "Текст ответа.", "new_topic": True}
        r = reviewer.post("/v1/answers", json=new)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    assert ids == ["payouts-пауза-выплат", "payouts-график-выплат"]
    # an id made of a route word alone (topic "diff", a title of punctuation) gets a suffix
    r = reviewer.post("/v1/answers", json={"topic": "diff", "title": "?", "body": "b", "new_topic": True})
    assert r.status_code == 201 and r.json()["id"] == "diff-answer", r.text
    assert reviewer.get(f"/v1/answers/{ids[0]}/versions").status_code == 200
    assert reviewer.get(f"/library/{ids[1]}").status_code == 200


def test_mark_reviewed_moves_the_due_date_by_the_cycle(reviewer: httpx.Client, store: Store) -> None:
    long_ago = datetime(2026, 1, 1, tzinfo=UTC)
    store.library.upsert_answers([{**PAUSE_PAYOUTS, "review_due_at": long_ago, "reviewed_at": long_ago}])
    r = reviewer.patch("/v1/answers/a1", json={"reviewed": True, "base_version": 1})
    assert r.status_code == 200, r.text
    assert _near(r.json()["review_due_at"], datetime.now(UTC) + timedelta(days=CYCLE_DAYS))
    assert _near(r.json()["reviewed_at"], datetime.now(UTC))
    assert r.json()["version"] == 1 and r.json()["status"] == "approved"
    # an imported answer's text is its first kept version
    assert [v["body"] for v in reviewer.get("/v1/answers/a1/versions").json()["data"]] == [
        PAUSE_PAYOUTS["body"]
    ]


def test_the_done_banner_never_says_a_status_the_answer_does_not_have(
    reviewer: httpx.Client, store: Store
) -> None:
    """`?done=ACTION` is where a form's redirect leads, but anyone can send a reviewer that link: a
    draft's page at `?done=approve` said "Approved: agents are suggested it now.", and an approved
    answer's at `?done=retire` "Retired: it is no longer suggested to agents.", above a status that
    said otherwise. A status banner is shown only when the answer has that status."""
    store.library.upsert_answers([{**PAUSE_PAYOUTS, "status": "draft"}])

    def banner(query: str) -> list[str]:
        page = reviewer.get(f"/library/a1?{query}", headers={"accept": "text/html"})
        assert page.status_code == 200, page.text[:300]
        return re.findall(r'id="answer-done"[^>]*>([^<]*)<', page.text)

    assert banner("done=approve") == [] and banner("done=retire") == []
    assert banner("done=draft") == ["Back to draft: it is not suggested to agents until approved."]
    store.library.upsert_answers([PAUSE_PAYOUTS])  # approved
    assert banner("done=approve") == ["Approved: agents are suggested it now."]
    assert banner("done=retire") == [] and banner("done=draft") == []


def test_an_imported_answer_whose_id_holds_url_characters_can_be_changed(
    reviewer: httpx.Client, store: Store
) -> None:
    """An import may name an answer `faq/payouts#2` (POST refuses such ids; files do not); the pages
    and the other JSON routes took it, PATCH did not (404: no route for a path with a slash)."""
    store.library.upsert_answers([{**PAUSE_PAYOUTS, "id": "faq/payouts#2"}])
    r = reviewer.patch(
        "/v1/answers/faq%2Fpayouts%232", json={"body": "Payouts pause from Settings.", "base_version": 1}
    )
    assert r.status_code == 200, r.text
    assert r.json()["id"] == "faq/payouts#2" and r.json()["version"] == 2
    assert store.library.answer("faq/payouts#2").body == "Payouts pause from Settings."  # type: ignore[union-attr]
    # an answer's sub-resources are not answers: PATCH there is 405 with what is allowed
    for path, allowed in (("a1/versions", "GET"), ("a1/diff", "GET"), ("a1/compose", "POST")):
        r = reviewer.patch(f"/v1/answers/{path}", json={"body": "x"})
        assert r.status_code == 405 and r.headers["allow"].split(", ")[0] == allowed, r.text
        assert "PATCH" not in r.headers["allow"]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "says"),
    [
        ("post", "/v1/answers", {"topic": "t", "title": "x", "body": "  "}, 422, "body"),
        (
            "post",
            "/v1/answers",
            {"topic": "t", "title": "x", "body": "b", "status": "retired"},
            422,
            "status",
        ),
        ("post", "/v1/answers", {"topic": "t", "title": "x", "body": "b", "colour": 1}, 422, "colour"),
        ("post", "/v1/answers", {"topic": "t", "title": "x", "body": "a\x00b"}, 422, "body"),
        ("post", "/v1/answers", {"id": "a/b", "topic": "t", "title": "x", "body": "b"}, 422, "id"),
        # a page or a URL for an answer called ".." is the parent path's: no browser could open it
        ("post", "/v1/answers", {"id": "..", "topic": "t", "title": "x", "body": "b"}, 422, "id"),
        ("post", "/v1/answers", {"id": ".", "topic": "t", "title": "x", "body": "b"}, 422, "id"),
        # an answer's sub-resources: PATCH /v1/answers/versions could not reach an answer of that id
        ("post", "/v1/answers", {"id": "versions", "topic": "t", "title": "x", "body": "b"}, 422, "diff"),
        ("post", "/v1/answers", {"id": "diff", "topic": "t", "title": "x", "body": "b"}, 422, "compose"),
        ("post", "/v1/answers", {"id": "compose", "topic": "t", "title": "x", "body": "b"}, 422, "versions"),
        (
            "post",
            "/v1/answers",
            {"id": "a1", "topic": "payouts", "title": "x", "body": "b"},
            409,
            "exists already",
        ),
        ("patch", "/v1/answers/a1", {}, 422, "nothing to change"),
        ("patch", "/v1/answers/a1", {"note": "only a note"}, 422, "nothing to change"),
        ("patch", "/v1/answers/a1", {"status": "gone"}, 422, "status"),
        ("patch", "/v1/answers/a1", {"body": "new", "base_version": 7}, 409, "version 1 now, not 7"),
        ("patch", "/v1/answers/nope", {"body": "new", "base_version": 1}, 404, "no answer with this id"),
        ("patch", "/v1/answers/a1", {"body": "new"}, 428, "send `base_version`"),
        ("patch", "/v1/answers/a1", {"body": "new", "base_version": "one"}, 422, "base_version"),
        ("get", "/v1/answers/nope/versions", None, 404, "no answer"),
        ("get", "/v1/answers/a1/diff?from=5", None, 404, "no version 5"),
    ],
)
def test_bad_input_is_a_4xx_that_says_why(
    reviewer: httpx.Client, store: Store, method: str, path: str, body: Any, status: int, says: str
) -> None:
    store.library.upsert_answers([PAUSE_PAYOUTS])
    r = reviewer.request(method.upper(), path, json=body)
    assert r.status_code == status, r.text
    assert says in r.json()["detail"]
    assert store.library.answer("a1").body == PAUSE_PAYOUTS["body"]  # type: ignore[union-attr]


def test_an_agent_may_read_but_not_change_the_library(server: LiveServer, store: Store) -> None:
    store.library.upsert_answers([PAUSE_PAYOUTS])
    version = store.library.version()
    with httpx.Client(base_url=server.url, headers=authorize(store, "agent"), timeout=30) as agent:
        assert agent.get("/v1/answers").status_code == 200
        refused = [
            agent.post("/v1/answers", json={"topic": "t", "title": "x", "body": "b"}),
            agent.patch("/v1/answers/a1", json={"body": "hacked"}),
            agent.get("/v1/answers/a1/versions"),
            agent.get("/library"),
            agent.get("/library/a1"),
            agent.post("/library/a1", data={"action": "save", "body": "hacked", "topic": "t", "title": "x"}),
            agent.post("/library", data={"topic": "t", "title": "x", "body": "b"}),
        ]
    assert [r.status_code for r in refused] == [403] * len(refused)
    assert "reviewer" in refused[1].json()["detail"]
    assert store.library.answer("a1").body == PAUSE_PAYOUTS["body"]  # type: ignore[union-attr]
    assert store.library.version() == version


def test_the_library_page_lists_attention_and_figures(reviewer: httpx.Client, store: Store) -> None:
    overdue = datetime.now(UTC) - timedelta(days=2)
    store.library.upsert_topics([{"key": "disputes", "name": "Disputes"}])
    store.library.upsert_answers([{**PAUSE_PAYOUTS, "owner": "olga", "review_due_at": overdue}])
    page = reviewer.get("/library")
    assert page.status_code == 200
    text = page.text
    assert text.index('id="attention"') < text.index('id="answer-a1"')
    assert "overdue" in text and "disputes" in text and "olga" in text
    one = reviewer.get("/library/a1")
    assert one.status_code == 200 and "Pause payouts" in one.text and 'name="csrf_token"' in one.text
    assert reviewer.get("/library/nope").status_code == 404
    found = reviewer.get("/library", params={"q": "nothing-like-this"})
    assert 'id="answer-a1"' not in found.text
    # the search and the new-answer form, below a long "Needs attention", are reached from the top,
    # and a search lands on its results (the page opened at the attention list again, as if nothing
    # had been searched)
    top = text[text.index("<h1>") : text.index('id="attention"')]
    assert '<a href="#search">Search the answers</a>' in top and '<a href="#new">New answer</a>' in top
    assert '<form class="filters" id="search" method="get" action="/library#search" role="search">' in text


def test_forms_need_the_session_csrf_token(server: LiveServer, store: Store) -> None:
    """A logged-in reviewer's form post without the page's token is refused, and changes nothing."""
    from supportcue.security.users import add_user

    store.library.upsert_answers([PAUSE_PAYOUTS])
    add_user(store, "rev", "reviewer", "correct horse battery")
    with httpx.Client(base_url=server.url, timeout=30) as browser:
        login = browser.get("/login")
        token = login.cookies.get("supportcue_login") or ""
        r = browser.post(
            "/login",
            data={
                "name": "rev",
                "password": "correct horse battery",
                "csrf_token": token,
                "next": "/library",
            },
        )
        assert r.status_code in (200, 303), r.text
        edit = {
            "action": "save",
            "topic": "payouts",
            "title": "Pause payouts",
            "body": "forged",
            "base_version": "1",
        }
        assert browser.post("/library/a1", data=edit).status_code == 403
        page = browser.get("/library/a1").text
        csrf = page.split('name="csrf_token" value="')[1].split('"')[0]
        unversioned = {k: v for k, v in edit.items() if k != "base_version"}
        r = browser.post("/library/a1", data={**unversioned, "body": "Overwrite.", "csrf_token": csrf})
        assert r.status_code == 428 and "base_version" in r.json()["detail"], r.text  # not a lost update
        r = browser.post(
            "/library/a1", data={**edit, "body": "Pause payouts in Settings.", "csrf_token": csrf}
        )
        assert r.status_code == 303 and r.headers["location"] == "/library/a1?done=save"
    assert store.library.answer("a1").body == "Pause payouts in Settings."  # type: ignore[union-attr]


def test_a_browser_saves_the_longest_answer_in_any_script(server: LiveServer, store: Store) -> None:
    """20,000 characters of Cyrillic are 120 kB once form-encoded (each character two UTF-8 bytes, each
    byte %XX): the session's form is read whole for its CSRF token, and such a save goes through."""
    from supportcue.security.users import add_user

    store.library.upsert_answers([PAUSE_PAYOUTS])
    add_user(store, "rev", "reviewer", "correct horse battery")
    long_body = ("Приостановите выплаты в настройках. " * 600)[:20_000].strip()
    with httpx.Client(base_url=server.url, timeout=30) as browser:
        token = browser.get("/login").cookies.get("supportcue_login") or ""
        login = {"name": "rev", "password": "correct horse battery", "csrf_token": token}
        assert browser.post("/login", data=login).status_code == 303
        csrf = browser.get("/library/a1").text.split('name="csrf_token" value="')[1].split('"')[0]
        edit = {"action": "save", "topic": "payouts", "title": "Pause payouts", "csrf_token": csrf}
        r = browser.post("/library/a1", data={**edit, "body": long_body, "base_version": "1"})
        assert r.status_code == 303, r.text[:300]
    assert store.library.answer("a1").body == long_body  # type: ignore[union-attr]


def test_a_version_that_changed_only_the_owner_or_topic_says_so(reviewer: httpx.Client, store: Store) -> None:
    """A new owner is a new version: its diff was empty, and the answer's page showed the whole body
    under it as if it had been rewritten."""
    store.library.upsert_answers([{**PAUSE_PAYOUTS, "owner": "olga"}])
    assert (
        reviewer.patch("/v1/answers/a1", json={"owner": "Devraj Menon", "base_version": 1}).json()["version"]
        == 2
    )
    diff = reviewer.get("/v1/answers/a1/diff").json()["diff"]
    assert "-owner: olga" in diff and "+owner: Devraj Menon" in diff and "topic:" not in diff
    page = reviewer.get("/library/a1").text
    newest = page.split('id="version-2"')[1].split("</details>")[0]
    assert '<span class="add">+owner: Devraj Menon</span>' in newest
    assert (
        reviewer.patch(
            "/v1/answers/a1", json={"topic": "refunds", "owner": "", "base_version": 2, "new_topic": True}
        ).status_code
        == 200
    )
    diff = reviewer.get("/v1/answers/a1/diff").json()["diff"]
    assert "-topic: payouts" in diff and "+topic: refunds" in diff and "+owner: –" in diff


def test_line_breaks_are_kept_as_newlines_and_counted_once(reviewer: httpx.Client, store: Store) -> None:
    """A body written with "\r\n" (a form, a Windows tool) is stored with "\n": the same text sent
    again is no new version, and 20,000 characters of many lines fit (each break counted once)."""
    store.library.upsert_answers([{**PAUSE_PAYOUTS, "body": "Hi,\nYou can pause payouts."}])
    same = reviewer.patch(
        "/v1/answers/a1",
        json={"body": "Hi,\r\nYou can pause payouts.", "status": "approved", "base_version": 1},
    )
    assert same.status_code == 200, same.text
    assert same.json()["version"] == 1 and same.json()["body"] == "Hi,\nYou can pause payouts."
    lines = ("é" * 9 + "\n") * 2000
    r = reviewer.patch(
        "/v1/answers/a1", json={"body": lines.replace("\n", "\r\n").strip(), "base_version": 1}
    )
    assert r.status_code == 200, r.text
    assert r.json()["body"] == lines.strip() and "\r" not in store.library.answer("a1").body  # type: ignore[union-attr]
    created = reviewer.post("/v1/answers", json={"topic": "payouts", "title": "Old Mac", "body": "one\rtwo"})
    assert created.status_code == 201 and created.json()["body"] == "one\ntwo"


def test_an_edit_is_served_by_the_running_pipeline_without_restart(database_url: str, tmp_path: Path) -> None:
    train_workspace(tmp_path, database_url)
    with serve(tmp_path, environ(database_url)) as live:
        wait_loaded(live.app)  # type: ignore[arg-type]
        store: Store = live.app.state.runtime.store  # type: ignore[attr-defined]
        headers = authorize(store, "reviewer")
        new_body = "Pause payouts under Settings > Payouts > Pause; switch it off to resume."
        r = httpx.patch(
            f"{live.url}/v1/answers/pause", json={"body": new_body, "base_version": 1}, headers=headers
        )
        assert r.status_code == 200 and r.json()["version"] == 2
        deadline = time.time() + 10
        served = suggest(live, "how do I pause payouts")
        while "switch it off" not in (served["text"] or "") and time.time() < deadline:
            time.sleep(0.2)
            served = suggest(live, "how do I pause payouts")
        assert served["answer_id"] == "pause" and "switch it off to resume" in served["text"]


def test_an_import_that_rolls_back_a_version_does_not_block_the_next_save(
    reviewer: httpx.Client, store: Store
) -> None:
    store.library.upsert_answers([PAUSE_PAYOUTS])
    assert (
        reviewer.patch("/v1/answers/a1", json={"body": "Second text.", "base_version": 1}).json()["version"]
        == 2
    )
    store.library.upsert_answers(
        [{**PAUSE_PAYOUTS, "body": "Imported again.", "version": 1}]
    )  # version 1 again
    r = reviewer.patch("/v1/answers/a1", json={"body": "Third text.", "base_version": 1})
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 3
    kept = reviewer.get("/v1/answers/a1/versions").json()["data"]
    assert [(v["version"], v["body"]) for v in kept] == [
        (3, "Third text."),
        (2, "Second text."),
        (1, "Imported again."),
    ]


def _form_fields(page: str, n: int) -> dict[str, str]:
    """The hidden inputs of the page's `n`-th form (what the browser sends with it)."""
    form = page.split("<form ")[n].split("</form>")[0]
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))


@pytest.mark.parametrize("action", ["reviewed", "approve", "retire"])
def test_a_status_button_on_a_page_someone_has_changed_since_is_refused(
    server: LiveServer, store: Store, reviewer: httpx.Client, action: str
) -> None:
    """A reviewer opens an answer; another saves new text; the first clicks Approve / Mark reviewed /
    Retire on the page they read: refused (409), not applied to text they never saw."""
    from supportcue.security.users import add_user

    store.library.upsert_answers([{**PAUSE_PAYOUTS, "status": "draft", "reviewed_at": None}])
    add_user(store, "rev", "reviewer", "correct horse battery")
    with httpx.Client(base_url=server.url, timeout=30) as browser:
        token = browser.get("/login").cookies.get("supportcue_login") or ""
        login = {"name": "rev", "password": "correct horse battery", "csrf_token": token}
        assert browser.post("/login", data=login).status_code == 303
        page = browser.get("/library/a1").text
        (n,) = [
            i for i, f in enumerate(page.split("<form ")) if f'value="{action}">' in f.split("</form>")[0]
        ]
        hidden = _form_fields(page, n)
        edited = reviewer.patch(
            "/v1/answers/a1", json={"body": "Payouts pause themselves now.", "base_version": 1}
        )
        assert edited.status_code == 200 and edited.json()["version"] == 2
        r = browser.post("/library/a1", data={**hidden, "action": action})
        assert r.status_code == 409, r.text[:300]
    answer = store.library.answer("a1")
    assert answer is not None and answer.status == "draft" and answer.reviewed_at is None


def test_concurrent_edits_of_one_version_save_one_and_refuse_the_rest(
    server: LiveServer, store: Store
) -> None:
    """Four reviewers save an edit of version 1 at the same moment: one becomes version 2, the others
    are refused (409); none silently overwrites another's edit."""
    store.library.upsert_answers([PAUSE_PAYOUTS])
    barrier = threading.Barrier(4)

    def edit(i: int) -> int:
        with httpx.Client(base_url=server.url, headers=authorize(store, "reviewer"), timeout=30) as c:
            barrier.wait()
            body = {"body": f"Edit number {i}.", "base_version": 1}
            return c.patch("/v1/answers/a1", json=body).status_code

    with ThreadPoolExecutor(4) as pool:
        statuses = sorted(pool.map(edit, range(4)))
    assert statuses == [200, 409, 409, 409]
    assert [v.version for v in store.library.versions("a1")] == [2, 1]


def test_a_patch_without_the_version_it_was_made_on_is_428_not_a_lost_update(
    server: LiveServer, store: Store
) -> None:
    """Two reviewers read version 1; the first saves (version 2, with its base_version); the second
    sends a PATCH with no base_version: it silently overwrote the first's text (a lost update). It is
    refused (428) saying what to send; `base_version` or `If-Match` with the version read saves."""
    store.library.upsert_answers([PAUSE_PAYOUTS])
    with (
        httpx.Client(base_url=server.url, headers=authorize(store, "reviewer"), timeout=30) as first,
        httpx.Client(base_url=server.url, headers=authorize(store, "reviewer"), timeout=30) as second,
    ):
        saved = first.patch("/v1/answers/a1", json={"body": "Pause payouts in Settings.", "base_version": 1})
        assert saved.status_code == 200 and saved.json()["version"] == 2
        blind = second.patch("/v1/answers/a1", json={"body": "Payouts cannot be paused."})
        assert blind.status_code == 428, blind.text
        assert "base_version" in blind.json()["detail"] and "If-Match" in blind.json()["detail"]
        assert store.library.answer("a1").body == "Pause payouts in Settings."  # type: ignore[union-attr]
        # If-Match carries the version read: the stale one is refused (412), the current one saves
        stale = second.patch("/v1/answers/a1", json={"status": "approved"}, headers={"If-Match": '"1"'})
        assert stale.status_code == 412 and "version 2 now, not 1" in stale.json()["detail"], stale.text
        ok = second.patch("/v1/answers/a1", json={"status": "approved"}, headers={"If-Match": '"2"'})
        assert ok.status_code == 200 and ok.json()["status"] == "approved", ok.text
        assert ok.headers["etag"] == '"2"'
        for bad in ("two", '"2", "3"'):
            r = second.patch("/v1/answers/a1", json={"reviewed": True}, headers={"If-Match": bad})
            assert r.status_code == 422 and "If-Match" in r.json()["detail"], r.text
        both = second.patch(
            "/v1/answers/a1", json={"reviewed": True, "base_version": 1}, headers={"If-Match": '"2"'}
        )
        assert both.status_code == 422 and "base_version" in both.json()["detail"], both.text
    assert [v.version for v in store.library.versions("a1")] == [2, 1]


def test_if_match_star_changes_any_existing_answer_and_is_404_for_none(
    reviewer: httpx.Client, store: Store
) -> None:
    """RFC 9110: `If-Match: *` matches any current representation. It was refused (422, "give the one
    version"); it now changes the answer whatever its version, and an answer that does not exist is
    still 404 (there is nothing for `*` to match). With `base_version` too, that version is checked."""
    store.library.upsert_answers([PAUSE_PAYOUTS])
    reviewer.patch("/v1/answers/a1", json={"body": "Pause payouts in Settings.", "base_version": 1})
    r = reviewer.patch("/v1/answers/a1", json={"status": "approved"}, headers={"If-Match": "*"})
    assert r.status_code == 200 and r.json()["status"] == "approved", r.text
    assert r.headers["etag"] == '"2"'
    again = reviewer.patch("/v1/answers/a1", json={"body": "Payouts pause."}, headers={"If-Match": "*"})
    assert again.status_code == 200 and again.json()["version"] == 3, again.text
    missing = reviewer.patch("/v1/answers/nope", json={"status": "approved"}, headers={"If-Match": "*"})
    assert missing.status_code == 404 and missing.json()["detail"] == "no answer with this id", missing.text
    stale = reviewer.patch(
        "/v1/answers/a1", json={"reviewed": True, "base_version": 1}, headers={"If-Match": "*"}
    )
    assert stale.status_code == 409 and "version 3 now, not 1" in stale.json()["detail"], stale.text
    assert [v.version for v in store.library.versions("a1")] == [3, 2, 1]


REFUNDS = {"id": "r1", "topic": "refunds", "title": "Refund time", "body": "Refunds take 5 days."}


def test_an_answer_on_a_topic_the_workspace_lacks_is_refused_naming_the_closest(
    reviewer: httpx.Client, store: Store
) -> None:
    """A typo ("refnd") made an answer of a topic no suggestion can pick: 422 naming the topic and the
    closest known ones, unless `new_topic: true` says it starts one. Topics are known from the topics,
    the topic labels (any source), the answers and the articles."""
    store.library.upsert_answers([PAUSE_PAYOUTS, REFUNDS])
    store.labels.add([{"case_id": "c1", "task": "topic", "value": "billing", "source": "weak"}])
    before = store.library.version()
    typo = {"topic": "refnd", "title": "Refund time", "body": "Refunds take 5 days."}
    r = reviewer.post("/v1/answers", json=typo)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert "'refnd'" in detail and "'refunds'" in detail and '"new_topic": true' in detail
    assert store.library.version() == before and store.library.answers(topic="refnd") == []
    assert "refnd" not in {t.key for t in store.library.topics(status=None)}
    for known in ("payouts", "billing"):  # an answer's topic, a label's
        r = reviewer.post("/v1/answers", json={**typo, "topic": known, "title": f"On {known}"})
        assert r.status_code == 201, r.text
    r = reviewer.post("/v1/answers", json={**typo, "topic": "chargebacks", "new_topic": True})
    assert r.status_code == 201 and r.json()["topic"] == "chargebacks", r.text
    assert "chargebacks" in {t.key for t in store.library.topics(status=None)}
    # a change of topic is checked the same way
    r = reviewer.patch("/v1/answers/a1", json={"topic": "payots", "base_version": 1})
    assert r.status_code == 422 and "'payouts'" in r.json()["detail"], r.text
    r = reviewer.patch("/v1/answers/a1", json={"topic": "payouts-eu", "base_version": 1, "new_topic": True})
    assert r.status_code == 200 and r.json()["topic"] == "payouts-eu", r.text


def test_a_topic_the_live_topic_stage_predicts_is_known(
    server: LiveServer, reviewer: httpx.Client, store: Store
) -> None:
    """A topic the live model learned (from labels since merged, say) is one suggestions can pick."""
    store.library.upsert_answers([PAUSE_PAYOUTS])
    stage = server.app.state.runtime.pipeline.stages["topic"]  # type: ignore[attr-defined]
    stage.topics_ = ["payouts", "disputes"]
    r = reviewer.post("/v1/answers", json={"topic": "disputes", "title": "Dispute", "body": "We review it."})
    assert r.status_code == 201, r.text
    r = reviewer.post("/v1/answers", json={"topic": "dispute", "title": "Dispute 2", "body": "We review it."})
    assert r.status_code == 422 and "did you mean 'disputes'?" in r.json()["detail"], r.text


def test_the_first_answer_of_an_empty_workspace_starts_its_topic(
    reviewer: httpx.Client, store: Store
) -> None:
    """With no topic known at all there is nothing to misspell: the first answer was refused (422)
    unless it said `new_topic: true`; it now starts its topic. The next answer's topic is checked."""
    r = reviewer.post("/v1/answers", json={"topic": "refunds", "title": "Refund", "body": "5 days."})
    assert r.status_code == 201 and r.json()["topic"] == "refunds", r.text
    assert "refunds" in {t.key for t in store.library.topics(status=None)}
    r = reviewer.post("/v1/answers", json={"topic": "refnds", "title": "Refund 2", "body": "5 days."})
    assert r.status_code == 422 and "did you mean 'refunds'?" in r.json()["detail"], r.text
    r = reviewer.post(
        "/v1/answers", json={"topic": "payouts", "title": "Pause", "body": "In Settings.", "new_topic": True}
    )
    assert r.status_code == 201, r.text


def test_the_new_answer_form_offers_to_start_a_new_topic(server: LiveServer, store: Store) -> None:
    from supportcue.security.users import add_user

    store.library.upsert_answers([PAUSE_PAYOUTS, REFUNDS])
    add_user(store, "rev", "reviewer", "correct horse battery")
    with httpx.Client(base_url=server.url, timeout=30) as browser:
        token = browser.get("/login").cookies.get("supportcue_login") or ""
        login = {"name": "rev", "password": "correct horse battery", "csrf_token": token}
        assert browser.post("/login", data=login).status_code == 303
        page = browser.get("/library").text
        assert 'name="new_topic"' in page
        csrf = page.split('name="csrf_token" value="')[1].split('"')[0]
        new = {"topic": "refnd", "title": "Refund time", "body": "Refunds take 5 days.", "csrf_token": csrf}
        r = browser.post("/library", data=new)
        assert r.status_code == 422 and "refunds" in r.text and "New topic" in r.text, r.text[:500]
        assert 'value="refnd"' in r.text  # the reviewer's answer is kept in the form
        r = browser.post("/library", data={**new, "new_topic": "1"})
        assert r.status_code == 303, r.text[:300]
    assert [a.topic for a in store.library.answers(topic="refnd")] == ["refnd"]


def test_the_edit_form_says_a_saved_text_of_an_approved_answer_is_suggested_at_once(
    reviewer: httpx.Client, store: Store
) -> None:
    """ "Save new version" on an approved answer publishes the new text, with no other approval
    (DESIGN.md: a change makes a new version; the status stays): the page did not say so beside the
    button. It does now, and for a draft that a saved text is not suggested until approved."""
    from html import unescape

    store.library.upsert_answers([PAUSE_PAYOUTS, {**PAUSE_PAYOUTS, "id": "a2", "status": "draft"}])

    def note(answer_id: str) -> str:
        page = reviewer.get(f"/library/{answer_id}").text
        form = page[page.index('class="answer-form"') : page.index("</form>")]
        button = re.search(r'<button type="submit" name="action" value="save"([^>]*)>Save new version', form)
        assert button and 'aria-describedby="save-effect"' in button[1]
        found = re.search(r'<p id="save-effect"[^>]*>(.*?)</p>', form, re.S)
        assert found, "no note beside the Save new version button"
        return " ".join(unescape(re.sub(r"<[^>]+>", "", found[1])).split())

    assert "suggested to agents at once, without another approval" in note("a1")
    assert "not suggested until it is approved" in note("a2")
    # what the note says is what a save does
    r = reviewer.patch("/v1/answers/a1", json={"body": "Pause payouts in Settings.", "base_version": 1})
    assert r.status_code == 200 and r.json()["status"] == "approved" and r.json()["version"] == 2
    served = reviewer.get("/v1/answers", params={"q": "pause"}).json()["data"]
    assert [a["body"] for a in served if a["id"] == "a1"] == ["Pause payouts in Settings."]


def test_a_blank_title_or_body_is_refused_in_words_a_reviewer_reads(
    server: LiveServer, reviewer: httpx.Client, store: Store
) -> None:
    """A title of blanks was refused as "title: Value should have at least 1 item after validation,
    not 0" (pydantic's words for a list), on the answer's page and from the API alike: it says the
    field must not be blank."""
    from supportcue.security.users import add_user

    store.library.upsert_answers([PAUSE_PAYOUTS])
    r = reviewer.patch("/v1/answers/a1", json={"title": "   ", "base_version": 1})
    assert r.status_code == 422 and "title: must not be blank" in r.json()["detail"], r.text
    r = reviewer.post("/v1/answers", json={"topic": "payouts", "title": "Pause", "body": ""})
    assert r.status_code == 422 and "body: must not be blank" in r.json()["detail"], r.text
    add_user(store, "rev", "reviewer", "correct horse battery")
    with httpx.Client(base_url=server.url, timeout=30) as browser:
        token = browser.get("/login").cookies.get("supportcue_login") or ""
        login = {"name": "rev", "password": "correct horse battery", "csrf_token": token}
        assert browser.post("/login", data=login).status_code == 303
        csrf = browser.get("/library/a1").text.split('name="csrf_token" value="')[1].split('"')[0]
        edit = {"action": "save", "topic": "payouts", "title": "  ", "body": "New.", "csrf_token": csrf}
        r = browser.post("/library/a1", data={**edit, "base_version": "1"})
        assert r.status_code == 422 and "Not saved: title: must not be blank." in r.text, r.text[-2000:]
        assert "item after validation" not in r.text
    assert store.library.answer("a1").version == 1  # type: ignore[union-attr]


def test_a_filtered_library_counts_every_match_and_pages_to_the_rest(
    reviewer: httpx.Client, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The filtered list stopped at 500 answers and its count said 500 of however many matched, with
    no word that more existed. The count is every answer that matches; past the page, the page says
    how many are shown and links to the next ones (`page=2`, the filter kept), and the last page
    links to none; a page number that is not one is a 422, never a 500."""
    from supportcue.service.routes import library

    monkeypatch.setattr(library, "LIBRARY_PAGE", 3)
    store.library.upsert_answers(
        [
            {"id": f"r{n}", "topic": "refunds", "title": f"Refund {n}", "body": "b", "status": "approved"}
            for n in range(5)
        ]
    )

    def listed(text: str) -> list[str]:
        return re.findall(r'href="/library/(r\d)"', text)

    first = reviewer.get("/library", params={"q": "refund"})
    assert first.status_code == 200
    plain = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", first.text))
    assert "5 answers (1–3 shown)" in plain, plain
    assert len(set(listed(first.text))) == 3
    more = re.findall(r'<a href="([^"]+)"[^>]*>Next answers</a>', first.text)
    assert more and "q=refund" in more[0] and "page=2" in more[0], more
    second = reviewer.get(more[0].replace("&amp;", "&"))
    assert second.status_code == 200
    assert "5 answers (4–5 shown)" in re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", second.text))
    assert set(listed(first.text)) | set(listed(second.text)) == {f"r{n}" for n in range(5)}
    assert "Next answers" not in second.text
    assert reviewer.get("/library", params={"q": "refund", "page": "0"}).status_code == 422
    assert reviewer.get("/library", params={"q": "refund", "page": "x"}).status_code == 422
