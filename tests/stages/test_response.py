"""The response stage: ranking approved answers per topic from history, and every abstention path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from supportcue.embeddings import HashingEmbedder
from supportcue.errors import NotFittedError
from supportcue.settings import Settings
from supportcue.stages.base import Message, Services
from supportcue.stages.library import StaticLibrary
from supportcue.stages.response import LibraryAnswer, ResponseStage

EMB = HashingEmbedder(dim=512)
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)

PAUSE = "You can pause payouts under Settings > Payouts. Payments keep arriving while payouts are paused."
SCHEDULE = "You can change your payout schedule to weekly or monthly under Settings > Payouts > Schedule."
REFUND = "Hi {customer_name}, refunds for order {order_id} take 5 to 10 business days to reach the card."

LIBRARY = [
    LibraryAnswer("pause", "payouts", "Pause payouts", PAUSE),
    LibraryAnswer("schedule", "payouts", "Payout schedule", SCHEDULE),
    LibraryAnswer("refund", "refunds", "Refund timing", REFUND),
    LibraryAnswer("old", "payouts", "Old payouts answer", "Payouts cannot be paused.", status="retired"),
    LibraryAnswer("draft", "payouts", "Draft", "Draft text about payouts.", status="draft"),
]

HISTORY = [
    ("how do I pause my payouts", "payouts", "Hi Ana,\n" + PAUSE + "\nBest,\nSam"),
    ("can I stop payouts for a while", "payouts", PAUSE),
    ("pause payouts please", "payouts", PAUSE + " Anything else?"),
    ("change payout schedule to monthly", "payouts", SCHEDULE),
    ("weekly payouts instead of daily", "payouts", "Hello,\n" + SCHEDULE),
    ("where is my refund", "refunds", REFUND.replace("{customer_name}", "Bo").replace("{order_id}", "A-1")),
    ("something unrelated", "payouts", "I'll check with the team and get back to you."),
]


class FixedClock:
    """A picklable clock for deterministic review-due checks."""

    def __init__(self, when: datetime) -> None:
        self.when = when

    def __call__(self) -> datetime:
        return self.when


def msg(text: str, topic: str | None = None, **kwargs: object) -> Message:
    return Message(text=text, vector=EMB.embed([text])[0], topic=topic, **kwargs)  # type: ignore[arg-type]


def update_library(stage: ResponseStage, answers: list[LibraryAnswer]) -> None:
    """What a live provider does when the library changes: the stage sees the new snapshot."""
    stage.bind(Services(embedder=EMB, clock=FixedClock(NOW), library=StaticLibrary(answers)))


def fitted(**kwargs: object) -> ResponseStage:
    stage = ResponseStage(min_score=0.05, **kwargs).bind(Services(embedder=EMB, clock=FixedClock(NOW)))  # type: ignore[arg-type]
    X = [msg(text, topic) for text, topic, _ in HISTORY]
    return stage.fit(X, library=LIBRARY, replies=[reply for _, _, reply in HISTORY])


def test_fit_returns_self_and_learns_from_replies() -> None:
    stage = ResponseStage().bind(Services(embedder=EMB))
    assert (
        stage.fit([msg(t, k) for t, k, _ in HISTORY], library=LIBRARY, replies=[r for *_, r in HISTORY])
        is stage
    )
    assert stage.counts_ == {"pause": 3.0, "schedule": 2.0, "refund": 1.0}
    assert stage.n_matched_ == 6  # the "I'll check" reply matches no answer


def test_predict_before_fit_raises() -> None:
    with pytest.raises(NotFittedError):
        ResponseStage().predict([msg("hi", "payouts")])


def test_picks_the_answer_whose_questions_look_alike() -> None:
    stage = fitted()
    pause, schedule = stage.predict(
        [msg("please pause my payouts", "payouts"), msg("monthly payout schedule", "payouts")]
    )
    assert pause.label == "pause" and not pause.abstained
    assert pause.extra["text"] == PAUSE
    assert [a["id"] for a in pause.extra["alternatives"]] == ["schedule"]
    assert schedule.label == "schedule"
    for result in (pause, schedule):
        assert 0.0 <= result.confidence <= 1.0 and 0.0 <= result.extra["score"] <= 1.0


def test_y_gives_answer_ids_directly() -> None:
    X = [msg(t, k) for t, k, _ in HISTORY[:5]]
    stage = ResponseStage().fit(X, ["schedule"] * 5, library=LIBRARY)
    assert stage.counts_ == {"schedule": 5.0}
    assert stage.predict([msg("pause payouts", "payouts")])[0].label == "schedule"


def test_retired_and_draft_answers_are_never_suggested() -> None:
    stage = fitted()
    results = stage.predict(
        [msg("Payouts cannot be paused", "payouts"), msg("Draft text about payouts", "payouts")]
    )
    assert {r.label for r in results} <= {"pause", "schedule"}


def test_fills_placeholders_from_the_case() -> None:
    result = fitted().predict(
        [msg("where is my refund", "refunds", customer_name="Ana Lee", fields={"Order ID": "B-7"})]
    )[0]
    assert not result.abstained
    # A name opening the answer is a greeting: the first name.
    assert (
        result.extra["text"] == "Hi Ana, refunds for order B-7 take 5 to 10 business days to reach the card."
    )


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (msg("where is my refund", None), "no topic"),
        (msg("where is my refund", "disputes"), "no approved answer for topic 'disputes'"),
        (msg("where is my refund", "refunds", customer_name="Ana"), "cannot fill: order_id"),
    ],
)
def test_abstains_with_a_reason(message: Message, reason: str) -> None:
    result = fitted().predict([message])[0]
    assert result.abstained and result.reason and reason in result.reason
    assert "{" not in str(result.extra.get("text", ""))


def test_an_unknown_customer_name_never_makes_it_abstain() -> None:
    # The README's `supportcue suggest "How can I pause my payouts?"` abstained: {customer_name} unfilled.
    result = fitted().predict([msg("where is my refund", "refunds", fields={"order_id": "A-1"})])[0]
    assert not result.abstained
    assert result.extra["text"] == "Hi, refunds for order A-1 take 5 to 10 business days to reach the card."
    greeting_line = "Hi {customer_name},\n\nRefunds take 5 to 10 days, {customer_name}."
    stage = fitted(nameless_greeting="Hello!")
    update_library(stage, [LibraryAnswer("r", "refunds", "Refunds", greeting_line)])
    assert (
        stage.predict([msg("refund", "refunds")])[0].extra["text"] == "Hello!\n\nRefunds take 5 to 10 days."
    )
    named = stage.predict([msg("refund", "refunds", customer_name="Ana Lee")])[0]
    assert named.extra["text"] == "Hi Ana,\n\nRefunds take 5 to 10 days, Ana Lee."


def test_workspace_constants_fill_what_the_case_does_not_and_a_fact_still_abstains() -> None:
    answer = "Call {support_phone} or see {help_center_url} about order {order_id}."
    stage = fitted(constants={"support_phone": "+1 555 0100", "help_center_url": "https://help.example.com"})
    update_library(stage, [LibraryAnswer("r", "refunds", "Refunds", answer)])
    filled = stage.predict([msg("refund", "refunds", fields={"order_id": "A-1", "support_phone": "+44 20"})])[
        0
    ]
    assert filled.extra["text"] == "Call +44 20 or see https://help.example.com about order A-1."
    unfilled = stage.predict([msg("refund", "refunds")])[0]
    assert (
        unfilled.abstained and unfilled.reason == "answer r has placeholders the case cannot fill: order_id"
    )


def test_policy_comes_from_the_settings_also_for_a_model_saved_before_it_existed(tmp_path: Path) -> None:
    settings = Settings(placeholders={"support_phone": "+1 555 0100"}, tone={"greeting_fallback": "Hello,"})
    stage = fitted()
    for name in ("constants", "nameless_greeting"):  # as pickled by an earlier version
        del stage.__dict__[name]
    loaded = ResponseStage.load(stage.save(tmp_path / "response.joblib")).apply_policy(settings)
    assert loaded.constants == {"support_phone": "+1 555 0100"} and loaded.nameless_greeting == "Hello,"


def test_abstains_below_min_score() -> None:
    stage = fitted()
    stage.min_score = 0.99
    result = stage.predict([msg("zzz qqq", "payouts")])[0]
    assert result.abstained and "min_score" in str(result.reason)


def test_unfilled_placeholders_are_allowed_when_not_required() -> None:
    result = fitted(require_filled_placeholders=False).predict([msg("where is my refund", "refunds")])[0]
    assert not result.abstained and "{order_id}" in result.extra["text"]


def test_overdue_best_answer_abstains_and_library_updates_without_refit() -> None:
    stage = fitted()
    overdue = [
        LibraryAnswer(a.id, a.topic, a.title, a.body, a.status, NOW - timedelta(days=3), a.version + 1)
        if a.id == "pause"
        else a
        for a in LIBRARY
    ]
    update_library(stage, overdue)
    result = stage.predict([msg("please pause my payouts", "payouts")])[0]
    assert result.abstained and result.reason == "answer pause overdue for review since 2025-05-29"
    stage.review_grace_days = 7
    assert not stage.predict([msg("please pause my payouts", "payouts")])[0].abstained
    update_library(stage, [a for a in LIBRARY if a.id != "pause"])
    assert stage.predict([msg("please pause my payouts", "payouts")])[0].label == "schedule"


def test_new_answer_without_history_uses_its_body_vector() -> None:
    stage = fitted()
    update_library(
        stage,
        [*LIBRARY, LibraryAnswer("dispute", "disputes", "Disputes", "Respond to a dispute with evidence.")],
    )
    assert (
        stage.predict([msg("how do I respond to a dispute with evidence", "disputes")])[0].label == "dispute"
    )


def test_refit_forgets_old_history() -> None:
    stage = fitted()
    stage.fit([msg("x", "payouts")], ["schedule"], library=LIBRARY)
    assert stage.counts_ == {"schedule": 1.0}


def test_save_load_round_trip(tmp_path: Path) -> None:
    stage = fitted()
    batch = [msg("please pause my payouts", "payouts"), msg("where is my refund", "refunds")]
    loaded = ResponseStage.load(stage.save(tmp_path / "response.joblib"))
    update_library(loaded, LIBRARY)  # the library is a service: bound after load, never saved
    assert [r.as_dict() for r in loaded.predict(batch)] == [r.as_dict() for r in stage.predict(batch)]


def test_empty_and_huge_messages() -> None:
    stage = fitted()
    results = stage.predict([msg("", "payouts"), msg("pause payouts " * 2_000, "payouts")])
    assert len(results) == 2
    assert all(0.0 <= r.confidence <= 1.0 for r in results)
    assert all(r.abstained == bool(r.reason) for r in results)
    assert stage.predict([]) == []


def test_message_without_vector_is_embedded_or_abstains() -> None:
    stage = fitted()
    assert stage.predict([Message("please pause my payouts", topic="payouts")])[0].label == "pause"
    stage.embedder = None
    assert stage.predict([Message("pause", topic="payouts")])[0].abstained


def test_fit_validates_its_inputs() -> None:
    with pytest.raises(ValueError, match="replies has 1 items"):
        ResponseStage().fit([msg("a"), msg("b")], library=LIBRARY, replies=["x"])
    with pytest.raises(ValueError, match="unique"):
        ResponseStage().fit([], library=[LIBRARY[0], LIBRARY[0]])
    with pytest.raises(ValueError, match="no vector"):
        ResponseStage().fit([Message("a")], library=LIBRARY)


def test_fit_without_history_and_without_embedder_ranks_by_prior_only() -> None:
    stage = ResponseStage(min_score=0.0).fit([], library=LIBRARY)
    result = stage.predict([Message("pause", vector=np.ones(4, dtype=np.float32) / 2, topic="payouts")])[0]
    assert result.label in {"pause", "schedule"} and 0.0 <= result.confidence <= 1.0


def test_ranks_by_what_agents_wrote_to_look_alike_questions_even_without_matches() -> None:
    """No past reply reaches the match threshold, yet the ranking follows the replies' wording: the
    answer most like what agents sent to the nearest past questions wins over one whose body merely
    shares the question's words, and an answer approved after training is scored the same way."""
    timing = "Expect the money back on the card within one to two working weeks."
    lookalike = "How many days refunds take varies: open the Payments page and pick the refund."
    library = [
        LibraryAnswer("timing", "refunds", "Timing", timing),
        LibraryAnswer("lookalike", "refunds", "Payments page", lookalike),
    ]
    history = [
        ("how many days do refunds take", "Expect the money back on your card within one to two weeks."),
        ("how long does a refund take", "You should get the money back within one to two working weeks."),
        ("where can I see my refund", "The Payments page lists every refund with its status."),
    ]
    stage = ResponseStage(min_score=0.0, match_threshold=0.99).bind(Services(embedder=EMB))
    stage.fit([msg(q, "refunds") for q, _ in history], library=library, replies=[r for _, r in history])
    assert stage.n_matched_ == 0 and stage.counts_ == {}
    chosen = stage.predict([msg("how many days do refunds take", "refunds")])[0]
    assert chosen.label == "timing"
    # The abstention gate reads how well the message fits the topic's answers: the best cosine.
    assert chosen.extra["score"] >= max(a["score"] for a in chosen.extra["alternatives"])

    later = "Expect the money back on your card within one to two weeks."  # approved after training
    update_library(stage, [*library, LibraryAnswer("later", "refunds", "Later", later)])
    assert stage.predict([msg("how many days do refunds take", "refunds")])[0].label == "later"
