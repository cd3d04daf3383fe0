"""The agent console's pages, the dashboard and GET /v1/metrics (rendered server-side, no browser)."""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient

from supportcue.data.store import Store
from tests.service.conftest import PAUSE_PAYOUTS, T0, authorize, case
from tests.service.test_headers import assert_secured


def seed(store: Store) -> None:
    """Three open cases, one resolved; a live suggestion that was shown, inserted and sent."""
    store.library.upsert_answers([PAUSE_PAYOUTS])
    store.cases.upsert(
        [
            case("c1", "how do I pause a payout", "Ana"),
            case("c2", "<script>alert(1)</script> refund?", "Bo", hours=1),
            case(
                "c3",
                "thanks",
                "Cy",
                hours=2,
                context=[{"role": "agent", "text": "Anything else?"}],
                fields={"payout_id": "po_1"},
            ),
            case("c0", "old", "Di", hours=-24, status="resolved"),
        ]
    )
    store.cases.add_suggestions(
        [
            {
                "id": "s0",
                "case_id": "c0",
                "created_at": T0 - timedelta(days=1),
                "pipeline_version": "p1",
                "topic": "payouts",
                "text": "You can pause payouts in Settings.",
                "answer_id": "a1",
                "latency_ms": 12.0,
                "simulated": True,
            },
        ]
    )
    store.events.add_many(
        [
            {
                "idempotency_key": k,
                "case_id": "c0",
                "suggestion_id": "s0",
                "kind": kind,
                "text": text,
                "ts": T0,
            }
            for k, kind, text in [
                ("e1", "shown", None),
                ("e2", "inserted", None),
                ("e3", "sent", "Hi Di,\nYou can pause payouts in Settings."),
            ]
        ]
    )


@pytest.fixture(autouse=True)
def _seeded(store: Store) -> None:
    seed(store)


def test_inbox_lists_open_cases_newest_first(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200 and "<html" in r.text.lower()
    assert r.text.index("/cases/c3") < r.text.index("/cases/c2") < r.text.index("/cases/c1")
    assert "/cases/c0" not in r.text and "3 open" in r.text


def test_case_view_escapes_the_message_and_carries_the_case_for_the_script(client: TestClient) -> None:
    r = client.get("/cases/c2")
    assert r.status_code == 200
    assert "<script>alert(1)</script>" not in r.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text
    assert '<label id="reply-label" for="reply">' in r.text and "/static/console.js" in r.text
    assert '"Pause payouts"' in r.text  # answer titles for "why this?"
    r = client.get("/cases/c3")
    assert "Anything else?" in r.text and "po_1" in r.text


def test_a_null_field_of_a_case_is_left_out_of_its_page_not_shown_as_none(
    client: TestClient, store: Store
) -> None:
    """The case page showed a field stored as null as the text "None" (and sent it so to the
    suggestion); the API and the CLI leave it out."""
    store.cases.upsert([case("c-null", "where is my refund", "Ana", fields={"plan": "Pro", "coupon": None})])
    r = client.get("/cases/c-null")
    assert r.status_code == 200
    assert "<dt>plan</dt><dd>Pro</dd>" in r.text and "coupon" not in r.text and "None" not in r.text
    api = client.get("/v1/cases/c-null").json()
    assert api["fields"] == {"plan": "Pro"}


def test_a_resolved_case_shows_its_conversation_and_offers_nothing_to_send(
    client: TestClient, store: Store
) -> None:
    """A resolved case (opened from a link, or Back after sending) still offered Send and asked for a
    suggestion: sending again recorded a second `sent` and `resolved` (its handle time counted twice in
    an experiment) and the suggestion's `shown` counted after the case was closed. The page shows the
    conversation with the reply sent, and says the case is resolved; no composer, no script that asks
    or records."""
    shown_before = len(store.events.list(case_id="c0"))
    r = client.get("/cases/c0")
    assert r.status_code == 200 and "old" in r.text
    assert "This case is resolved" in r.text
    assert 'id="send"' not in r.text and 'id="reply"' not in r.text
    assert "/static/console.js" not in r.text and 'id="case-data"' not in r.text
    assert len(store.events.list(case_id="c0")) == shown_before
    reply = r.text[r.text.index('id="sent-reply"') :]
    assert "You can pause payouts in Settings." in reply[: reply.index("</li>")]  # the reply it got
    assert 'id="send"' in client.get("/cases/c1").text  # an open case keeps its composer


def test_missing_case_is_a_404_page(client: TestClient) -> None:
    r = client.get("/cases/nope")
    assert r.status_code == 404 and "There is no case with this id." in r.text


def test_resolve_marks_the_case_and_points_to_the_next(client: TestClient) -> None:
    r = client.post("/cases/c3/resolve", headers={"accept": "application/json"})
    assert r.json() == {"case_id": "c3", "status": "resolved", "next": "/cases/c2"}
    r = client.post("/cases/c2/resolve", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/cases/c1"
    assert "/cases/c3" not in client.get("/").text
    assert client.post("/cases/nope/resolve").status_code == 404


ODD_IDS = ["t#1", "t?1", "zendesk/2", "t%41", "tA", "a b"]
"""External case ids with characters a URL path gives a meaning to (%41 is "A")."""


def _case_id(page: str) -> str:
    found: str = json.loads(re.findall(r'id="case-data">([^<]*)<', page)[0])["case_id"]
    return found


def test_every_case_id_is_reachable_from_the_inbox_and_resolvable(api: httpx.Client, store: Store) -> None:
    """Over real HTTP (the test client decodes a path twice: %2541 would reach case tA there)."""
    store.cases.upsert([case(i, f"message of {i}", "Eve", hours=3 + n) for n, i in enumerate(ODD_IDS)])
    hrefs = [html.unescape(h) for h in re.findall(r'href="(/cases/[^"]*)"', api.get("/").text)]
    opened = []
    for href in hrefs:
        r = api.get(href)
        assert r.status_code == 200, (href, r.text[:200])
        opened.append(_case_id(r.text))
    assert opened == [*reversed(ODD_IDS), "c3", "c2", "c1"]
    r = api.post(hrefs[0] + "/resolve", headers={"accept": "application/json"})
    assert r.status_code == 200 and r.json()["case_id"] == "a b"
    assert _case_id(api.get(r.json()["next"]).text) == "tA"
    r = api.post(hrefs[1] + "/resolve", headers={"accept": "application/json"})
    assert r.status_code == 200 and r.json()["case_id"] == "tA"
    assert _case_id(api.get(r.json()["next"]).text) == "t%41"


def test_static_files_are_served_and_nothing_else(client: TestClient) -> None:
    for name in ("console.js", "embed.js", "suggestion.js"):
        r = client.get(f"/static/{name}")
        assert r.status_code == 200 and "text/javascript" in r.headers["content-type"]
    assert "crypto.randomUUID" in r.text  # suggestion.js: the events' idempotency keys
    assert client.get("/static/style.css").status_code == 200
    assert client.get("/static/..%2Fapp.py").status_code == 404
    assert client.get("/static/nothing.js").status_code == 404


def test_pages_name_their_icon(client: TestClient) -> None:
    """A browser asked every page for /favicon.ico, a 404 in the console of each page opened."""
    for path in ("/", "/dashboard", "/login"):
        icon = re.search(r'<link rel="icon" type="image/svg\+xml" href="([^"]+)">', client.get(path).text)
        assert icon is not None, path
        r = client.get(icon.group(1))
        assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")


def test_dashboard_shows_the_rates_and_marks_simulated_history(client: TestClient) -> None:
    r = client.get("/dashboard")
    assert r.status_code == 200 and "<svg" in r.text
    assert "Includes simulated demo history" in r.text
    tile = r.text[r.text.index('id="tile-adoption"') :][:300]
    assert "100%" in tile and "1 inserted of 1 shown" in tile
    assert "payouts" in r.text and 'id="funnel"' in r.text
    assert client.get("/dashboard?since=nonsense").status_code == 422
    backwards = client.get("/dashboard?since=2026-10-02&until=2026-10-01")
    assert backwards.status_code == 422 and "must be before until" in backwards.json()["detail"]


def test_one_day_chosen_as_from_and_until_is_offered_in_one_click(client: TestClient) -> None:
    """A support lead picks the same day in both boxes to see that day: the page said only that since
    must be before until. It says Until is exclusive and links to that day."""
    html = {"accept": "text/html"}
    r = client.get("/dashboard?since=2026-10-20&until=2026-10-20", headers=html)
    assert r.status_code == 422 and '"Until" is exclusive' in r.text
    assert '<a href="/dashboard?since=2026-10-20&amp;until=2026-10-21">Show 2026-10-20</a>' in r.text
    assert client.get("/dashboard?since=2026-10-20&until=2026-10-21", headers=html).status_code == 200
    other = client.get("/dashboard?since=2026-10-21&until=2026-10-20", headers=html)
    assert other.status_code == 422 and "one-day" not in other.text


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("since=yesterday", "since=&#39;yesterday&#39; is not an ISO date or datetime"),
        ("since=2026-10-02&until=2026-10-01", "since (2026-10-02) must be before until (2026-10-01)"),
        ("until=9999-12-31", "until=9999-12-31 is out of range"),
        ("since=<b>x</b>", "since=&#39;&lt;b&gt;x&lt;/b&gt;&#39; is not an ISO date"),
    ],
)
def test_bad_dashboard_dates_in_a_browser_are_a_page_saying_what_is_wrong(
    client: TestClient, query: str, message: str
) -> None:
    """A browser gets the app's page with the message and the date form to fix it (not JSON)."""
    r = client.get(f"/dashboard?{query}", headers={"accept": "text/html,application/xhtml+xml"})
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    assert f'<p class="error" id="dates-error" role="alert">{message}' in r.text
    assert '<form class="filters" method="get" action="/dashboard">' in r.text and "<b>" not in r.text
    assert 'aria-current="page">Dashboard</a>' in r.text  # the app's header, on the dashboard
    assert_secured(r)


def test_a_query_a_page_cannot_take_is_a_page_for_a_browser_and_json_for_a_script(client: TestClient) -> None:
    """A bad query of any page (here the library's search, over its 200 characters)."""
    path = "/library?q=" + "x" * 201
    r = client.get(path, headers={"accept": "text/html"})
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    assert '<p class="error" id="invalid" role="alert">' in r.text and "q: " in r.text
    assert '<a href="/library">Start again</a>' in r.text and "x" * 201 not in r.text
    assert_secured(r)
    script = client.get(path)
    assert script.status_code == 422 and script.json()["errors"][0]["loc"] == ["query", "q"]


def test_dashboard_of_an_empty_period_renders(client: TestClient) -> None:
    r = client.get("/dashboard?since=2030-01-01")
    assert r.status_code == 200 and "No suggestions yet." in r.text and "simulated" not in r.text.lower()
    # an empty period is not one where "every suggestion showed an answer"; its versions table says why
    # it is empty
    lost = r.text.split('id="coverage-lost"')[1].split("</section>")[0]
    assert "Every suggestion in this period showed an answer" not in lost
    assert "No suggestions in this period." in lost
    versions = r.text.split("Pipeline versions that made suggestions")[1].split("</section>")[0]
    assert "No suggestions in this period." in versions
    # each chart says it has nothing to draw (it was an empty frame of axes)
    charts = r.text.split('<div class="grid3">')[1].split('<section class="panel spaced">')[0]
    assert charts.count("No data in this period.") == 3


def test_v1_metrics(client: TestClient) -> None:
    d = client.get("/v1/metrics").json()
    assert (d["match_rate"], d["adoption"], d["coverage"]) == (1.0, 1.0, 1.0)
    d = client.get(
        "/v1/metrics", params={"group_by": "day", "since": "2026-09-01", "until": "2026-12-01"}
    ).json()
    assert [g["key"] for g in d["groups"]] == ["2026-09-30"]
    assert client.get("/v1/metrics", params={"since": "2031-01-01"}).json()["match_rate"] is None


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"group_by": "week"}, "group_by='week' is not one of: day, topic, stage, model, arm"),
        ({"since": "last tuesday"}, "since='last tuesday' is not an ISO date"),
        ({"until": "2026-13-01"}, "until='2026-13-01' is not an ISO date"),
        ({"since": "2026-10-02", "until": "2026-10-01"}, "must be before until"),
    ],
)
def test_v1_metrics_bad_parameters_are_a_clear_422(
    client: TestClient, params: dict[str, str], says: str
) -> None:
    r = client.get("/v1/metrics", params=params)
    assert r.status_code == 422 and says in r.json()["detail"]


def test_dashboard_has_an_agent_table_and_a_help_desk_panel(client: TestClient, store: Store) -> None:
    # tom answers a suggestion of his own (a second reply to s0 would be a follow-up of its matched
    # reply: each suggestion is scored once, against its closest reply, as `report` scores it)
    store.cases.add_suggestions(
        [
            {
                "id": "s-tom",
                "case_id": "c1",
                "created_at": T0,
                "pipeline_version": "p1",
                "topic": "payouts",
                "text": "You can pause payouts in Settings.",
                "answer_id": "a1",
                "latency_ms": 12.0,
            },
        ]
    )
    store.events.add_many(
        [
            {
                "idempotency_key": "m1",
                "case_id": "c0",
                "suggestion_id": "s0",
                "kind": "shown",
                "agent_id": "maria",
            },
            {
                "idempotency_key": "m2",
                "case_id": "c1",
                "suggestion_id": "s-tom",
                "kind": "sent",
                "text": "Sorry, no.",
                "agent_id": "tom",
            },
        ]
    )
    page = client.get("/dashboard").text
    agents = page[page.index('id="agents"') :]
    agents = agents[: agents.index("</section>")]
    rows = {row.split("</th>")[0].rsplit(">", 1)[-1]: row for row in agents.split("<tr>")[2:]}
    assert set(rows) == {"maria", "tom"}
    assert ">100%</td>" in rows["maria"]  # adoption: shown and inserted
    assert ">0%</td>" in rows["tom"]  # match rate: his reply is not the suggestion
    panel = page[page.index('id="helpdesk-chatwoot"') :]
    assert "Notes are not posted: [chatwoot] base_url and api_token not set." in panel
    assert "/integrations/chatwoot/webhook" in panel


@pytest.mark.parametrize(
    ("query", "boxes"),
    [
        (
            "since=2026-10-01&until=2026-10-08",
            [
                'type="date" id="since" name="since" value="2026-10-01"',
                'type="date" id="until" name="until" value="2026-10-08"',
            ],
        ),
        (
            "since=2026-10-01T12:30&until=2026-10-08T00:00Z",
            [
                'type="datetime-local" id="since" name="since" value="2026-10-01T12:30"',
                'type="date" id="until" name="until" value="2026-10-08"',
            ],
        ),
        (
            "since=2026-10-01T14:30:15%2B02:00",
            ['type="datetime-local" id="since" name="since" value="2026-10-01T12:30:15" step="1"'],
        ),
    ],
)
def test_the_date_boxes_keep_a_time_of_day(client: TestClient, query: str, boxes: list[str]) -> None:
    """A range given with a time of day (a link, a bookmark) showed date boxes holding the day only, so
    Apply (say, after changing the other end) silently widened the range to whole days. A time of day
    now gets a date-and-time box in UTC, as the form's label says; a date keeps a date box."""
    r = client.get(f"/dashboard?{query}")
    assert r.status_code == 200
    for box in boxes:
        assert box in r.text, r.text[r.text.index('<form class="filters"') :][:600]


def test_an_unknown_address_is_a_page_for_a_browser_and_json_for_a_script(client: TestClient) -> None:
    """A mistyped address opened in a browser showed the raw JSON `{"detail":"Not Found"}`."""
    r = client.get("/dashbord", headers={"accept": "text/html"})
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert "<h1>Not found</h1>" in r.text and '<a href="/">Back to the inbox</a>' in r.text
    assert_secured(r)
    assert client.get("/dashbord").json() == {"detail": "Not Found"}
    assert client.get("/static/nothing.css", headers={"accept": "text/html"}).status_code == 404


def test_the_topics_table_names_the_suggestions_without_a_topic(client: TestClient, store: Store) -> None:
    """Its first row read "(none)", as if a topic were called that: the messages no topic was found for."""
    from tests.review.seed import _s

    store.cases.add_suggestions([_s("s-none", "c0", 0), _s("s-pay", "c0", 1, topic="payouts", text="x")])
    page = client.get("/dashboard").text
    topics = page[page.index('id="topics"') :].split("</table>")[0]
    assert '<th scope="row" class="rowhead"><span class="muted">no topic found</span></th>' in topics
    assert "(none)" not in topics


def test_an_empty_inbox_links_the_dashboard_only_for_whom_may_open_it(
    client: TestClient, store: Store
) -> None:
    """An agent's empty inbox linked to the dashboard, which answered them "Not allowed"."""
    for c in store.cases.list(status="open"):
        store.cases.set_status(c.id, "resolved")
    reviewer = client.get("/")
    assert "No open cases." in reviewer.text and '<a href="/dashboard">' in reviewer.text.split("<main")[1]
    agent = client.get("/", headers=authorize(store, "agent"))
    assert agent.status_code == 200 and "No open cases." in agent.text
    assert '<a href="/dashboard">' not in agent.text.split("<main")[1]


def test_the_inbox_counts_every_open_case_past_the_ones_it_lists(
    client: TestClient, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the cases it lists, the inbox said "5 open (newest 5)" of 8 open cases: the count was the
    length of the list. It says how many are open, and that the newest are listed."""
    from supportcue.service.routes import pages

    monkeypatch.setattr(pages, "INBOX_LIMIT", 5)
    store.cases.upsert([case(f"more{n}", "how do I pause a payout", "Eve", hours=3 + n) for n in range(5)])
    text = client.get("/").text
    assert len(re.findall(r'href="/cases/', text)) == 5
    heading = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", re.findall(r"<h1>(.*?)</h1>", text, re.S)[0]))
    assert heading == "Inbox 8 open (the newest 5 listed)"


def test_the_times_the_pages_show_say_they_are_utc(client: TestClient, store: Store) -> None:
    """The inbox showed each case's time as "Oct 01, 11:00" and the dashboard a model's promotion as
    "2026-10-01 12:30" with no zone, while the case page said UTC: an agent in New York read them
    as their own time. Each says UTC (and the inbox's machine-readable time carries its offset)."""
    store.models.add({"stage": "topic", "version": "v1", "artifact_path": "x", "fingerprint": "f"})
    store.models.promote("topic", "v1")
    inbox = client.get("/").text
    assert re.search(r'<time datetime="2026-10-01T11:00:00\+00:00">Oct 01, 11:00 UTC</time>', inbox), inbox
    models = re.findall(r'<td data-label="Promoted">([^<]*)</td>', client.get("/dashboard").text)
    assert len(models) == 1 and re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", models[0]), models


def test_the_inbox_pages_through_every_open_case(
    client: TestClient, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The inbox listed the newest 200 open cases and had no way to reach the others. An "Older cases"
    link (`?before=<created_at>,<id>`, keyset) lists the next ones; the last page has no such link, and
    every open case is listed once. Cases created at the same time are told apart by id; an address
    whose `before` is not a time and an id is a 422 page, never a 500."""
    from supportcue.service.routes import pages

    monkeypatch.setattr(pages, "INBOX_LIMIT", 3)
    same_time = [case(f"tie/{n}#", "how do I pause a payout", "Eve", hours=5) for n in range(3)]
    store.cases.upsert(same_time + [case(f"more{n}", "refund?", "Fay", hours=6 + n) for n in range(2)])
    seen: list[str] = []
    url = "/"
    pages_seen = 0
    while url:
        page = client.get(url)
        assert page.status_code == 200, page.text
        pages_seen += 1
        seen += [html.unescape(h) for h in re.findall(r'href="/cases/([^"]+)"', page.text)]
        older = re.findall(r'<a href="([^"]+)"[^>]*>Older cases</a>', page.text)
        url = html.unescape(older[0]) if older else ""
        assert pages_seen <= 4
    ids = [httpx.URL("/cases/" + s).path.removeprefix("/cases/") for s in seen]
    assert sorted(ids) == sorted(["c1", "c2", "c3", "more0", "more1", "tie/0#", "tie/1#", "tie/2#"])
    assert len(ids) == len(set(ids)) and pages_seen == 3
    assert ids[:2] == ["more1", "more0"]  # newest first, across pages
    for bad in ["?before=yesterday,c1", "?before=2026-10-01T11:00:00", "?before="]:
        wrong = client.get("/" + bad, headers={"accept": "text/html"})
        assert wrong.status_code == 422 and "before" in wrong.text, (bad, wrong.text)


def test_a_message_holding_a_bidi_override_is_shown_as_typed_with_the_override_marked(
    client: TestClient, store: Store
) -> None:
    """A customer's message is kept as typed, but a right-to-left override in it made the console show
    "invoice_fdp.exe" as "invoice_exe.pdf": the page marks each such character where it is."""
    message = "please open invoice_\u202efdp.exe and refund"
    store.cases.upsert([case("c-rlo", message, "Ana", hours=1)])
    assert store.cases.get("c-rlo").message == message
    page = client.get("/cases/c-rlo").text
    shown = re.search(r'<p id="message">(.*?)</p>', page, re.S)
    assert shown and "\u202e" not in shown[1]
    assert (
        'invoice_<span class="hidden-char" title="U+202E right-to-left override">[U+202E]</span>fdp.exe'
        in shown[1]
    )
    inbox = client.get("/").text
    assert "\u202e" not in inbox and "[U+202E]" in inbox
