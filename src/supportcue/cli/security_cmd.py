"""Who may call the service: `keys create|list|revoke` (machines) and
`users add|list|set-role|set-password|remove` (people); `audit list`, every change made to them (here
or in the console), with who made it."""

from __future__ import annotations

import getpass
import json
import sys
import warnings
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from supportcue.cli.context import state
from supportcue.cli.output import console, fitted_table
from supportcue.errors import SupportcueError
from supportcue.vocab import Role

ROLES = " | ".join(Role)
keys_app = typer.Typer(help="API keys for machines (shown once, stored hashed).", no_args_is_help=True)
users_app = typer.Typer(
    help="Users who log in at /login (passwords hashed with argon2).", no_args_is_help=True
)
audit_app = typer.Typer(
    help="Who created or revoked which key, added, changed or removed which user, and when.",
    no_args_is_help=True,
)
RoleOption = Annotated[str, typer.Option("--role", help=ROLES)]
PasswordStdinOption = Annotated[
    bool, typer.Option("--password-stdin", help="read the password from standard input")
]


@keys_app.command("create")
def keys_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option("--name", help="what the key is for, e.g. chatwoot or grafana")],
    role: RoleOption,
    json_out: Annotated[bool, typer.Option("--json", help="one JSON object (the last line)")] = False,
) -> None:
    """Make a key and print it once: only its hash is stored, so copy it now."""
    from supportcue.security.keys import PLACEHOLDER_URL, create_key, embed_path

    cli = state(ctx)
    key = create_key(cli.store, name, role)
    embed = embed_path(key) if role == Role.EMBED else None
    public_url = cli.settings.service.public_url
    if json_out:
        shown: dict[str, str] = {"key": key, "name": name, "role": role}
        if embed:
            shown["embed_path"] = embed
            if public_url:
                shown["embed_url"] = public_url + embed
        print(json.dumps(shown))
        return
    print(f"key {name!r} ({role}) created; it is shown only this once:\n{key}")
    if embed:
        print("Chatwoot > Settings > Integrations > Dashboard Apps: add an app with the URL")
        print(f"  {public_url or PLACEHOLDER_URL}{embed}")
        if not public_url:
            print("(set [service] public_url to the address agents' browsers reach supportcue at)")
        return
    print(f"use it as the header  Authorization: Bearer {key[:8]}...")


@keys_app.command("list")
def keys_list(
    ctx: typer.Context,
    json_out: Annotated[bool, typer.Option("--json", help="one JSON object (the last line)")] = False,
) -> None:
    """The keys (name, role, first characters, created, last used: a stale key is one to revoke),
    never the keys themselves."""
    rows = [
        {
            "name": k.name,
            "role": k.role,
            "prefix": k.prefix,
            "created_at": k.created_at.isoformat(),
            "last_used_at": k.last_used_at.isoformat() if k.last_used_at else None,
        }
        for k in state(ctx).store.callers.api_keys()
    ]
    _print(rows, json_out, "API keys")


@keys_app.command("revoke")
def keys_revoke(ctx: typer.Context, name: Annotated[str, typer.Argument(help="the key's name")]) -> None:
    """Delete a key: every worker of a running server refuses it at once (PostgreSQL; SQLite: within 2 s)."""
    if not state(ctx).store.callers.revoke_key(name):
        raise SupportcueError(f"no key named {name!r} (see `supportcue keys list`)")
    print(f"key {name!r} revoked")


@users_app.command("add")
def users_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="the login name")],
    role: RoleOption,
    password_stdin: PasswordStdinOption = False,
) -> None:
    """Add a user; the password is asked for twice (hidden), or read once from standard input with
    --password-stdin."""
    from supportcue.security.users import add_user, check_new_user

    check_new_user(state(ctx).store, name, role)  # before the password is asked for
    add_user(state(ctx).store, name, role, _read_password(password_stdin))
    print(f"user {name!r} ({role}) added; they log in at /login")


@users_app.command("set-role")
def users_set_role(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="the login name")], role: RoleOption
) -> None:
    """Give a user another role (the last admin keeps theirs); their open sessions carry it at once
    (PostgreSQL; SQLite: within 2 s)."""
    from supportcue.security.users import set_role

    set_role(state(ctx).store, name, role)
    print(f"user {name!r} is now {role}")


@users_app.command("set-password")
def users_set_password(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="the login name")],
    password_stdin: PasswordStdinOption = False,
) -> None:
    """Reset a user's password (asked for twice, or read once from standard input with
    --password-stdin); their open sessions end."""
    from supportcue.security.users import set_password

    set_password(state(ctx).store, name, _read_password(password_stdin))
    print(f"password of {name!r} changed; their sessions ended, they log in again at /login")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    try:
        with warnings.catch_warnings():  # getpass says "input may be echoed" itself, without code
            warnings.simplefilter("ignore", getpass.GetPassWarning)
            password: str = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    except typer.Abort:  # end of input (nothing, or one line, piped in) or Ctrl-C
        raise SupportcueError(
            "no password given twice at the prompt: type it there (and again to confirm), or pass it "
            "once on standard input with --password-stdin"
        ) from None
    return password


@users_app.command("list")
def users_list(
    ctx: typer.Context,
    json_out: Annotated[bool, typer.Option("--json", help="one JSON object (the last line)")] = False,
) -> None:
    """The users and their roles."""
    rows = [
        {"name": u.name, "role": u.role, "created_at": u.created_at.isoformat()}
        for u in state(ctx).store.callers.users()
    ]
    _print(rows, json_out, "users")


@users_app.command("remove")
def users_remove(ctx: typer.Context, name: Annotated[str, typer.Argument(help="the login name")]) -> None:
    """Remove a user and end their sessions (not the last admin)."""
    from supportcue.security.users import remove_user

    remove_user(state(ctx).store, name)
    print(f"user {name!r} removed")


@audit_app.command("list")
def audit_list(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000, help="how many, newest first")] = 50,
    before: Annotated[
        int | None, typer.Option("--before", min=1, help="only those older than this id (the next page)")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="one JSON array (the last line)")] = False,
) -> None:
    """The changes to keys and users, newest first: when, who (`user:NAME` or `key:NAME` in the
    console, the system account at the CLI), through what, what and to whom. Never a key or password."""
    found = state(ctx).store.callers.audit(limit, before)
    rows: list[dict[str, Any]] = [
        {
            "id": r.id,
            "at": r.at.isoformat(),
            "actor": r.actor,
            "via": r.via,
            "action": r.action,
            "target": r.target,
            "role": r.role,
            "previous_role": r.previous_role,
        }
        for r in found
    ]
    if json_out or not rows:
        _print(rows, json_out, "changes to keys and users")
        return
    shown = [
        {
            "id": str(r.id),
            "at (UTC)": r.at.strftime("%Y-%m-%d %H:%M:%S"),
            "who": r.actor,
            "via": r.via,
            "action": r.action,
            "target": r.target,
            "role": f"{r.previous_role} -> {r.role}" if r.previous_role else r.role or "",
        }
        for r in found
    ]
    console.print(fitted_table(shown, optional=("id", "via"), wrap=("who", "target", "role")))
    if len(found) == limit:
        console.print(f"older ones: supportcue audit list --before {found[-1].id}")


def _print(rows: list[dict[str, Any]], json_out: bool, title: str) -> None:
    if json_out:
        print(json.dumps(rows))
        return
    if not rows:
        console.print(f"no {title} yet")
        return
    table = Table(title=title)
    for column in rows[0]:
        table.add_column(column)
    for row in rows:
        table.add_row(*(Text("" if v is None else str(v)) for v in row.values()))
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
    app.add_typer(users_app, name="users")
    app.add_typer(audit_app, name="audit")
