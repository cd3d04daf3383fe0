"""`supportcue keys ...` and `users ...` on both databases: a key is shown once and only its hash is
stored, revoked keys and removed users are gone, passwords are read hidden or from stdin; `serve`
refuses a non-loopback host while nobody could call it; `demo` gives its workspace two users."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from supportcue.cli import app
from supportcue.data.store import Store, open_store
from supportcue.demo.workspace import demo_users
from supportcue.errors import SupportcueError
from supportcue.security.users import authenticate
from supportcue.settings import get_settings, init_workspace

PASSWORD = "correct horse battery"


@pytest.fixture
def workspace(tmp_path: Path, database_url: str) -> tuple[Path, dict[str, str]]:
    init_workspace(tmp_path)
    return tmp_path, {"SUPPORTCUE_DATABASE_URL": database_url}


def run(ws: tuple[Path, dict[str, str]], *args: str, stdin: str | None = None) -> Result:
    folder, env = ws
    return CliRunner().invoke(app, ["--workspace", str(folder), *args], env=env, input=stdin)


def store_of(ws: tuple[Path, dict[str, str]]) -> Store:
    return open_store(ws[1]["SUPPORTCUE_DATABASE_URL"])


def test_a_key_is_shown_once_and_stored_hashed(workspace: tuple[Path, dict[str, str]]) -> None:
    made = run(workspace, "keys", "create", "--name", "helpdesk", "--role", "integration", "--json")
    assert made.exit_code == 0, made.output
    shown = json.loads(made.stdout.strip().splitlines()[-1])
    key = shown["key"]
    assert shown == {"key": key, "name": "helpdesk", "role": "integration"} and len(key) >= 40
    store = store_of(workspace)
    rows = list(store.db.rows("api_keys"))
    store.close()
    assert len(rows) == 1 and key not in json.dumps(rows, default=str)
    assert rows[0]["key_hash"] == hashlib.sha256(key.encode()).hexdigest()
    listed = run(workspace, "keys", "list", "--json")
    assert key not in listed.stdout and key[3:] not in listed.stdout
    entry = json.loads(listed.stdout)[0]
    assert (entry["name"], entry["role"]) == ("helpdesk", "integration") and key.startswith(entry["prefix"])
    plain = run(workspace, "keys", "create", "--name", "grafana", "--role", "metrics")
    assert plain.exit_code == 0 and "shown only this once" in plain.stdout


def test_an_embed_key_comes_with_the_dashboard_app_url_and_no_person_has_the_role(
    workspace: tuple[Path, dict[str, str]],
) -> None:
    made = run(workspace, "keys", "create", "--name", "chatwoot-embed", "--role", "embed", "--json")
    shown = json.loads(made.stdout.strip().splitlines()[-1])
    assert shown["role"] == "embed" and shown["embed_path"] == f"/embed/chatwoot#key={shown['key']}"
    assert "embed_url" not in shown
    plain = run(workspace, "keys", "create", "--name", "chatwoot-embed-2", "--role", "embed")
    assert (
        "Dashboard Apps" in plain.stdout
        and "https://YOUR-SUPPORTCUE-HOST/embed/chatwoot#key=sc_" in plain.stdout
    )
    assert "[service] public_url" in plain.stdout
    folder, env = workspace
    env = {**env, "SUPPORTCUE_SERVICE__PUBLIC_URL": "https://cue.example.com/"}
    get_settings.cache_clear()  # the settings are read once per process: read them with the new variable
    plain = CliRunner().invoke(
        app, ["--workspace", str(folder), "keys", "create", "--name", "e3", "--role", "embed"], env=env
    )
    assert (
        "  https://cue.example.com/embed/chatwoot#key=sc_" in plain.stdout
        and "YOUR-SUPPORTCUE-HOST" not in plain.stdout
    )
    made = CliRunner().invoke(
        app,
        ["--workspace", str(folder), "keys", "create", "--name", "e4", "--role", "embed", "--json"],
        env=env,
    )
    shown = json.loads(made.stdout.strip().splitlines()[-1])
    assert shown["embed_url"] == f"https://cue.example.com/embed/chatwoot#key={shown['key']}"
    refused = run(
        workspace, "users", "add", "eve", "--role", "embed", "--password-stdin", stdin=PASSWORD + "\n"
    )
    assert isinstance(refused.exception, SupportcueError) and "not for people" in str(refused.exception)


def test_export_never_writes_a_password_key_or_session_hash(
    workspace: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    key = json.loads(run(workspace, "keys", "create", "--name", "hd", "--role", "agent", "--json").stdout)
    run(workspace, "users", "add", "ana", "--role", "agent", "--password-stdin", stdin=PASSWORD + "\n")
    store = store_of(workspace)
    try:
        ana = store.callers.user("ana")
        assert ana is not None
        expires = datetime.now(UTC) + timedelta(hours=1)
        assert store.callers.add_session("ab" * 32, "ana", expires, ana.password_hash)
    finally:
        store.close()
    expected = {
        "users": ["name", "role", "created_at"],
        "api_keys": ["name", "role", "prefix", "created_at", "last_used_at"],
    }
    for table, columns in expected.items():
        for suffix in (".csv", ".jsonl"):
            out = tmp_path / f"{table}{suffix}"
            done = run(workspace, "export", table, str(out))
            assert done.exit_code == 0, done.output
            assert "(without " in done.stdout and "secrets stay in the database" in done.stdout
            text = out.read_text()
            header = text.splitlines()[0].split(",") if suffix == ".csv" else list(json.loads(text))
            assert header == columns
            assert "$argon2id$" not in text and hashlib.sha256(key["key"].encode()).hexdigest() not in text
    refused = run(workspace, "export", "login_sessions", str(tmp_path / "s.csv"))
    assert isinstance(refused.exception, SupportcueError)
    assert "'login_sessions' is not exported" in str(refused.exception)
    assert not (tmp_path / "s.csv").exists()


def test_a_revoked_key_is_gone(workspace: tuple[Path, dict[str, str]]) -> None:
    run(workspace, "keys", "create", "--name", "old", "--role", "agent", "--json")
    assert run(workspace, "keys", "revoke", "old").exit_code == 0
    assert json.loads(run(workspace, "keys", "list", "--json").stdout) == []
    again = run(workspace, "keys", "revoke", "old")
    assert isinstance(again.exception, SupportcueError) and "no key named 'old'" in str(again.exception)


def test_a_key_name_in_use_is_refused_with_the_command_that_frees_it(
    workspace: tuple[Path, dict[str, str]],
) -> None:
    assert run(workspace, "keys", "create", "--name", "try-it", "--role", "agent").exit_code == 0
    taken = run(workspace, "keys", "create", "--name", "try-it", "--role", "agent")
    assert isinstance(taken.exception, SupportcueError)
    assert "supportcue keys revoke try-it" in str(taken.exception)
    assert run(workspace, "keys", "revoke", "try-it").exit_code == 0  # which frees the name
    assert run(workspace, "keys", "create", "--name", "try-it", "--role", "agent").exit_code == 0


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (
            ["keys", "create", "--name", "x", "--role", "boss"],
            "unknown role 'boss'; allowed: agent, reviewer",
        ),
        (["keys", "create", "--name", "bad name", "--role", "agent"], "key name 'bad name'"),
        # the name's pattern ended in `$`, which also matches before a last line break: "ana\n" was
        # a user (whom the login form, which reads the name whole, never lets in) and a key name
        (["users", "add", "ana\n", "--role", "agent"], "user name 'ana\\n'"),
        (["keys", "create", "--name", "k1\n", "--role", "agent"], "key name 'k1\\n'"),
        # "letters" refused the letters of José, and only once the password was typed twice: the
        # message says which letters a name may use, before the password is asked for
        (["users", "add", "José", "--role", "agent"], "user name 'José': use 1-80 ASCII letters (a-z, A-Z)"),
        (["users", "add", "ana", "--role", "embed"], "the embed role is for the key"),
        (["users", "add", "ana", "--role", "agent", "--password-stdin"], "too short"),
    ],
)
def test_bad_input_is_a_clear_error(
    workspace: tuple[Path, dict[str, str]], args: list[str], says: str
) -> None:
    result = run(workspace, *args, stdin="short\n")
    assert isinstance(result.exception, SupportcueError) and says in str(result.exception)


def test_users_add_list_remove(workspace: tuple[Path, dict[str, str]]) -> None:
    added = run(
        workspace, "users", "add", "ana", "--role", "agent", "--password-stdin", stdin=PASSWORD + "\n"
    )
    assert added.exit_code == 0, added.output
    prompted = run(workspace, "users", "add", "rita", "--role", "admin", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert prompted.exit_code == 0, prompted.output
    assert PASSWORD not in prompted.output  # hidden while typed
    users = json.loads(run(workspace, "users", "list", "--json").stdout)
    assert [(u["name"], u["role"]) for u in users] == [("ana", "agent"), ("rita", "admin")]
    store = store_of(workspace)
    try:
        hashes = [r["password_hash"] for r in store.db.rows("users")]
        assert all(h.startswith("$argon2id$") and PASSWORD not in h for h in hashes)
        assert authenticate(store, "ana", PASSWORD) is not None
        assert authenticate(store, "ana", PASSWORD + "!") is None
    finally:
        store.close()
    twice = run(workspace, "users", "add", "ana", "--role", "agent", "--password-stdin", stdin=PASSWORD)
    assert "a user named 'ana' exists" in str(twice.exception)
    assert run(workspace, "users", "remove", "ana").exit_code == 0
    assert [u["name"] for u in json.loads(run(workspace, "users", "list", "--json").stdout)] == ["rita"]


def test_users_set_role_and_set_password(workspace: tuple[Path, dict[str, str]]) -> None:
    """An operator changes a role or resets a forgotten password without removing the user (which
    would also drop who they were in the figures' history)."""
    assert (
        run(workspace, "users", "add", "ana", "--role", "agent", "--password-stdin", stdin=PASSWORD).exit_code
        == 0
    )
    store = store_of(workspace)
    try:
        expires = datetime.now(UTC) + timedelta(hours=1)
        old_hash = store.callers.users()[0].password_hash
        assert store.callers.add_session("s" * 64, "ana", expires, old_hash)
        promoted = run(workspace, "users", "set-role", "ana", "--role", "reviewer")
        assert promoted.exit_code == 0 and "'ana' is now reviewer" in promoted.stdout
        assert store.callers.user("ana").role == "reviewer"  # type: ignore[union-attr]
        assert store.callers.session_user("s" * 64) is not None  # a role change keeps her logged in
        for bad, says in [
            (("set-role", "ana", "--role", "embed"), "the embed role is for the key"),
            (("set-role", "ana", "--role", "boss"), "boss"),
            (("set-role", "bo", "--role", "agent"), "no user named 'bo'"),
            (("set-password", "bo", "--password-stdin"), "no user named 'bo'"),
        ]:
            refused = run(workspace, "users", *bad, stdin=PASSWORD + "2")
            assert isinstance(refused.exception, SupportcueError) and says in str(refused.exception)
        assert store.callers.user("ana").role == "reviewer"  # type: ignore[union-attr]
        short = run(workspace, "users", "set-password", "ana", "--password-stdin", stdin="short\n")
        assert "too short" in str(short.exception) and authenticate(store, "ana", PASSWORD) is not None
        reset = run(workspace, "users", "set-password", "ana", stdin=f"{PASSWORD}2\n{PASSWORD}2\n")
        assert reset.exit_code == 0 and PASSWORD not in reset.output, reset.output
        assert authenticate(store, "ana", PASSWORD) is None
        assert authenticate(store, "ana", PASSWORD + "2") is not None
        assert store.callers.session_user("s" * 64) is None  # a reset ends her sessions
    finally:
        store.close()


def cli(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "supportcue.cli", "--workspace", str(folder), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_serve_refuses_a_network_address_while_nobody_could_call_it(tmp_path: Path) -> None:
    init_workspace(tmp_path)
    refused = cli(tmp_path, "serve", "--host", "0.0.0.0", "--port", "9")
    assert refused.returncode != 0
    assert "refusing to serve on 0.0.0.0: no user or API key exists" in refused.stderr
    assert "supportcue users add NAME --role admin" in " ".join(refused.stderr.split())


def test_demo_users_get_fresh_passwords_on_every_run(tmp_path: Path) -> None:
    init_workspace(tmp_path)
    first = {name: (role, password) for name, role, password in demo_users(tmp_path)}
    assert {n: r for n, (r, _) in first.items()} == {"admin": "admin", "agent": "agent"}
    second = dict((n, p) for n, _, p in demo_users(tmp_path))
    store = open_store(f"sqlite:///{tmp_path / 'supportcue.db'}")
    try:
        assert authenticate(store, "agent", second["agent"]) is not None
        assert authenticate(store, "agent", first["agent"][1]) is None
    finally:
        store.close()


def test_a_taken_user_name_is_refused_before_the_password_is_asked_for(
    workspace: tuple[Path, dict[str, str]],
) -> None:
    """An admin typed the new password twice, and only then learnt that the name was taken."""
    assert (
        run(workspace, "users", "add", "ana", "--role", "agent", "--password-stdin", stdin=PASSWORD).exit_code
        == 0
    )
    again = run(workspace, "users", "add", "ana", "--role", "agent")  # would prompt: no input given
    assert isinstance(again.exception, SupportcueError) and "a user named 'ana' exists" in str(
        again.exception
    )
    assert "Password" not in again.output


def test_the_last_admin_is_neither_removed_nor_demoted(workspace: tuple[Path, dict[str, str]]) -> None:
    """`users remove` and `users set-role` keep one admin (the rule is the store's, the console's too)."""
    added = run(workspace, "users", "add", "rita", "--role", "admin", "--password-stdin", stdin=PASSWORD)
    assert added.exit_code == 0, added.output
    for args in (("remove", "rita"), ("set-role", "rita", "--role", "reviewer")):
        refused = run(workspace, "users", *args)
        assert isinstance(refused.exception, SupportcueError)
        assert "'rita' is the last admin" in str(refused.exception)
    users = json.loads(run(workspace, "users", "list", "--json").stdout)
    assert [(u["name"], u["role"]) for u in users] == [("rita", "admin")]


def test_audit_list_shows_every_change_made_at_the_cli_without_a_secret(
    workspace: tuple[Path, dict[str, str]],
) -> None:
    made = run(workspace, "keys", "create", "--name", "helpdesk", "--role", "integration", "--json")
    key = json.loads(made.stdout.strip().splitlines()[-1])["key"]
    assert (
        run(
            workspace, "users", "add", "rita", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n"
        ).exit_code
        == 0
    )
    assert (
        run(
            workspace, "users", "add", "ana", "--role", "agent", "--password-stdin", stdin=PASSWORD + "\n"
        ).exit_code
        == 0
    )
    assert run(workspace, "users", "set-role", "ana", "--role", "reviewer").exit_code == 0
    assert (
        run(workspace, "users", "set-password", "ana", "--password-stdin", stdin="x" * 12 + "\n").exit_code
        == 0
    )
    assert run(workspace, "users", "remove", "ana").exit_code == 0
    assert run(workspace, "keys", "revoke", "helpdesk").exit_code == 0

    listed = run(workspace, "audit", "list", "--json")
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout.strip().splitlines()[-1])
    assert [(r["action"], r["target"], r["role"], r["previous_role"]) for r in rows] == [
        ("key.revoke", "helpdesk", "integration", None),
        ("user.remove", "ana", "reviewer", None),
        ("user.set_password", "ana", "reviewer", None),
        ("user.set_role", "ana", "reviewer", "agent"),
        ("user.add", "ana", "agent", None),
        ("user.add", "rita", "admin", None),
        ("key.create", "helpdesk", "integration", None),
    ]
    assert {r["via"] for r in rows} == {"cli"} and all(r["actor"] for r in rows)
    assert set(rows[0]) == {"id", "at", "actor", "via", "action", "target", "role", "previous_role"}
    for secret in (key, key[3:], hashlib.sha256(key.encode()).hexdigest(), PASSWORD, "x" * 12):
        assert secret not in listed.stdout
    page = json.loads(
        run(workspace, "audit", "list", "--json", "--limit", "2", "--before", str(rows[1]["id"])).stdout
    )
    assert [r["id"] for r in page] == [rows[2]["id"], rows[3]["id"]]
    table = run(workspace, "audit", "list", "--limit", "3")
    assert table.exit_code == 0 and "user.remove" in table.stdout
    assert f"supportcue audit list --before {rows[2]['id']}" in table.stdout
    assert run(workspace, "audit", "list", "--limit", "0").exit_code != 0


def test_keys_list_shows_when_a_key_was_last_used(workspace: tuple[Path, dict[str, str]]) -> None:
    run(workspace, "keys", "create", "--name", "helpdesk", "--role", "integration")
    listed = json.loads(run(workspace, "keys", "list", "--json").stdout)
    assert listed[0]["last_used_at"] is None
    store = store_of(workspace)
    used = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    store.callers.key_used("helpdesk", used)
    store.close()
    listed = json.loads(run(workspace, "keys", "list", "--json").stdout)
    assert listed[0]["last_used_at"] == used.isoformat()
    assert "2026-12-01" in run(workspace, "keys", "list").stdout
