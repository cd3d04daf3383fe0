"""Live data providers follow the store's version counter: a write shows after `ttl`, a read costs
one counter check per `ttl`, and an unchanged library is the same snapshot (so stages keep caches)."""

from __future__ import annotations

from supportcue.data.store import Store
from supportcue.providers import StoreArticles, StoreLibrary

ANSWER = {
    "id": "a1",
    "topic": "payouts",
    "title": "Pause",
    "body": "Pause payouts in Settings.",
    "status": "approved",
}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_library_refreshes_after_a_write_once_the_ttl_has_passed(store: Store) -> None:
    clock = Clock()
    library = StoreLibrary(store, ttl=1.0, clock=clock)
    assert library.snapshot().answers == ()
    store.library.upsert_answers([ANSWER])
    assert library.snapshot().answers == ()  # within the ttl: the cached snapshot
    clock.now = 1.5
    first = library.snapshot()
    assert [a.id for a in first.answers] == ["a1"] and first.answers[0].status == "approved"
    clock.now = 3.0
    assert library.snapshot() is first  # the counter did not move: the same snapshot object
    store.library.set_answer_status("a1", "retired")
    clock.now = 4.5
    retired = library.snapshot()
    assert retired is not first and retired.answers[0].status == "retired"
    assert retired.version > first.version


def test_articles_follow_the_same_counter(store: Store) -> None:
    clock = Clock()
    articles = StoreArticles(store, ttl=0.5, clock=clock)
    assert articles.snapshot().articles == ()
    store.library.upsert_articles(
        [{"id": "kb1", "title": "Payouts", "body": "How payouts work.", "topic": "payouts"}]
    )
    clock.now = 1.0
    assert [(a.id, a.topic) for a in articles.snapshot().articles] == [("kb1", "payouts")]
