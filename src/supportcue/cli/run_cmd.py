"""Running the product: `demo`, `serve`, `suggest`, `report`, `purge`."""

from __future__ import annotations

import json
import shlex
import shutil
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from supportcue.cli.context import state
from supportcue.cli.output import console, emit, say
from supportcue.errors import SupportcueError
from supportcue.settings import CONFIG_NAME, ServiceSettings, Settings, get_settings, require_workspace

ANY_ADDRESS = ("0.0.0.0", "::", "")
MAX_DAYS = 100 * 366
"""`purge --older-than` at most (a century): more is a typo, and no date is that far back."""
SERVICE = ServiceSettings()
"""The service's defaults, which `serve --help` shows (a workspace's [service] section may change them)."""


def bound_hosts(settings: Settings, host: str) -> tuple[Settings, str | None]:
    """The settings to serve with on `host`, and a hint to print when people could be turned away.

    A specific address given to bind to is one the service answers to (no DNS rebinding comes as an
    IP address); on all addresses, only `[service] allowed_hosts` are answered, which the hint says.
    """
    allowed = settings.service.allowed_hosts
    if host in ANY_ADDRESS:
        if "*" in allowed:
            return settings, None
        return settings, (
            f"  answers only to the host names in [service] allowed_hosts ({', '.join(allowed)}); add the "
            "name people use, e.g. SUPPORTCUE_SERVICE__ALLOWED_HOSTS=support.example.com,localhost"
        )
    name = host.strip("[]").lower()
    if name in allowed:
        return settings, None
    service = settings.service.model_copy(update={"allowed_hosts": [*allowed, name]})
    return settings.model_copy(update={"service": service}), None


def invoked_as() -> str:
    """How to type this command again: `supportcue` when that is the one found on PATH, else the path
    it was run by (`.venv/bin/supportcue` after `make demo`, whose virtualenv is not activated: a
    `supportcue ...` to copy would be "command not found")."""
    ran = sys.argv[0] if sys.argv else ""
    if Path(ran).name != "supportcue":  # `python -m supportcue.cli`, a test runner
        return "supportcue"
    found = shutil.which("supportcue")
    if found and Path(found).resolve() == Path(ran).resolve():
        return "supportcue"
    return shlex.quote(ran)


def base_url(settings: Settings, host: str, port: int) -> str:
    """The address to print for people to open: the one bound to, or on all addresses (where
    `http://0.0.0.0:8000` would be turned away as a host name the service does not answer to) the
    first of `[service] allowed_hosts` that is a name of its own, loopback first."""
    name = host.strip("[]")
    if host in ANY_ADDRESS:
        allowed = [h for h in settings.service.allowed_hosts if "*" not in h and h != "testserver"]
        loopback = [h for h in ("127.0.0.1", "localhost", "::1") if h in allowed or "*" in allowed]
        name = next(iter(loopback + allowed), "127.0.0.1")
    return f"http://[{name}]:{port}" if ":" in name else f"http://{name}:{port}"


def call_hint(base: str, sample: dict[str, str] | None = None) -> str:
    """How to call /v1/suggest: with `sample` (the demo's own question), else with a placeholder
    message and how to get a key, which is true of any workspace."""
    body = json.dumps(sample or {"message": "TEXT OF A CUSTOMER MESSAGE"})
    curl = (
        f"curl -s {base}/v1/suggest -H 'authorization: Bearer KEY' -H 'content-type: application/json' "
        f"-d '{body}'"
    )
    if sample:
        return f"  try: {curl}"
    return (
        "  call it with a key (`supportcue keys create --name NAME --role integration` prints one):\n"
        f"    {curl}"
    )


def _check_port(host: str, port: int) -> None:
    """Fail before saying "serving" when the address cannot be listened on (in use, not this host's)."""
    import socket

    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            probe.bind(address)
    except OSError as exc:
        raise SupportcueError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; choose another with --host/--port "
            f"(or [service] host and port in {CONFIG_NAME})"
        ) from None


WORKERS_HELP = (
    "processes to serve with, on one port (needs PostgreSQL when more than 1). Each loads the models "
    "and follows the registry; the request rate limit is counted per process, so a caller may get up to "
    "N times \\[security] rate_per_minute and burst (failed logins are counted in the database, across "
    "every worker). A rule of thumb: one per core"
)


def _serve(
    settings: Settings, host: str, port: int, sample: dict[str, str] | None = None, workers: int = 1
) -> None:
    """Serve the workspace with `workers` processes; `sample` is a request to show in the start-up
    lines (the demo's)."""
    from supportcue.cli.context import open_workspace_store
    from supportcue.security.bind import check_exposure
    from supportcue.service import create_app
    from supportcue.service.workers import check_workers, log_to_stderr, run_one_process, run_workers
    from supportcue.training.loader import check_stage_names

    check_workers(settings, workers)
    check_stage_names(settings)  # a misspelled stage stops start-up, as a bad value does
    store = open_workspace_store(settings)
    try:
        callers = store.callers.count()
    finally:
        store.close()
    check_exposure(host, callers)
    _check_port(host, port)
    settings, hint = bound_hosts(settings, host)
    base = base_url(settings, host, port)
    # plain print: these lines are meant to be copied, so they must never be wrapped
    listening = f" (listening on every address, {host or '0.0.0.0'}:{port})" if host in ANY_ADDRESS else ""
    print(f"supportcue serving {settings.workspace.resolve()} at {base}{listening}")
    print(f"  agent console {base}/   dashboard {base}/dashboard   API docs {base}/docs")
    if not callers:
        print("  nobody can call it yet: add a user (`supportcue users add NAME --role admin`) or a key")
    print(call_hint(base, sample), flush=True)
    if hint:
        print(hint, flush=True)
    if workers > 1:
        print(
            f"  {workers} worker processes (/readyz names the one answering); the request rate limit "
            f"counts per worker: up to {workers} x [security] rate_per_minute",
            flush=True,
        )
        run_workers(settings, host, port, workers)
        return
    _keep_on_hangup()
    log_to_stderr()
    run_one_process(settings, create_app(settings), host, port)


def _keep_on_hangup() -> None:
    """SIGHUP replaces the workers of `serve --workers N` (uvicorn's supervisor); one process has no
    supervisor to start its replacement, and SIGHUP's default would end it on the spot (requests
    under way cut off, the service down; also when the terminal it runs in closes). Say so instead."""
    if not hasattr(signal, "SIGHUP"):
        return

    def said(signum: int, frame: object) -> None:
        print(
            "SIGHUP: one process (--workers 1) cannot replace itself and keeps serving; restart serve "
            f"to read {CONFIG_NAME} again (SIGHUP replaces the workers of serve --workers 2 or more)",
            file=sys.stderr,
            flush=True,
        )

    signal.signal(signal.SIGHUP, said)


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        workspace: Annotated[Path, typer.Option("--workspace", help="folder to build")] = Path(
            "demo-workspace"
        ),
        no_serve: Annotated[bool, typer.Option("--no-serve", help="build only, do not serve")] = False,
        port: Annotated[int, typer.Option(min=1, max=65535, help="port to serve on")] = SERVICE.port,
        seed: Annotated[int, typer.Option(help="seed of the generated data")] = 7,
    ) -> None:
        """Build the demo workspace (a fictional payments platform), train every stage, and serve it."""
        from supportcue.demo.workspace import SAMPLE_REQUEST, build_demo_workspace, demo_users

        if not no_serve:
            _check_port("127.0.0.1", port)  # before minutes of building, not after

        def said(text: str) -> None:
            say(text, style="dim")  # never wrapped: the lines name commands to copy

        with console.status("building the demo workspace"):
            summary = build_demo_workspace(workspace, seed=seed, progress=said)
        say(summary)
        # plain print: passwords must be copyable; they are shown only now (new ones on every run)
        print(f"log in at http://127.0.0.1:{port}/login as (passwords shown once, new on every run):")
        for name, role, password in demo_users(workspace):
            print(f"  {role:<6}  name {name:<6}  password {password}")
        command = f"{invoked_as()} --workspace {shlex.quote(str(workspace))}"
        key = f"{command} keys create --name try-it --role integration"
        print(f"an API key for /v1/suggest (the key is shown once): {key}")
        if no_serve:
            print(f"built; serve it with: {command} serve --port {port}")
            return
        _serve(require_workspace(get_settings(workspace)), "127.0.0.1", port, SAMPLE_REQUEST)

    @app.command()
    def serve(
        ctx: typer.Context,
        host: Annotated[
            str | None,
            typer.Option(
                help="address to listen on (0.0.0.0: all)",
                show_default=f"{SERVICE.host}, or [service] host in {CONFIG_NAME}",
            ),
        ] = None,
        port: Annotated[
            int | None,
            typer.Option(
                min=1,
                max=65535,
                help="port to listen on",
                show_default=f"{SERVICE.port}, or [service] port in {CONFIG_NAME}",
            ),
        ] = None,
        workers: Annotated[
            int | None,
            typer.Option(
                min=1,
                max=64,
                help=WORKERS_HELP,
                show_default=f"{SERVICE.workers}, or [service] workers in {CONFIG_NAME}",
            ),
        ] = None,
    ) -> None:
        """Serve the suggestion API, the agent console and the dashboard (SIGTERM or Ctrl-C stops it
        after the requests under way are answered and stored)."""
        settings = state(ctx).settings
        _serve(
            settings,
            settings.service.host if host is None else host,
            settings.service.port if port is None else port,
            workers=settings.service.workers if workers is None else workers,
        )

    @app.command()
    def suggest(
        ctx: typer.Context,
        message: Annotated[str, typer.Argument(help="the customer's message")],
        customer_name: Annotated[
            str | None, typer.Option(help="fills {customer_name} (default: the stored case's)")
        ] = None,
        case_id: Annotated[
            str | None,
            typer.Option(
                help="store the suggestion against this case; a stored case's fields fill the answer's "
                "placeholders, as in the console"
            ),
        ] = None,
        json_out: Annotated[bool, typer.Option("--json", help="one JSON object (the last line)")] = False,
    ) -> None:
        """Run the pipeline on one message, as the service would (the suggestion is stored; with
        --case-id, the case gets its arm in the running experiment, and the control arm sees none)."""
        from supportcue.experiments import assign_case, with_assignment
        from supportcue.pipeline import SuggestRequest, with_case
        from supportcue.training.loader import load_pipeline
        from supportcue.vocab import SuggestionOrigin

        if not message.strip():
            raise typer.BadParameter("the message is empty", param_hint="MESSAGE")
        cli = state(ctx)
        store = cli.store
        pipeline = load_pipeline(store, cli.settings)
        pipeline.embed(["warm up"])  # loading the model is not the pipeline's latency
        request = SuggestRequest(message=message, customer_name=customer_name, case_id=case_id)
        stored = store.cases.details(case_id) if case_id else None
        if stored is not None:  # as POST /v1/suggest completes a request from its stored case
            request = with_case(request, *stored)
        result = pipeline.suggest(with_assignment(request, assign_case(store, case_id)))
        store.cases.add_suggestions([{**result.row(), "origin": SuggestionOrigin.CLI}])
        if json_out:
            # the operator sees the whole trace, the shadow chain's too (an agent is answered the live one)
            print(json.dumps({**result.public(), "trace": result.trace}, default=str))
            return
        if result.text is None:
            console.print(
                f"[yellow]no suggestion[/yellow]: abstained at {result.abstained_at}: "
                f"{escape(str(result.reason))}",
                highlight=False,
            )
        else:
            console.print(
                f"[bold]topic[/bold] {result.topic} ({result.confidence:.2f}), answer {result.answer_id}"
            )
            console.print(result.text, highlight=False, markup=False)
        for step in result.trace:
            console.print(json.dumps(step, default=str), style="dim", highlight=False, markup=False)

    @app.command()
    def purge(
        ctx: typer.Context,
        older_than: Annotated[
            float, typer.Option("--older-than", help="purge cases created more than DAYS ago", metavar="DAYS")
        ],
        dry_run: Annotated[bool, typer.Option("--dry-run", help="count only, change nothing")] = False,
        json_out: Annotated[bool, typer.Option("--json", help="one JSON object (the last line)")] = False,
    ) -> None:
        """Retention: remove old cases' text (message, context, customer name, fields, suggestion and
        event texts); the counts, match outcomes and handle times that `report` uses are kept."""
        from supportcue.monitoring.retention import purge as run_purge

        if not 0 <= older_than <= MAX_DAYS:  # also refuses nan
            raise typer.BadParameter(
                f"DAYS must be 0 or more, and at most {MAX_DAYS:,}", param_hint="--older-than"
            )
        from rich.progress import Progress, SpinnerColumn, TextColumn

        store = state(ctx).store
        with Progress(
            SpinnerColumn(), TextColumn("{task.description}"), transient=True, disable=json_out
        ) as bar:
            task = bar.add_task("purging old cases")
            result = run_purge(
                store,
                older_than,
                dry_run=dry_run,
                progress=lambda n: bar.update(task, description=f"purging old cases: {n:,} done"),
            )
        emit(result, json_out, title="purge (dry run: nothing changed)" if dry_run else "purge")

    @app.command()
    def report(
        ctx: typer.Context,
        since: Annotated[str | None, typer.Option(help="ISO date, e.g. 2026-10-01")] = None,
        until: Annotated[str | None, typer.Option(help="ISO date (exclusive)")] = None,
        group_by: Annotated[
            str | None, typer.Option(help="day | topic | stage | model | arm | agent")
        ] = None,
        json_out: Annotated[bool, typer.Option("--json", help="one JSON object (the last line)")] = False,
    ) -> None:
        """Online metrics: match rate, adoption, coverage, funnel, latency, shadow agreement."""
        from supportcue.monitoring.metrics import GROUPS, compute_report, parse_range, print_report

        try:  # parsed here, so that an error names the option (the API's names its query parameter)
            start, end = parse_range(since, until, names=("--since", "--until"))
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
        if group_by is not None and group_by not in GROUPS:
            raise typer.BadParameter(
                f"{group_by!r} is not one of: {', '.join(GROUPS)}", param_hint="--group-by"
            )
        cli = state(ctx)
        result = compute_report(cli.store, cli.settings, since=start, until=end, group_by=group_by)
        if json_out:
            emit(result, True)
            return
        print_report(result, console)
