"""Build the demo workspace: generate the fictional platform's data and load it into a fresh store.

The generated history becomes what a help desk would have: cases, the replies agents sent (`sent`
events with the text) and handle times (`resolved` events), the answer library, KB articles and the
experts' labels. The newest cases stay open, with nothing sent yet: the agent console's inbox.
Once trained, the history is replayed with simulated agents (`simulate.py`), its last weeks as a
controlled experiment (stopped before the open cases, so the console shows every suggestion).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import Any

from supportcue.data.store import Store, open_store
from supportcue.demo.generator import generate
from supportcue.demo.labeling import workspace_module
from supportcue.demo.model import DemoData
from supportcue.settings import init_workspace, load_settings
from supportcue.vocab import CaseStatus, EventKind, Role, TopicStatus

OPEN_CASES = 40
"""How many of the newest cases are left open for the console's inbox."""
DEMO_USERS = (("admin", Role.ADMIN), ("agent", Role.AGENT))
SAMPLE_REQUEST = {"message": "How can I pause my payouts?", "customer_name": "Ana"}
"""A question the demo's library answers, for the request `demo` shows how to send."""


def load_demo(store: Store, data: DemoData, open_cases: int = OPEN_CASES) -> dict[str, int]:
    """Write the generated data into the store (idempotent: ids are stable for a seed)."""
    store.library.upsert_topics(
        [
            {"key": t.key, "name": t.name, "description": t.description, "status": TopicStatus.ACTIVE}
            for t in data.topics
        ]
    )
    store.library.upsert_answers([asdict(a) for a in data.answers])
    store.library.upsert_articles([{**asdict(a), "url": None} for a in data.articles])
    ordered = sorted(data.cases, key=lambda c: (c.created_at, c.id))
    open_ids = {c.id for c in ordered[-open_cases:]} if open_cases else set()
    cases: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for c in ordered:
        is_open = c.id in open_ids
        cases.append(
            {
                "id": c.id,
                "channel": c.channel,
                "message": c.message,
                "context": [],
                "customer_name": c.customer_name,
                "fields": {**c.fields, "agent_id": c.agent_id},
                "created_at": c.created_at,
                "status": CaseStatus.OPEN if is_open else CaseStatus.RESOLVED,
            }
        )
        if is_open:
            continue
        done = c.created_at + timedelta(seconds=c.handle_seconds)
        if c.sent_reply:
            events.append(
                {
                    "idempotency_key": f"demo:{c.id}:sent",
                    "case_id": c.id,
                    "kind": EventKind.SENT,
                    "text": c.sent_reply,
                    "agent_id": c.agent_id,
                    "ts": done - timedelta(seconds=5),
                }
            )
        events.append(
            {
                "idempotency_key": f"demo:{c.id}:resolved",
                "case_id": c.id,
                "kind": EventKind.RESOLVED,
                "agent_id": c.agent_id,
                "handle_seconds": float(c.handle_seconds),
                "ts": done,
            }
        )
    with store.db.session() as session:
        store.cases.upsert(cases, session=session)
        store.events.add_many(events, session=session)
        store.labels.add(
            [
                {
                    "case_id": lb.case_id,
                    "task": lb.task,
                    "value": lb.value,
                    "source": lb.source,
                    "annotator": lb.annotator,
                    "confidence": lb.confidence,
                    "created_at": lb.created_at,
                }
                for lb in data.labels
            ],
            session=session,
        )
    return {
        "topics": len(data.topics),
        "answers": len(data.answers),
        "articles": len(data.articles),
        "cases": len(cases),
        "open_cases": len(open_ids),
        "events": len(events),
        "labels": len(data.labels),
    }


def build_demo_workspace(
    folder: Path, seed: int = 7, train: bool = True, progress: Callable[[str], None] | None = None
) -> str:
    """Create (or refresh) the demo workspace in `folder`, train every stage when no model is live yet;
    returns a short summary for the CLI."""
    init_workspace(folder)
    lfs = folder / "labeling_functions.py"
    if not lfs.exists():
        lfs.write_text(workspace_module(), encoding="utf-8")
        config = folder / "supportcue.toml"
        text = config.read_text(encoding="utf-8")
        text = text.replace("labeling_functions = []", 'labeling_functions = ["labeling_functions.py"]', 1)
        config.write_text(text, encoding="utf-8")
    settings = load_settings(folder)
    store = open_store(settings.database_url)
    try:
        data = generate(seed=seed)
        counts = load_demo(store, data)
        if train and store.models.live("topic") is None:
            from supportcue.demo.simulate import EXPERIMENT_WEEKS, simulate_history
            from supportcue.training.loader import load_pipeline, workspace_embedder
            from supportcue.training.trainer import Trainer
            from supportcue.weak.workspace import apply_to_cases, label_cases

            if progress:
                progress("weak supervision: labeling functions + label model over the unlabeled cases")
            label_cases(store, settings, apply_to_cases(store, settings, "topic", progress=False))
            embedder = workspace_embedder(settings)
            Trainer(store, settings, embedder, progress=progress).train()
            if progress:
                progress("replaying the 8 weeks through the pipeline with simulated agent behaviour")
            simulated = simulate_history(
                store,
                load_pipeline(store, settings, embedder),
                data,
                seed=seed,
                threshold=settings.match.threshold,
                progress=progress,
                experiment_weeks=EXPERIMENT_WEEKS,
            )
            built = simulated["experiment"]
            from supportcue.demo.reviews import simulate_reviews

            reviewed = simulate_reviews(store, settings, data, seed=seed)
            if progress:
                progress(
                    f"simulated experts reviewed {reviewed['items']} queue items ({reviewed['random']} of "
                    "the random sample): see `supportcue review stats`"
                )
            if progress and built["true_lift"] is not None:
                progress(
                    f"simulated experiment {built['name']!r}: {built['cases']:,} cases; the effect built "
                    f"into the simulated agents is {built['true_lift']:+.1%} handle time in treatment "
                    f"(see `supportcue experiment analyze {built['name']} --metric handle_seconds`)"
                )
    finally:
        store.close()
    stats = data.stats()
    return (
        f"demo workspace {folder}: {counts['cases']:,} cases over 8 weeks ({counts['open_cases']} open), "
        f"{counts['topics']} topics, {counts['answers']} answers, {counts['articles']} articles, "
        f"{counts['labels']:,} expert labels; non-questions {stats['non_question_share']:.1%}"
    )


def demo_users(folder: Path) -> list[tuple[str, Role, str]]:
    """Give the demo workspace an admin and an agent with fresh random passwords (set anew on every
    run, since only their hashes are kept); returns (name, role, password) to print once."""
    import secrets

    from supportcue.security.users import add_user, set_password

    store = open_store(load_settings(folder).database_url)
    made = []
    try:
        for name, role in DEMO_USERS:
            password = secrets.token_urlsafe(12)
            if store.callers.user(name) is None:
                add_user(store, name, role, password)
            else:
                set_password(store, name, password)
            made.append((name, role, password))
    finally:
        store.close()
    return made
