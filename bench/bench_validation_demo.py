"""The validation stage on the demo workspace: what it stops against what is really not a question.

Reads a demo workspace built by `supportcue demo --workspace DIR --no-serve` (which trains every
stage and replays the 8 weeks through the pipeline), and reports:

- the replayed suggestions: how many validation stopped (by a rule or by the model), how many of
  the cases are really not questions (the generator's truth), the stopped questions and the passed
  non-questions;
- the live validation stage's probability of "valid" for clear questions a user reported stopped;
- `--refit`: the same figures for a validation stage fitted now, with this checkout's code, on the
  workspace's validity labels of cases before `--cut`, measured on the cases from `--cut` on (so the
  stage built before and after a change can be compared on the same held-out cases).

    HF_HUB_OFFLINE=1 .venv/bin/python bench/bench_validation_demo.py --workspace /tmp/oos-demo [--refit]
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from supportcue.data.store import open_store
from supportcue.data.tables import Suggestion
from supportcue.demo.generator import generate
from supportcue.settings import load_settings
from supportcue.stages.base import Message, Stage
from supportcue.training.loader import workspace_embedder
from supportcue.training.registry import load_live
from supportcue.training.trainer import Trainer

CLEAR_QUESTIONS = (
    "what roles are there for team members?",
    "What's the character limit for the statement descriptor",
)


def confusion(stopped: list[bool], valid: list[bool], reasons: list[str]) -> dict[str, Any]:
    return {
        "n": len(valid),
        "non_questions": valid.count(False),
        "stopped": sum(stopped),
        "stopped_by_rule": sum(s and r.startswith("rule") for s, r in zip(stopped, reasons, strict=True)),
        "questions_stopped": sum(s and v for s, v in zip(stopped, valid, strict=True)),
        "non_questions_passed": sum(not s and not v for s, v in zip(stopped, valid, strict=True)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--refit", action="store_true")
    parser.add_argument("--cut", default="2026-10-19")
    args = parser.parse_args()
    settings = load_settings(args.workspace)
    store = open_store(settings.database_url)
    truth = {c.id: c for c in generate(7).cases}
    embedder = workspace_embedder(settings)
    out: dict[str, Any] = {}
    with store.db.session() as s:
        rows = s.execute(select(Suggestion.case_id, Suggestion.abstained_at, Suggestion.reason)).all()
    rows = [r for r in rows if r.case_id in truth]
    out["replayed_suggestions"] = confusion(
        [r.abstained_at == "validation" for r in rows],
        [truth[r.case_id].valid for r in rows],
        [r.reason or "" for r in rows],
    )
    out["stopped_kinds"] = dict(
        Counter(str(truth[r.case_id].invalid_kind) for r in rows if r.abstained_at == "validation")
    )
    live = load_live(store, "validation")
    probe = [
        Message(text=t, vector=v)
        for t, v in zip(CLEAR_QUESTIONS, embedder.embed(list(CLEAR_QUESTIONS)), strict=True)
    ]
    if live is not None:
        stage: Stage = live[0]
        out["live_p_valid"] = dict(
            zip(CLEAR_QUESTIONS, stage.predict_proba_valid(probe).round(3).tolist(), strict=True)
        )  # type: ignore[attr-defined]
    if args.refit:
        cut = datetime.fromisoformat(args.cut).replace(tzinfo=UTC)
        trainer = Trainer(store, settings, embedder)
        past, _ = trainer.labeled("validity").split(cut)
        stage = trainer.fit("validation", past, trainer.default_params("validation"))
        later = [c for c in store.cases.list(since=cut) if c.id in truth]
        results = stage.predict(trainer.messages([c.message for c in later]))
        out["refit"] = {
            "trained_on": len(past),
            "held_out": confusion(
                [r.stops() for r in results],  # type: ignore[attr-defined]
                [truth[c.id].valid for c in later],
                [r.reason or "" for r in results],
            ),
            "p_valid": dict(
                zip(CLEAR_QUESTIONS, stage.predict_proba_valid(probe).round(3).tolist(), strict=True)
            ),  # type: ignore[attr-defined]
        }
    store.close()
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
