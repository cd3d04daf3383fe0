"""Training and the model registry: `train`, `backtest`, `models`, `promote`, `rollback`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from supportcue.cli.context import CliState, state
from supportcue.cli.output import console, err_console, fitted_table, say
from supportcue.data.tables import ModelVersion
from supportcue.errors import SupportcueError
from supportcue.stages import registry
from supportcue.training.gate import advice, precision_key
from supportcue.training.report import left_out
from supportcue.training.trainer import Trainer
from supportcue.vocab import LabelSource, ModelStatus


def _trainer(cli: CliState, out: Console | None = None) -> Trainer:
    """A trainer whose progress lines go to `out` (stdout; stderr under --json, whose stdout is the
    JSON object alone, for `| jq`)."""
    from supportcue.training.loader import workspace_embedder

    settings = cli.settings
    said = out or console
    return Trainer(
        cli.store,
        settings,
        workspace_embedder(settings),
        progress=lambda t: said.print(f"[dim]{escape(t)}[/dim]", soft_wrap=True),
    )


def _test_set_notes(versions: list[ModelVersion]) -> list[str]:
    """Per stage whose versions were backtested on different test cases (labels added, or another
    split, between them), a note that their accuracies do not compare: the table puts them side by
    side, and a newer version's higher figure may only be an easier test set."""
    sets: dict[str, dict[str, list[str]]] = {}
    for v in versions:
        split = v.metrics.get("split")
        fingerprint = split.get("test_fingerprint") if isinstance(split, dict) else None
        if fingerprint and v.metrics.get("summary", {}).get("accuracy") is not None:
            sets.setdefault(v.stage, {}).setdefault(str(fingerprint), []).append(v.version)
    return [
        f"note: {stage}'s versions were backtested on {len(groups)} different sets of test cases "
        f"({'; '.join(', '.join(g) for g in groups.values())}): their accuracies compare only within "
        f"a set. `supportcue promote {stage} VERSION` measures a version against the live one on the "
        "same cases."
        for stage, groups in sets.items()
        if len(groups) > 1
    ]


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date like 2026-10-15", param_hint="--since") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _rewritten_words(trainer: Trainer) -> list[tuple[str, str, int]]:
    """The words of the workspace's own texts (training messages, answers) that MiniLM's spelling
    normalisation rewrites though the texts spell them so more often (`spelling.rewritten_words`):
    candidates for `[embedding] known_words`."""
    embedding = trainer.settings.embedding
    if embedding.model != "minilm" or not embedding.spelling:
        return []
    from supportcue.spelling import rewritten_words

    texts = list(trainer.labeled("topic").texts)
    texts += [f"{a.title}. {a.body}" for a in trainer.store.library.answers()]
    # a customer's name, even typed in lower case ("hi its farid"), is no word of the team's
    names = frozenset(
        token.lower() for c in trainer.store.cases.list() for token in (c.customer_name or "").split()
    )
    return rewritten_words(texts, frozenset(embedding.known_words), names=names)


def trained_json(
    versions: list[ModelVersion], live: dict[str, str], found: list[tuple[str, str, int]], target: float
) -> dict[str, Any]:
    """What `train --json` prints: per version its status, rows, backtest and gate (what
    `print_trained` shows), the live version of each stage, the candidate known words, and every
    warning as one sentence (prefixed by its stage)."""
    from supportcue.spelling import known_words_hint

    out = []
    for v in versions:
        m = v.metrics
        s, gate = m.get("summary", {}), m.get("gate", {})
        at = m.get("coverage_at_precision", {}).get(precision_key(target)) if s else None
        out.append(
            {
                "stage": v.stage,
                "version": v.version,
                "status": v.status,
                "artifact_path": v.artifact_path,
                "n_labeled": sum(m["classes"].values()) if "classes" in m else None,
                "n_train": m.get("n_train"),
                "n_test": m.get("n_test"),
                "accuracy": s.get("accuracy"),
                "macro_f1": s.get("macro_f1"),
                "coverage_at_precision": {"precision": target, **at} if at else None,
                "split": m["split"]["description"] if m.get("split") else None,
                "classes": m.get("classes"),
                "gate": {
                    "passed": gate.get("passed"),
                    "refused": gate.get("refused", []),
                    "warnings": gate.get("warnings", []),
                    "advice": advice(v.stage, v.version) if gate.get("refused") else None,
                }
                if gate
                else None,
            }
        )
    warnings = [f"{v['stage']}: {w}" for v in out if v["gate"] for w in v["gate"]["warnings"]]
    hint = known_words_hint(found)
    return {
        "versions": out,
        "live": live,
        "candidate_known_words": [{"word": w, "correction": c, "texts": n} for w, c, n in found],
        "warnings": warnings + ([hint] if hint else []),
    }


def print_trained(v: ModelVersion, target_precision: float, live: str | None = None) -> None:
    """A trained version: its backtest, the split it used, and the gate's verdict with what to do
    (`live`: the stage's live version, which a candidate leaves serving)."""
    s = v.metrics.get("summary", {})
    figures = ""
    if s:
        key = precision_key(target_precision)
        at = v.metrics.get("coverage_at_precision", {}).get(key)
        cover = f", coverage {at['coverage']:.1%} at precision {key}" if at else ""
        figures = f" backtest accuracy {s['accuracy']:.3f}, macro-F1 {s['macro_f1']:.3f}{cover}"
    said = f"{v.stage} {v.version} ({v.status}){figures} -> {v.artifact_path}"
    say(said)
    split = v.metrics.get("split")
    if split:
        say(f"  {split['description']}")
    if left_out(v.metrics):
        say(f"  {left_out(v.metrics)}")
    gate = v.metrics.get("gate", {})
    for warning in gate.get("warnings", []):
        console.print(f"  [yellow]warning[/yellow]: {escape(warning)}", highlight=False, soft_wrap=True)
    if gate.get("refused"):
        console.print(f"  [red]{v.stage} {v.version} stays a candidate[/red]:", highlight=False)
        for why in gate["refused"]:
            say(f"  - {why}")
        say(f"  what to do: {advice(v.stage, v.version)}")
    elif gate and v.status == ModelStatus.CANDIDATE:
        console.print(
            f"  it clears the gate; put it live with `supportcue promote {v.stage} {v.version}`",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
    elif v.status == ModelStatus.CANDIDATE and live is not None:
        # a stage with no backtest to gate on (response, learned from the history's replies): only
        # its first version goes live by itself, so history imported since is used once promoted
        console.print(
            f"  {v.stage} {live} keeps serving; put {v.version} live with "
            f"`supportcue promote {v.stage} {v.version}`",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )


def _train_each(
    trainer: Trainer, stages: list[str], exclude_weak: bool
) -> tuple[list[ModelVersion], list[tuple[str, str]]]:
    """Train `stages`; of several, a stage learned from labels that has too few (a team that labeled
    topics and no validity) is left out with the reason, and the others are trained. With none of them
    learned from labels, the first reason is the error, before a stage that learns from history alone
    (response) is trained."""
    labeled = [name for name in stages if name in registry.labeled()]
    versions: list[ModelVersion] = []
    failed: list[tuple[str, SupportcueError]] = []
    for name in labeled:
        try:
            versions += trainer.train([name], exclude_weak=exclude_weak)
        except SupportcueError as exc:
            if len(stages) == 1:
                raise
            failed.append((name, exc))
    if failed and not versions:
        raise failed[0][1]
    not_trained = [(name, str(exc)) for name, exc in failed]
    rest = [name for name in stages if name not in labeled]
    if rest:
        versions += trainer.train(rest, exclude_weak=exclude_weak)
    if len(stages) > 1:  # every stage: as `Trainer.train()` of every stage does
        trainer.warm_sources()
    return versions, not_trained


def _check_stage(stage: str) -> None:
    """A stage that has model versions, or an error naming those that do (not "no versions")."""
    trainable = registry.trainable()
    if stage not in trainable:
        raise typer.BadParameter(f"{stage!r}; allowed: {', '.join(trainable)}", param_hint="STAGE")


def register(app: typer.Typer) -> None:
    @app.command()
    def train(
        ctx: typer.Context,
        stage: Annotated[
            str | None, typer.Option(help="validation | topic | response (default: all)")
        ] = None,
        exclude_weak: Annotated[
            bool, typer.Option("--exclude-weak", help="train on human labels only")
        ] = False,
        json_out: Annotated[bool, typer.Option("--json", help="one JSON object (the last line)")] = False,
    ) -> None:
        """Fit stages from the labels in the store and write model versions (the first goes live)."""
        trainable = registry.trainable()
        if stage and stage not in trainable:
            raise typer.BadParameter(f"{stage!r}; allowed: {', '.join(trainable)}", param_hint="--stage")
        cli = state(ctx)
        trainer = _trainer(cli, err_console if json_out else console)
        with (err_console if json_out else console).status("training"):
            versions, not_trained = _train_each(trainer, [stage] if stage else trainable, exclude_weak)
        target = trainer.settings.gate.target_precision
        found = _rewritten_words(trainer)
        if json_out:
            live = {name: v.version for name in trainable if (v := cli.store.models.live(name)) is not None}
            said = trained_json(versions, live, found, target)
            said["not_trained"] = [{"stage": name, "reason": why} for name, why in not_trained]
            print(json.dumps(said, default=str))
            return
        for v in versions:
            serving = cli.store.models.live(v.stage)
            print_trained(v, target, serving.version if serving is not None else None)
        for name, why in not_trained:
            console.print(
                f"[yellow]{name} not trained[/yellow]: {escape(why)}; the pipeline runs without it until "
                "it is trained",
                highlight=False,
                soft_wrap=True,
            )
        from supportcue.spelling import known_words_hint

        hint = known_words_hint(found)
        if hint:
            say(hint, style="yellow")

    @app.command()
    def backtest(
        ctx: typer.Context,
        since: Annotated[str | None, typer.Option(help="cut date: train before it, test after")] = None,
        stage: Annotated[list[str], typer.Option(help="validation | topic (repeatable)")] = [],  # noqa: B006
        exclude_weak: Annotated[
            bool, typer.Option("--exclude-weak", help="train on human labels only")
        ] = False,
        html: Annotated[Path | None, typer.Option(help="write an HTML report with the curve here")] = None,
        json_out: Annotated[bool, typer.Option("--json", help="one JSON object (the last line)")] = False,
    ) -> None:
        """Time-ordered evaluation: per-topic P/R/F1, confusions, coverage-versus-precision."""
        from supportcue.training.report import backtest_html, print_backtest

        labeled = registry.labeled()
        for name in stage:
            if name not in labeled:
                raise typer.BadParameter(f"{name!r}; allowed: {', '.join(labeled)}", param_hint="--stage")
        cli = state(ctx)
        trainer = _trainer(cli, err_console if json_out else console)
        stages = stage or list(labeled)
        result = trainer.backtest(stages, _date(since), exclude_weak)
        if not exclude_weak and cli.store.labels.list(sources=[LabelSource.WEAK]):
            # what the weak labels bring: the same backtest trained on the people's labels only, on
            # the same test cases (its own split would cut the fewer cases elsewhere in time)
            from supportcue.training.split import Split

            splits = {n: s for n, r in result["stages"].items() if (s := Split.recorded(r)) is not None}
            said = trainer.progress
            trainer.progress = (
                (lambda t: said(f"{t} (human labels only, for the weak labels' gain)")) if said else None
            )
            human = trainer.backtest(stages, _date(since), exclude_weak=True, splits=splits)
            trainer.progress = said
            result["weak_label_gain"] = {
                name: {
                    "accuracy_with_weak": r["summary"]["accuracy"],
                    "accuracy_human_only": human["stages"][name]["summary"]["accuracy"],
                    "gain": r["summary"]["accuracy"] - human["stages"][name]["summary"]["accuracy"],
                    # both measured on these test cases (the people's labels after the same cut)
                    "n_test": human["stages"][name]["summary"]["n"],
                    "test_fingerprint": human["stages"][name]["split"]["test_fingerprint"],
                }
                for name, r in result["stages"].items()
            }
        target = html or cli.settings.workspace / "reports" / "backtest.html"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(backtest_html(result), encoding="utf-8")
        result["html_report"] = str(target)
        if json_out:
            print(json.dumps(result, default=str))
            return
        print_backtest(result, console)
        for name, g in result.get("weak_label_gain", {}).items():
            console.print(
                f"{name}: accuracy {g['accuracy_with_weak']:.3f} with weak labels, "
                f"{g['accuracy_human_only']:.3f} on human labels only (gain {g['gain']:+.3f}; the same "
                f"{g['n_test']} test cases)"
            )
        console.print(f"HTML report: {target}")

    @app.command()
    def models(
        ctx: typer.Context,
        json_out: Annotated[bool, typer.Option("--json", help="one JSON object (the last line)")] = False,
    ) -> None:
        """List model versions with their status and backtest figures."""
        cli = state(ctx)
        versions = cli.store.models.list()
        if json_out:
            from supportcue.training.registry import artifact_file

            rows = [
                {
                    "stage": v.stage,
                    "version": v.version,
                    "status": v.status,
                    "created_at": v.created_at.isoformat(),
                    "fingerprint": v.fingerprint,
                    "accuracy": v.metrics.get("summary", {}).get("accuracy"),
                    "metrics": v.metrics,
                    "artifact": str(artifact_file(v, cli.settings.models_dir)),  # the file it loads
                    "sha256": v.sha256,
                    "verified": v.sha256 is not None,
                }
                for v in versions
            ]
            print(json.dumps(rows))
            return
        if not versions:  # an empty table printed as a blank line
            console.print("no model versions yet: run `supportcue train`")
            return
        console.print(versions_table(versions, console))
        for line in _test_set_notes(versions):
            say(line)
        if any(v.sha256 is None for v in versions):
            console.print(
                "unverified: written before checksums were kept; they load with a warning. "
                "Retrain (`supportcue train`) and promote the new versions (`supportcue promote STAGE "
                "VERSION`) to get verified ones."
            )

    @app.command()
    def promote(
        ctx: typer.Context,
        stage: Annotated[str, typer.Argument(help="validation | topic | response")],
        version: Annotated[str, typer.Argument(help="e.g. v2 (see `supportcue models`)")],
        force: Annotated[bool, typer.Option("--force", help="promote even if worse than live")] = False,
    ) -> None:
        """Make a model version live; the previous stays available for rollback."""
        _check_stage(stage)
        trainer = _trainer(state(ctx))
        with console.status(f"{stage} {version}: checking it against the gate and the live model"):
            promoted, note = trainer.promote(stage, version, force=force)
        said = f"{promoted.stage} {promoted.version} is live ({note})"
        console.print(said, highlight=False, soft_wrap=True)

    @app.command()
    def rollback(
        ctx: typer.Context,
        stage: Annotated[str, typer.Argument(help="validation | topic | response")],
    ) -> None:
        """Bring back the version that was live before the current one; the current one is retired."""
        from supportcue.training.registry import rollback as rollback_stage

        _check_stage(stage)
        restored, retired = rollback_stage(state(ctx).store, stage)
        console.print(f"{stage} {restored.version} is live again; {retired.version} is retired")


def versions_table(versions: list[ModelVersion], out: Console) -> Table:
    """The registry as a table for `out`, without the optional columns when they would not fit
    (`--json` has them all)."""
    rows = []
    for v in versions:
        s = v.metrics.get("summary", {})
        gate = v.metrics.get("gate")
        rows.append(
            {
                "stage": v.stage,
                "version": v.version,
                "status": v.status,
                "created": f"{v.created_at:%Y-%m-%d %H:%M}",
                "accuracy": f"{s['accuracy']:.3f}" if s else "-",
                "macro-F1": f"{s['macro_f1']:.3f}" if s else "-",
                "split": (v.metrics.get("split") or {}).get("kind", "time" if v.metrics.get("cut") else "-"),
                "gate": "-" if gate is None else ("passed" if gate["passed"] else "refused"),
                "data fingerprint": v.fingerprint[:12],
                "sha256": v.sha256[:12] if v.sha256 else "unverified",
            }
        )
    return fitted_table(rows, optional=("macro-F1", "data fingerprint", "sha256"), out=out)
