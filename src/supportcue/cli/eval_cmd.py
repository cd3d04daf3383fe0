"""`supportcue eval ...`: measure the system on any labeled files (the contract in DESIGN.md).

Run inside a workspace, eval uses its settings (embedding model, `[match] threshold`, `[response]
min_score`); outside one, the documented defaults."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from supportcue.cli.context import state
from supportcue.cli.output import emit

if TYPE_CHECKING:
    from supportcue.embeddings import Embedder
    from supportcue.settings import Settings

eval_app = typer.Typer(help="Evaluate on your own labeled .csv/.jsonl files.", no_args_is_help=True)

FileOpt = Annotated[
    Path, typer.Option(exists=True, dir_okay=False, readable=True, help="rows to fit on (.csv or .jsonl)")
]
ValOpt = Annotated[
    Path,
    typer.Option(exists=True, dir_okay=False, readable=True, help="rows the threshold is chosen on"),
]
TestOpt = Annotated[
    Path, typer.Option(exists=True, dir_okay=False, readable=True, help="rows that are only scored")
]
TextCol = Annotated[str, typer.Option("--text-col", help="column holding the message text")]
LabelCol = Annotated[str, typer.Option("--label-col", help="column holding the label")]
PredOpt = Annotated[Path | None, typer.Option("--predictions", help="write one JSON row per test row")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print the result as one JSON object, last line")]


def _warn_overlap(result: dict[str, Any], train: Path, test: Path) -> None:
    """Say so on stderr when --test repeats texts of --train: the figures are then flattered."""
    from supportcue.cli.output import warn

    n = int(result.get("test_in_train") or 0)
    if not n:
        return
    unseen = result.get("accuracy_unseen")
    figure = f" (accuracy on the other rows: {unseen:.4f})" if isinstance(unseen, float) else ""
    warn(
        f"{n} of {result['n_test']} rows of {test} ({result['test_in_train_share']:.0%}) have a "
        f"text that {train} holds too (ignoring case and spacing), so the figures partly measure rows "
        f"the model was fitted on{figure}; leave those texts out of {test.name}, or split the history "
        "by time"
    )


def _warn_unseen_labels(result: dict[str, Any], train: Path, test: Path) -> None:
    """Say so on stderr when --test has labels --train never has: those rows can never be right."""
    from supportcue.cli.output import warn

    n = int(result.get("n_test_unseen_label") or 0)
    if not n:
        return
    labels = list(result.get("unseen_labels") or [])
    shown = ", ".join(repr(label) for label in labels[:5]) + (
        f" and {len(labels) - 5} more" if len(labels) > 5 else ""
    )
    warn(
        f"{n} of {result['n_test']} rows of {test} have a label that {train} never has ({shown}), "
        "so no model trained on it can predict them and they count as errors; check the spelling and "
        "case of the labels, or leave those rows out"
    )


def _warn_calibration_overlap(result: dict[str, Any], val: Path, test: Path) -> None:
    """Say so on stderr when --test texts are among what eval oos chose its threshold on (--val, the
    negatives): those rows were scored by a threshold fitted on them."""
    from supportcue.cli.output import warn

    in_val, in_negatives = int(result.get("test_in_val") or 0), int(result.get("test_in_negatives") or 0)
    if not in_val and not in_negatives:
        return
    where = [f"{in_val} in {val}"] if in_val else []
    where += [f"{in_negatives} in the negatives (built-in, --negatives)"] if in_negatives else []
    warn(
        f"rows of {test} have a text that the threshold was chosen on ({'; '.join(where)}; "
        f"ignoring case and spacing), so the out-of-scope figures partly measure rows it was calibrated "
        f"on; leave those texts out of {test.name}"
    )


def _settings(ctx: typer.Context) -> tuple[Settings, Embedder, str | None]:
    """The workspace's settings and embedder when run in one, else the defaults (eval needs no
    workspace); the last item names the workspace, for the result."""
    from supportcue.eval.labeled import cache_dir
    from supportcue.training.loader import workspace_embedder

    settings, in_workspace = state(ctx).settings_or_defaults()
    if in_workspace:
        return settings, workspace_embedder(settings), str(settings.workspace.resolve())
    return settings, workspace_embedder(settings, cache_dir=cache_dir()), None


@eval_app.command("classify")
def classify(
    ctx: typer.Context,
    train: FileOpt,
    test: TestOpt,
    text_col: TextCol = "text",
    label_col: LabelCol = "label",
    shots_per_label: Annotated[int | None, typer.Option(min=1, help="keep N labeled rows per label")] = None,
    seed: Annotated[int, typer.Option(help="seed for --shots-per-label sampling")] = 0,
    use_unlabeled: Annotated[bool, typer.Option(help="use the rest of --train as unlabeled text")] = False,
    predictions: PredOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Topic classification: train on --train, report accuracy and macro-F1 on --test."""
    from supportcue.eval.classify import run_classify

    _, embedder, workspace = _settings(ctx)
    result: dict[str, Any] = run_classify(
        train=train,
        test=test,
        text_col=text_col,
        label_col=label_col,
        shots_per_label=shots_per_label,
        seed=seed,
        use_unlabeled=use_unlabeled,
        predictions=predictions,
        embedder=embedder,
    )
    emit({**result, "workspace": workspace}, json_out, title="eval classify")
    _warn_overlap(result, train, test)
    _warn_unseen_labels(result, train, test)


@eval_app.command("oos")
def oos(
    ctx: typer.Context,
    train: FileOpt,
    val: ValOpt,
    test: TestOpt,
    text_col: TextCol = "text",
    label_col: LabelCol = "label",
    oos_label: Annotated[str, typer.Option("--oos-label", help="label value of out-of-scope rows")] = "oos",
    negatives: Annotated[
        Path | None,
        typer.Option(
            "--negatives",
            exists=True,
            dir_okay=False,
            help="more out-of-scope examples (a file with the --text-col column, e.g. chit-chat)",
        ),
    ] = None,
    target_recall: Annotated[
        float,
        typer.Option("--target-recall", help="out-of-scope recall the threshold aims for (plus a margin)"),
    ] = 0.9,
    seed: Annotated[int, typer.Option("--seed", help="seed of the calibration split of --train")] = 0,
    predictions: PredOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Out-of-scope detection: calibrated on held-out scores of --train (a slice, or every row
    cross-fitted when --train has --oos-label rows), on --val and on negatives (built-in, the demo's,
    --negatives); the threshold aims at --target-recall, at most where in-scope accuracy and recall
    balance; measured on --test."""
    from supportcue.eval.oos import run_oos

    _, embedder, workspace = _settings(ctx)
    result: dict[str, Any] = run_oos(
        train=train,
        val=val,
        test=test,
        text_col=text_col,
        label_col=label_col,
        oos_label=oos_label,
        predictions=predictions,
        embedder=embedder,
        negatives=negatives,
        target_recall=target_recall,
        seed=seed,
    )
    emit({**result, "workspace": workspace}, json_out, title="eval oos")
    _warn_overlap(result, train, test)
    _warn_calibration_overlap(result, val, test)
    _warn_unseen_labels(result, train, test)


@eval_app.command("suggest")
def suggest(
    ctx: typer.Context,
    train: FileOpt,
    test: TestOpt,
    text_col: TextCol = "text",
    reply_col: Annotated[str, typer.Option("--reply-col", help="column holding the agent's reply")] = "reply",
    label_col: Annotated[str | None, typer.Option("--label-col", help="topic column, if any")] = None,
    mode: Annotated[
        str | None,
        typer.Option(
            "--mode",
            help="library | llm | hybrid: the response mode to measure (default: the workspace's "
            "\\[response] mode); llm and hybrid call the \\[llm] server",
        ),
    ] = None,
    drafts: Annotated[
        str,
        typer.Option(
            "--drafts",
            help="consensus | replies: each topic's first library answer is the consensus draft of "
            "its train replies (whole shared sentences), or the train reply that covers the most others",
        ),
    ] = "consensus",
    predictions: PredOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Reply suggestion: library built from --train pairs, each --test suggestion scored by match."""
    from supportcue.eval.suggest import run_suggest, with_mode

    settings, embedder, workspace = _settings(ctx)
    settings = with_mode(settings, mode)
    llm, articles = _llm(ctx, settings) if settings.uses_llm else (None, [])
    result: dict[str, Any] = run_suggest(
        train=train,
        test=test,
        text_col=text_col,
        reply_col=reply_col,
        label_col=label_col,
        predictions=predictions,
        embedder=embedder,
        threshold=settings.match.threshold,
        drafts=drafts,
        settings=settings,
        llm=llm,
        articles=articles,
    )
    emit({**result, "workspace": workspace}, json_out, title="eval suggest")
    _warn_overlap(result, train, test)


def _llm(ctx: typer.Context, settings: Settings) -> tuple[Any, list[Any]]:
    """The [llm] client, its replies cached (a rerun costs no calls), and the workspace's KB articles
    when run inside one."""
    from supportcue.eval.labeled import cache_dir
    from supportcue.llm.client import CachedChatClient, make_client
    from supportcue.providers import kb_articles

    _, in_workspace = state(ctx).settings_or_defaults()
    folder = settings.cache_dir if in_workspace else cache_dir()
    client = CachedChatClient(make_client(settings.llm), folder)
    articles = list(kb_articles(state(ctx).store)) if in_workspace else []
    return client, articles
