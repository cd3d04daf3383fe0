"""Per-answer figures and the attention list of /library (`monitoring/library.py`), on hand-built
suggestions and events in a real store (both databases)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from supportcue.data.library import AnswerChange
from supportcue.data.store import Store
from supportcue.monitoring.library import answer_figures, attention, common_edit

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
PAUSE = "You can pause payouts from Settings > Payouts at any time."
REWRITE = "Payouts can be paused for up to 30 days from Settings > Payouts > Pause."
GONE = "Pausing payouts is no longer offered: ask your account manager to hold them."


def _s(sid: str, answer_id: str, days_ago: float, text: str = PAUSE) -> dict[str, Any]:
    return {
        "id": sid,
        "case_id": f"c-{sid}",
        "created_at": NOW - timedelta(days=days_ago),
        "pipeline_version": "p1",
        "topic": "payouts",
        "answer_id": answer_id,
        "text": text,
        "mode": "live",
        "latency_ms": 1.0,
    }


def _e(sid: str, kind: str, days_ago: float, **kw: Any) -> dict[str, Any]:
    ts = NOW - timedelta(days=days_ago) + timedelta(minutes=5)
    return {
        "idempotency_key": f"{sid}-{kind}",
        "case_id": f"c-{sid}",
        "suggestion_id": sid,
        "kind": kind,
        "ts": ts,
    } | kw


def _seed(store: Store) -> None:
    store.library.upsert_answers(
        [
            {
                "id": "pause",
                "topic": "payouts",
                "title": "Pause",
                "body": PAUSE,
                "status": "approved",
                "owner": "olga",
                "review_due_at": NOW - timedelta(days=3),
            },
            {
                "id": "refund",
                "topic": "refunds",
                "title": "Refund",
                "body": "Refunds take 5 days.",
                "status": "draft",
            },
        ]
    )
    suggestions, events = [], []
    # 30-50 days ago: 6 suggestions, all sent as suggested; the last 14 days: 6 more, 5 rewritten
    for i in range(12):
        days = 50 - 3 * i if i < 6 else 12 - 2 * (i - 6)
        sid = f"libfig-s{i}"  # unique: metrics caches similarities by (event id, suggestion id) per process
        suggestions.append(_s(sid, "pause", days))
        events.append(_e(sid, "shown", days))
        if i in (3, 7):
            events.append(_e(sid, "dismissed", days, reason="outdated"))
            continue
        events.append(_e(sid, "inserted", days))
        sent = f"Hi Ana,\n{REWRITE}\nBest,\nSam" if i >= 7 else f"Hi Ana,\n{PAUSE}"
        events.append(_e(sid, "sent", days, text=sent))
    store.cases.upsert(
        [{"id": s["case_id"], "message": "pause?", "customer_name": "Ana"} for s in suggestions]
    )
    store.cases.add_suggestions(suggestions)
    store.events.add_many(events)


def test_figures_per_answer(store: Store) -> None:
    _seed(store)
    f = answer_figures(store, threshold=0.7, now=NOW)["pause"]
    assert (f.suggested, f.shown, f.inserted, f.dismissed) == (12, 12, 10, 2)
    assert dict(f.dismiss_reasons) == {"outdated": 2}
    assert f.adoption == round(10 / 12, 4)
    # sent: 5 before (all match), 5 in the last 14 days (i = 6 matches, 7 dismissed, 8-11 rewritten)
    assert (f.sent, f.matches) == (10, 6)
    assert f.recent == [5, 1] and f.earlier_rate == 1.0 and f.recent_rate == 0.2
    assert f.trend == [1.0, 1.0, 1.0, None, None, None, 0.5, 0.0]  # weeks 7..0 before NOW
    assert len(f.rewrites) == 4 and all("{customer_name}" not in r and "Ana" not in r for r in f.rewrites)


def test_attention_lists_overdue_drop_uncovered_and_rewritten(store: Store) -> None:
    _seed(store)
    answers = store.library.answers()
    figures = answer_figures(store, threshold=0.7, now=NOW)
    items = attention(answers, ["payouts", "refunds", "disputes"], figures, now=NOW)
    kinds = [(i["kind"], i["answer_id"] or i["topic"]) for i in items]
    assert kinds == [
        ("overdue", "pause"),
        ("match_drop", "pause"),
        ("no_approved_answer", "disputes"),
        ("no_approved_answer", "refunds"),
        ("rewritten", "pause"),
    ]
    assert items[0]["owner"] == "olga"
    assert items[-1]["proposal"] == REWRITE  # greeting and sign-off gone


def test_common_edit_keeps_what_agents_share() -> None:
    texts = [
        "Pause payouts in Settings for 30 days.",
        "Pause payouts in Settings for 30 days now.",
        "Call us.",
    ]
    assert common_edit(texts) == texts[0]
    assert common_edit([]) is None
    assert common_edit(["Call us.", "Write to us."]) is None  # nothing two agents share


CUSTOMERS = ["Ana Lopez", "Ben Okafor", "Chiara Rossi", "Dev Patel", "Emma Stone"]
ONE_OFF = [  # a sentence only one agent wrote, about that customer's own case
    "I also see your order 44172 was shipped to 12 Elm Road.",
    "You can reach me directly at sam.keller@example.com.",
    "Your IBAN ending 0450 is the one on file.",
    "I have noted your phone number +44 20 7946 0958.",
    "Your dispute 88-1932 is closed.",
]


def test_the_rewritten_proposal_is_the_consensus_of_the_rewrites(store: Store) -> None:
    """The "rewritten" proposal was the medoid rewrite: one agent's whole reply, so a sentence
    about that agent's case (an order, an address, an email) went into the proposal with it. It is
    now the rewrites' consensus draft (`consensus.py`): whole sentences that at least two of the
    rewrites share (in their most common wording), the customer's name of each case made
    `{customer_name}` first, placeholders kept."""
    store.library.upsert_answers(
        [{"id": "pause", "topic": "payouts", "title": "Pause", "body": PAUSE, "status": "approved"}]
    )
    suggestions, events, cases = [], [], []
    for i, (name, one_off) in enumerate(zip(CUSTOMERS, ONE_OFF, strict=True)):
        sid = f"libcons-s{i}"
        suggestions.append(_s(sid, "pause", 3))
        first = name.split()[0]
        core = [
            f"{first}, payouts can be paused for up to 30 days from Settings > Payouts > Pause.",
            "Your {{Order Number}} stays as it is while they are paused.",
            "Scheduled transfers resume the day after the pause ends."
            if i % 2
            else "Transfers scheduled resume the day after your pause ends.",
        ]
        core.insert(i % 3, one_off)
        events.append(_e(sid, "sent", 3, text=f"Hi {first},\n" + " ".join(core) + "\nBest,\nSam"))
        cases.append({"id": f"c-{sid}", "message": "pause?", "customer_name": name})
    store.cases.upsert(cases)
    store.cases.add_suggestions(suggestions)
    store.events.add_many(events)
    figures = answer_figures(store, threshold=0.7, now=NOW)
    assert len(figures["pause"].rewrites) == 5
    (item,) = [
        i for i in attention(store.library.answers(), [], figures, now=NOW) if i["kind"] == "rewritten"
    ]
    proposal = item["proposal"]
    assert proposal.startswith("{customer_name}, payouts can be paused for up to 30 days")
    assert "{{Order Number}}" in proposal and "resume the day after" in proposal
    assert not any(part in proposal for name in CUSTOMERS for part in name.split()), proposal
    assert not any(one_off in proposal for one_off in ONE_OFF), proposal
    assert not any(mark in proposal for mark in ("@", "44172", "0450", "7946", "88-1932", "Hi ", "Sam"))


def test_rewrites_with_nothing_in_common_are_listed_without_a_proposal(store: Store) -> None:
    store.library.upsert_answers(
        [{"id": "pause", "topic": "payouts", "title": "Pause", "body": PAUSE, "status": "approved"}]
    )
    sent = ["Call the bank first.", "We need a scan of your ID card.", "Try again in an hour, please."]
    suggestions = [_s(f"libnone-s{i}", "pause", 3) for i in range(3)]
    store.cases.upsert([{"id": s["case_id"], "message": "pause?"} for s in suggestions])
    store.cases.add_suggestions(suggestions)
    store.events.add_many([_e(f"libnone-s{i}", "sent", 3, text=t) for i, t in enumerate(sent)])
    figures = answer_figures(store, threshold=0.7, now=NOW)
    (item,) = [
        i for i in attention(store.library.answers(), [], figures, now=NOW) if i["kind"] == "rewritten"
    ]
    assert "proposal" not in item and "no sentence that two of them share" in item["what"]


def test_an_answers_adoption_counts_an_insert_whose_shown_event_was_lost(store: Store) -> None:
    """/library's per-answer adoption counted `shown` events only: an answer inserted twice, one of
    them with no `shown` event, read "2 inserted / 1 shown", an adoption of 200%. A suggestion
    dismissed twice is one dismissal (under the smaller reason, as the online metrics count it)."""
    suggestions = [_s(f"libseen-s{i}", "pause", 2) for i in range(3)]
    events = [
        _e("libseen-s0", "shown", 2),
        _e("libseen-s0", "inserted", 2),
        _e("libseen-s1", "inserted", 2),  # its `shown` event never arrived
        _e("libseen-s2", "shown", 2),
        _e("libseen-s2", "dismissed", 2, reason="tone"),
        _e("libseen-s2", "dismissed", 2.5, reason="outdated", idempotency_key="libseen-s2-again"),
    ]
    store.cases.upsert([{"id": s["case_id"], "message": "pause?"} for s in suggestions])
    store.cases.add_suggestions(suggestions)
    store.events.add_many(events)
    f = answer_figures(store, 0.7, NOW)["pause"]
    assert (f.shown, f.inserted, f.adoption, f.dismissed) == (3, 2, 0.6667, 1)
    assert dict(f.dismiss_reasons) == {"outdated": 1}


def test_the_proposal_makes_each_cases_field_values_placeholders_again(store: Store) -> None:
    """Agents rewrote the answer with each customer's charge id and amount in it: the proposal kept
    the one its medoid case had, and "Edit with it" put that customer's charge id (a wrong fact, and
    someone's data) into the answer every customer gets. Its field values become placeholders again,
    as the customer's name does; a value too short to be told from a word stays."""
    store.library.upsert_answers(
        [
            {
                "id": "refund",
                "topic": "refunds",
                "title": "Refund",
                "body": "Refunds take 5 days.",
                "status": "approved",
            }
        ]
    )
    suggestions, events, cases = [], [], []
    for i in range(4):
        sid = f"libfields-s{i}"
        suggestions.append(_s(sid, "refund", 3 + i, text="Refunds take 5 days."))
        charge, amount = f"ch_{i}Q7xK{i}pLm", f"${100 + i}.50"
        sent = (
            f"Hi Bo,\nThe refund of {amount} on {charge} left us; yes, it reaches the card within 10 days. EU"
        )
        events += [_e(sid, "shown", 3 + i), _e(sid, "sent", 3 + i, text=sent)]
        fields = {"charge_id": charge, "amount": amount, "region": "EU", "vip": "yes"}
        cases.append({"id": f"c-{sid}", "message": "refund?", "customer_name": "Bo", "fields": fields})
    store.cases.upsert(cases)
    store.cases.add_suggestions(suggestions)
    store.events.add_many(events)
    figures = answer_figures(store, threshold=0.7, now=NOW)
    items = attention(store.library.answers(), ["refunds"], figures, now=NOW)
    proposal = next(i["proposal"] for i in items if i["kind"] == "rewritten")
    assert (
        proposal
        == "The refund of {amount} on {charge_id} left us; yes, it reaches the card within 10 days. EU"
    )


@pytest.mark.parametrize("act", ["new_version", "reviewed"])
def test_a_rewritten_or_dropping_answer_leaves_the_list_once_a_reviewer_has_acted_on_it(
    store: Store, act: str
) -> None:
    """The rewritten and match-drop items count the suggestions made since a reviewer last saved
    the answer's text or marked it reviewed: they said "agents rewrote 4 of 5 replies sent after it"
    and kept the proposal up, for 8 weeks, after the reviewer had saved the agents' common edit
    (with a greeting, say) as its new version or judged it fine."""
    _seed(store)

    def kinds() -> list[str]:
        figures = answer_figures(store, threshold=0.7, now=NOW)
        answers = store.library.answers()
        handled = store.library.last_edited()
        items = attention(answers, [], figures, now=NOW, handled=handled)
        return [i["kind"] for i in items if i["answer_id"] == "pause"]

    assert kinds() == ["overdue", "match_drop", "rewritten"]
    then = NOW - timedelta(days=1)  # after the last suggestion (2 days ago)
    if act == "new_version":
        change = AnswerChange(body=f"Hi {{customer_name}},\n{REWRITE}", base_version=1)
        store.library.save_answer("pause", change, "olga", 90, now=then)
        assert kinds() == ["overdue"]  # saved, not reviewed: still overdue
    else:
        store.library.save_answer("pause", AnswerChange(reviewed=True, base_version=1), "olga", 90, now=then)
        assert kinds() == []
    # agents rewriting the new version again brings the item back, over the replies since
    suggestions, events = [], []
    for i in range(4):
        sid = f"libfig-after-{act}-{i}"
        suggestions.append(_s(sid, "pause", 0.5 - i / 10))
        events += [_e(sid, "shown", 0.5 - i / 10), _e(sid, "sent", 0.5 - i / 10, text=f"Hi Ana,\n{GONE}")]
    store.cases.upsert(
        [{"id": s["case_id"], "message": "pause?", "customer_name": "Ana"} for s in suggestions]
    )
    store.cases.add_suggestions(suggestions)
    store.events.add_many(events)
    assert "rewritten" in kinds()


def test_what_reviewers_found_wrong_with_an_answer_reaches_the_library(store: Store) -> None:
    """A reviewer who judged a suggestion incorrect, flagged it outdated and wrote the corrected
    reply in /review reached nobody: the review became labels, and the answer, its owner and the
    library page never heard of it. It is an attention item now (with the corrected reply), until
    the answer is saved or marked reviewed."""
    from supportcue.monitoring.library import reviewer_findings

    _seed(store)
    corrected = "Payouts can no longer be paused; a manual payout schedule does the same."
    for n, (sid, verdict, flags, text, kind) in enumerate(
        [
            ("libfig-s11", "incorrect", ["outdated"], corrected, "suggestion"),
            ("libfig-s10", "partially_correct", ["incorrect_fact"], None, "suggestion"),
            ("libfig-s9", "correct", [], None, "suggestion"),  # judged right: no finding
            ("libfig-s8", "incorrect", [], None, "message"),  # judges the topic, not the answer
        ]
    ):
        item = f"ri_libfig{n}"
        store.reviews.add_items(
            [
                {
                    "id": item,
                    "key": f"{kind}:{sid}",
                    "kind": kind,
                    "reason": "random",
                    "score": 0.0,
                    "reviews_wanted": 1,
                    "created_at": NOW,
                    "case_id": f"c-{sid}",
                    "suggestion_id": sid,
                    "topic": "payouts",
                    "details": {},
                    "simulated": False,
                }
            ]
        )
        review = {"item_id": item, "reviewer": "user:olga", "verdict": verdict, "flags": flags}
        store.reviews.record({**review, "corrected_text": text, "created_at": NOW}, [])

    def items() -> list[dict[str, Any]]:
        found = attention(
            store.library.answers(),
            [],
            answer_figures(store, threshold=0.7, now=NOW),
            now=NOW,
            handled=store.library.last_edited(),
            findings=reviewer_findings(store, now=NOW),
        )
        return [i for i in found if i["kind"] == "judged_wrong"]

    (item,) = items()
    assert item["answer_id"] == "pause" and item["owner"] == "olga"
    assert (
        item["what"]
        == "reviewers judged 2 of 3 reviewed suggestions not correct (incorrect fact 1, outdated 1)"
    )
    assert item["corrections"] == [corrected]
    change = AnswerChange(body=corrected, base_version=1)
    store.library.save_answer("pause", change, "olga", 90, now=NOW - timedelta(hours=1))
    assert items() == []  # acted on: what reviewers said of the old text is answered
