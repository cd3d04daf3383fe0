"""The repository layer on every backend: migrations, upserts, idempotent events, model registry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select

from supportcue.data.database import make_engine
from supportcue.data.store import Store, open_store
from supportcue.data.tables import TABLES, Base, SuggestionClaim

T0 = datetime(2026, 10, 1, 9, 30, tzinfo=UTC)


def test_migrations_create_every_table_and_are_repeatable(empty_database_url: str) -> None:
    database_url = empty_database_url
    first = open_store(database_url)
    assert set(TABLES) <= set(first.db.table_names())
    assert "alembic_version" in first.db.table_names()
    first.library.upsert_topics([{"key": "refunds", "name": "Refunds", "description": "d"}])
    first.close()
    again = open_store(database_url)  # upgrading an up-to-date database changes nothing
    assert [t.key for t in again.library.topics()] == ["refunds"]
    columns = {c["name"] for c in inspect(again.db.engine).get_columns("labels")}
    assert {"source", "annotator", "confidence", "expires_at"} <= columns
    again.close()


def test_upgrade_from_the_first_revision(empty_database_url: str) -> None:
    from alembic import command

    from supportcue.data.database import alembic_config, current_revision, head_revision, make_engine

    engine = make_engine(empty_database_url)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
    assert current_revision(engine) == "0001"
    engine.dispose()
    store = open_store(empty_database_url)
    assert current_revision(store.db.engine) == head_revision()
    assert "data_versions" in store.db.table_names()
    assert store.library.version() == 0
    store.close()


def _as_released(url: str, base: str, applied: tuple[str, ...], stamp: str) -> None:
    """A database as an earlier release left it: migrated to `base`, then the migrations `applied`
    (by file name) run on top, and stamped `stamp`, as when those migrations had other parents."""
    import importlib

    from alembic import command
    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    from supportcue.data.database import alembic_config, make_engine

    engine = make_engine(url)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, base)
        with Operations.context(MigrationContext.configure(connection)):
            for name in applied:
                importlib.import_module(f"supportcue.data.migrations.versions.{name}").upgrade()
        command.stamp(config, stamp)
    engine.dispose()


@pytest.mark.parametrize(
    ("base", "applied", "stamp", "skipped"),
    [
        # main at 52d52ab: 0005 followed 0002; 0004 came in later, before 0005
        ("0002", ("0005_model_integrity",), "0005", "0004"),
        # the conversations release: 0011 followed 0003; 0014 came in later, before 0011
        ("0003", ("0011_conversations",), "0011", "0014"),
    ],
)
def test_a_database_made_before_a_migration_was_rechained_gets_that_migration(
    empty_database_url: str, base: str, applied: tuple[str, ...], stamp: str, skipped: str
) -> None:
    """Alembic took `skipped` as applied (it precedes `stamp` in today's chain), so a workspace of that
    release lacked its columns: every suggestion failed (503 'the database cannot be reached')."""
    _as_released(empty_database_url, base, applied, stamp)
    store = open_store(empty_database_url)
    events = {c["name"] for c in inspect(store.db.engine).get_columns("events")}
    experiments = {c["name"] for c in inspect(store.db.engine).get_columns("experiments")}
    assert {"caller", "fingerprint"} <= events and {"control", "coverage", "metrics"} <= experiments
    assert store.experiments.list() == []
    row = {"idempotency_key": "k1", "case_id": "c1", "kind": "shown", "ts": T0, "received_at": T0}
    assert store.events.add({**row, "caller": "key:a"})[1] and store.events.add({**row, "caller": "key:b"})[1]
    store.close()


MIGRATE_AT = """
import sys, time
from supportcue.data.database import make_engine, migrate
url, start = sys.argv[1], float(sys.argv[2])
engine = make_engine(url)
time.sleep(max(0.0, start - time.time()))
migrate(engine)
"""


def test_processes_upgrading_one_database_at_once_all_succeed(empty_database_url: str) -> None:
    """Several processes opening an old database together (the workers or machines of a deploy, a
    cron job beside `serve`) each upgrade it: one does, the others wait for it and find it current,
    rather than fail on a table the first one created."""
    import subprocess
    import sys
    import time

    from supportcue.data.database import current_revision, head_revision

    start = str(time.time() + 4)  # every process imported and connected, then all at once
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", MIGRATE_AT, empty_database_url, start],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], "\n".join(outputs)
    engine = make_engine(empty_database_url)
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_open_store_on_a_current_database_skips_alembic(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from alembic import command

    def upgrade(*args: object, **kwargs: object) -> None:
        raise AssertionError("Alembic's upgrade ran on a current database")

    monkeypatch.setattr(command, "upgrade", upgrade)
    open_store(database_url).close()


def test_cases_upsert_by_external_id(store: Store) -> None:
    row = {"id": "c1", "message": "hi", "created_at": T0, "fields": {"order_id": "A-1"}}
    store.cases.upsert([row])
    store.cases.upsert([{**row, "message": "How do I pause payouts?"}])
    assert store.db.count("cases") == 1
    case = store.cases.get("c1")
    assert case is not None
    assert case.message == "How do I pause payouts?"
    assert case.fields == {"order_id": "A-1"}
    assert case.created_at == T0  # aware UTC in, aware UTC out


def test_a_help_desks_status_changes_apply_in_the_order_they_happened(store: Store) -> None:
    store.cases.upsert([{"id": "c1", "message": "hi", "created_at": T0}])
    later, latest = T0 + timedelta(minutes=5), T0 + timedelta(minutes=9, microseconds=250_000)
    assert store.cases.follow_status("c1", "resolved", latest)
    assert not store.cases.follow_status("c1", "open", later)  # came late: the case stays resolved
    case = store.cases.get("c1")
    assert case is not None and (case.status, case.status_changed_at) == ("resolved", latest)
    assert store.cases.follow_status("c1", "resolved", latest)  # the same change again: no change
    assert store.cases.get("c1").status == "resolved"  # type: ignore[union-attr]
    assert not store.cases.follow_status("c2", "open", latest)  # no such case
    store.cases.set_status("c1", "open")  # the console's change applies whatever came before
    case = store.cases.get("c1")
    assert case is not None and case.status == "open" and case.status_changed_at > latest  # type: ignore[operator]


def test_events_are_idempotent(store: Store) -> None:
    event = {"idempotency_key": "k1", "case_id": "c1", "kind": "shown", "ts": T0}
    stored, created = store.events.add(event)
    assert created
    again, created_again = store.events.add({**event, "kind": "sent"})
    assert not created_again
    assert again.id == stored.id and again.kind == "shown"
    assert store.db.count("events") == 1


def test_labels_exclude_expired_and_replace_same_subject(store: Store) -> None:
    now = T0 + timedelta(days=10)
    store.labels.add(
        [
            {"case_id": "c1", "task": "topic", "value": "refunds", "source": "expert", "annotator": "a"},
            {
                "case_id": "c2",
                "task": "topic",
                "value": "fees",
                "source": "weak",
                "annotator": "",
                "expires_at": T0,
            },
            {"case_id": "c3", "task": "validity", "value": "valid", "source": "expert", "annotator": "a"},
        ]
    )
    store.labels.add(
        [{"case_id": "c1", "task": "topic", "value": "disputes", "source": "expert", "annotator": "a"}]
    )
    labels = store.labels.list("topic", now=now)
    assert [(x.case_id, x.value) for x in labels] == [("c1", "disputes")]
    assert len(store.labels.list("topic", now=now, include_expired=True)) == 2
    assert [x.value for x in store.labels.list("topic", sources=["weak"], now=T0 - timedelta(days=1))] == [
        "fees"
    ]


def test_answer_library_queries(store: Store) -> None:
    store.library.upsert_answers(
        [
            {
                "id": "a1",
                "topic": "refunds",
                "title": "t",
                "body": "b",
                "status": "approved",
                "review_due_at": T0 - timedelta(days=1),
            },
            {"id": "a2", "topic": "refunds", "title": "t", "body": "b", "status": "retired"},
            {
                "id": "a3",
                "topic": "fees",
                "title": "t",
                "body": "b",
                "status": "approved",
                "review_due_at": T0 + timedelta(days=30),
            },
        ]
    )
    assert [a.id for a in store.library.answers(topic="refunds", status="approved")] == ["a1"]
    assert [a.id for a in store.library.answers_due_for_review(now=T0)] == ["a1"]
    store.library.set_answer_status("a1", "retired")
    assert store.library.answers_due_for_review(now=T0) == []


def test_promote_keeps_previous_for_rollback(store: Store) -> None:
    for version in ("v1", "v2"):
        store.models.add(
            {"stage": "topic", "version": version, "artifact_path": f"/m/{version}", "fingerprint": "f"}
        )
    store.models.promote("topic", "v1")
    store.models.promote("topic", "v2")
    live = store.models.live("topic")
    assert live is not None and live.version == "v2"
    statuses = {m.version: m.status for m in store.models.list("topic")}
    assert statuses == {"v1": "previous", "v2": "live"}
    store.models.promote("topic", "v1")  # rollback
    live = store.models.live("topic")
    assert live is not None and live.version == "v1"


def test_unknown_promotion_target_raises(store: Store) -> None:
    from sqlalchemy.exc import NoResultFound

    with pytest.raises(NoResultFound):
        store.models.promote("topic", "nope")


def test_library_version_counts_writes_not_reads(store: Store) -> None:
    library = store.library
    assert library.version() == 0  # never written
    library.upsert_topics([{"key": "refunds", "name": "Refunds"}])
    assert library.version() == 1
    library.upsert_answers([{"id": "a1", "topic": "refunds", "title": "t", "body": "b"}])
    library.upsert_articles([{"id": "k1", "title": "t", "body": "b"}])
    assert library.version() == 3
    library.topics(), library.answers(), library.answer("a1"), library.articles()
    library.answers_due_for_review(now=T0)
    assert library.version() == 3  # reads change nothing
    library.set_answer_status("a1", "approved", reviewed_at=T0)
    assert library.version() == 4
    library.set_answer_status("missing", "approved")  # nothing written, nothing to reload
    library.upsert_answers([])
    assert library.version() == 4


def test_library_version_bumps_in_the_writers_transaction(store: Store) -> None:
    row = {"id": "a1", "topic": "refunds", "title": "t", "body": "b"}
    with pytest.raises(RuntimeError), store.db.session() as session:
        store.library.upsert_answers([row], session=session)
        raise RuntimeError("rolled back")
    assert store.library.version() == 0 and store.library.answers() == []
    with store.db.session() as session:
        store.library.upsert_answers([row], session=session)
    assert store.library.version() == 1


def test_vocabularies_are_stored_as_plain_strings(store: Store) -> None:
    from supportcue.vocab import EventKind, LabelSource, LabelTask

    store.events.add({"idempotency_key": "k1", "case_id": "c1", "kind": EventKind.SENT, "ts": T0})
    row = {"case_id": "c1", "task": LabelTask.TOPIC, "value": "fees", "source": LabelSource.WEAK}
    store.labels.add([row])
    (event,) = store.events.list(kind=EventKind.SENT)
    assert type(event.kind) is str and event.kind == "sent"
    (label,) = store.labels.list("topic", sources=["weak"])
    assert (type(label.task), label.task, label.source) == (str, "topic", "weak")


def test_one_process_at_a_time_holds_a_message_claim(store: Store) -> None:
    cases = store.cases
    assert cases.claim_message("c1", "m1", "worker-a", lease_s=60)
    assert not cases.claim_message("c1", "m1", "worker-b", lease_s=60)  # a is making it
    assert cases.claim_message("c1", "m2", "worker-b", lease_s=60)  # another message is free
    cases.release_message("c1", "m1", "worker-b")  # not b's claim: nothing happens
    assert not cases.claim_message("c1", "m1", "worker-b", lease_s=60)
    cases.release_message("c1", "m1", "worker-a")
    assert cases.claim_message("c1", "m1", "worker-b", lease_s=60)


def test_a_lapsed_message_claim_is_taken_over_once(store: Store) -> None:
    cases = store.cases
    old = datetime.now(UTC) - timedelta(minutes=5)
    lapsed = {"case_id": "c1", "message_key": "m1", "owner": "dead", "claimed_at": old}
    store.db.upsert(SuggestionClaim, [lapsed], ["case_id", "message_key"])
    assert not cases.claim_message("c1", "m1", "worker-a", lease_s=600)  # still within a long lease
    assert cases.claim_message("c1", "m1", "worker-a", lease_s=60)  # lapsed: taken over
    assert not cases.claim_message("c1", "m1", "worker-b", lease_s=60)  # and now a's, freshly
    cases.release_message("c1", "m1", "dead")  # the dead maker's late release does not free it
    assert not cases.claim_message("c1", "m1", "worker-b", lease_s=60)
    with store.db.session() as s:
        assert list(s.scalars(select(SuggestionClaim.owner))) == ["worker-a"]


def test_rate_buckets_take_refill_and_forget_full_buckets(store: Store) -> None:
    buckets = store.rate_buckets
    per_second, burst = 1.0, 3
    assert [buckets.take("k", per_second, burst, now=100.0) for _ in range(4)] == [True] * 3 + [False]
    assert buckets.level("k", per_second, burst, now=100.0) == pytest.approx(0.0)
    assert buckets.level("other", per_second, burst, now=100.0) == burst  # no row: a full bucket
    assert buckets.level("k", per_second, burst, now=101.5) == pytest.approx(1.5)
    assert buckets.take("k", per_second, burst, now=101.5)  # one token refilled, taken
    assert not buckets.take("k", per_second, burst, now=101.6)
    assert buckets.take("j", per_second, burst, now=101.6) and buckets.count() == 2
    # "k" was last counted at 101.5: full again 3 s later, and its row goes at the next take.
    assert buckets.take("j", per_second, burst, now=104.6) and buckets.count() == 1
    assert buckets.level("k", per_second, burst, now=104.6) == burst
    # A process whose clock is behind the last count's neither refills nor loses tokens by it.
    assert [buckets.take("s", per_second, burst, now=t) for t in (200.0, 190.0, 190.0)] == [True] * 3
    assert buckets.level("s", per_second, burst, now=200.0) == pytest.approx(0.0)


def test_processes_sharing_a_database_count_in_the_same_bucket(store: Store, database_url: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    other = open_store(database_url)  # another worker's store: its own engine and connections
    try:
        with ThreadPoolExecutor(8) as pool:
            taken = list(
                pool.map(
                    lambda i: (store if i % 2 else other).rate_buckets.take("addr", 0.001, 5, now=50.0),
                    range(16),
                )
            )
        assert sum(taken) == 5  # 16 tries at the same moment, 5 tokens: never one more
        assert other.rate_buckets.level("addr", 0.001, 5, now=50.0) == pytest.approx(0.0)
    finally:
        other.close()


def test_the_migrations_build_the_tables_the_code_declares(database_url: str) -> None:
    """Every table, column, index and constraint of `tables.py` is what the migrations made (a
    model changed without its migration, or the reverse, is caught here, on both databases)."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as c:
            assert compare_metadata(MigrationContext.configure(c), Base.metadata) == []
    finally:
        engine.dispose()


def test_migration_0030_stores_old_answers_line_breaks_as_lf(empty_database_url: str) -> None:
    """Answers saved from a browser form before line breaks were normalised kept "\\r\\n" in their text
    and in their kept versions, so suggestions carried "\\r" and the first untouched "Save and
    approve" made a version changing only line breaks. The migration rewrites those texts as "\\n"
    (answers, their versions, KB articles, reviewers' corrected replies), keeps every version, its
    number and its date, and tells running servers the library changed."""
    from alembic import command
    from sqlalchemy import text

    from supportcue.data.database import alembic_config, make_engine

    engine = make_engine(empty_database_url)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0029_skipped_migrations")
    at = datetime(2026, 11, 1, tzinfo=UTC)
    with engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO answers (id, topic, title, body, status, version, updated_at) VALUES "
                "('a1', 'refunds', 'Refunds', :crlf, 'approved', 2, :at), "
                "('a2', 'refunds', 'Other', :lf, 'approved', 1, :at)"
            ),
            {"crlf": "Hi {customer_name}!\r\nRefunds take\r5 days.", "lf": "plain\ntext", "at": at},
        )
        c.execute(
            text(
                "INSERT INTO answer_versions (answer_id, version, topic, title, body, created_at) VALUES "
                "('a1', 1, 'refunds', 'Refunds', :v1, :at), ('a1', 2, 'refunds', 'Refunds', :v2, :at), "
                "('a2', 1, 'refunds', 'Other', :lf, :at)"
            ),
            {
                "v1": "Hi {customer_name}!\nRefunds take 5 days.",
                "v2": "Hi {customer_name}!\r\nRefunds take\r5 days.",
                "lf": "plain\ntext",
                "at": at,
            },
        )
        c.execute(
            text("INSERT INTO articles (id, title, body, updated_at) VALUES ('k1', 'K', :b, :at)"),
            {"b": "one\r\n\r\ntwo", "at": at},
        )
        c.execute(
            text(
                "INSERT INTO review_items (id, key, kind, reason, score, details, reviews_wanted, "
                "created_at, simulated) "
                "VALUES ('i1', 'suggestion:s1', 'suggestion', 'random', 0, '{}', 1, :at, false)"
            ),
            {"at": at},
        )
        c.execute(
            text(
                "INSERT INTO reviews (item_id, reviewer, verdict, corrected_text, flags, created_at) VALUES "
                "('i1', 'r1', 'incorrect', :t, '[]', :at)"
            ),
            {"t": "Better:\r\nthis", "at": at},
        )
    engine.dispose()
    store = open_store(empty_database_url)
    try:
        answers = {a.id: a for a in store.library.answers()}
        assert answers["a1"].body == "Hi {customer_name}!\nRefunds take\n5 days."
        assert (answers["a1"].version, answers["a1"].updated_at) == (2, at)
        assert answers["a2"].body == "plain\ntext"
        assert sorted((v.version, v.body) for v in store.library.versions("a1")) == [
            (1, "Hi {customer_name}!\nRefunds take 5 days."),
            (2, "Hi {customer_name}!\nRefunds take\n5 days."),
        ]
        assert [a.body for a in store.library.articles()] == ["one\n\ntwo"]
        with store.db.engine.connect() as c:
            assert c.scalar(text("SELECT corrected_text FROM reviews")) == "Better:\nthis"
        assert store.library.version() >= 1
    finally:
        store.close()


def test_migration_0033_stores_old_cases_line_breaks_as_lf(empty_database_url: str) -> None:
    """Cases imported from a file written on Windows before the import normalised line breaks kept
    "\\r\\n" in their message, their context's turns and their reply (the `sent` event's text); new
    imports store "\\n", so the same message was two texts. The migration rewrites them as "\\n", in
    batches (more cases than one batch here), and changes nothing else of the rows."""
    import json

    from alembic import command
    from sqlalchemy import text

    from supportcue.data.database import alembic_config, make_engine

    engine = make_engine(empty_database_url)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0032_case_status_changed_at")
    at = datetime(2026, 11, 1, tzinfo=UTC)
    context = json.dumps([{"role": "customer", "text": "first\r\nline"}, {"role": "agent", "text": "ok"}])
    cases = [
        {"id": f"c{n:04}", "message": f"Hi\r\ncase {n}\rend", "context": "[]", "purged": None}
        for n in range(1003)
    ] + [
        {"id": "ctx", "message": "plain\ntext", "context": context, "purged": None},
        {"id": "gone", "message": "[purged]", "context": "[]", "purged": at},
    ]
    with engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO cases (id, channel, message, context, fields, created_at, status, simulated, "
                "purged_at) VALUES (:id, 'email', :message, :context, '{}', :at, 'resolved', false, :purged)"
            ),
            [{**case, "at": at} for case in cases],
        )
        c.execute(
            text(
                "INSERT INTO events (caller, idempotency_key, case_id, kind, text, ts, received_at, "
                "simulated) VALUES ('', 'import:c0001:sent', 'c0001', 'sent', :t, :at, :at, false), "
                "('', 'k2', 'c0002', 'resolved', NULL, :at, :at, false)"
            ),
            {"t": "Hi,\r\nsorted.\r\nBest", "at": at},
        )
    engine.dispose()
    store = open_store(empty_database_url)
    try:
        stored = {c.id: c for c in store.cases.list(include_purged=True)}
        assert len(stored) == len(cases)
        assert all(stored[f"c{n:04}"].message == f"Hi\ncase {n}\nend" for n in range(1003))
        assert stored["ctx"].message == "plain\ntext"
        assert stored["ctx"].context == [
            {"role": "customer", "text": "first\nline"},
            {"role": "agent", "text": "ok"},
        ]
        assert stored["gone"].message == "[purged]" and stored["gone"].purged_at == at
        assert all(c.created_at == at and c.status == "resolved" for c in stored.values())
        assert {e.idempotency_key: e.text for e in store.events.list()} == {
            "import:c0001:sent": "Hi,\nsorted.\nBest",
            "k2": None,
        }
    finally:
        store.close()
