"""The console's Admin pages (the admin role): /admin/users, /admin/keys, /admin/stages and
/admin/audit.

They do what `supportcue users ...` and `supportcue keys ...` do, through the same functions
(`security/users.py`, `security/keys.py`, the store's `callers`), so a rule such as "the last admin
stays" is kept in one place. Their forms post with the session's CSRF token (checked by the
`Authenticate` middleware); a change is followed by a redirect to the page with `?done=` (and
`done_for=`, whom it was done to) for its banner, a refusal shows the page again with the reason by
the form it came from. A new key's secret is on the answer to its form only (`Cache-Control:
no-store`), never stored, listed or logged. A change of who may call holds at once in this process
(its cached callers are dropped) and, on PostgreSQL, in every other one (`security/callers.py`).

Every change made here, or by the CLI, is recorded with it, in its transaction (`store.callers`):
/admin/audit lists those records, newest first, with who made the change (`user:NAME` or `key:NAME`
through the console, the system account through the CLI).

The stages' modes are settings (`[pipeline]` in the workspace's supportcue.toml, or
`SUPPORTCUE_PIPELINE__<STAGE>`), read when the server starts: /admin/stages shows them, read only,
with where each came from, rather than keep a second copy a page could change.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from supportcue.data.security import Actor
from supportcue.data.store import Store
from supportcue.errors import LastAdminError, SupportcueError
from supportcue.security import keys, users
from supportcue.security.callers import Caller
from supportcue.service.deps import AuthenticatorDep, CallerDep, RuntimeDep, StoreDep, require
from supportcue.service.routes.pages import templates
from supportcue.service.runtime import Runtime
from supportcue.stages import registry
from supportcue.vocab import Role

pages = APIRouter(include_in_schema=False, dependencies=[require(Role.ADMIN)])
USER_ACTIONS = ("add", "role", "password", "remove")
KEY_ACTIONS = ("create", "revoke")
PERSON_ROLES = tuple(r for r in Role if r != Role.EMBED)
Field = Annotated[str, Form(max_length=2000)]
DONE = {
    "added": "User {name} added: they log in at /login with the password you gave them.",
    "role": "The role of {name} is changed: their open sessions carry it from their next page.",
    "password": "The password of {name} is reset: their sessions ended; they log in with the new one.",
    "removed": "User {name} removed: their sessions ended.",
    "revoked": "Key {name} revoked: whatever sends it is refused from now on.",
}
"""What a form just did (`?done=ACTION&done_for=NAME`, where its redirect leads), in the banner."""
AUDIT_LIMIT = 50
"""Audit rows a page."""
ACTIONS = {
    "key.create": "key created",
    "key.revoke": "key revoked",
    "user.add": "user added",
    "user.set_role": "role changed",
    "user.set_password": "password reset",
    "user.remove": "user removed",
}
DoneQuery = Annotated[str | None, Query(max_length=20)]
DoneForQuery = Annotated[str | None, Query(max_length=100)]
AuditBefore = Annotated[str | None, Query(max_length=40)]


def _done(done: str | None, name: str | None) -> str | None:
    """The banner, naming only a name a user or key could have (a link made up elsewhere shows none)."""
    said = DONE.get(done or "")
    return said.format(name=repr(name)) if said and name and keys.NAME.match(name) else None


def _done_url(path: str, done: str, name: str) -> str:
    return f"{path}?{urlencode({'done': done, 'done_for': name})}"


def _actor(caller: Caller) -> Actor:
    """Who, for the audit: the console's caller (`user:NAME`, or `key:NAME` for a script's key)."""
    return Actor(caller.id, "console")


# -- users -----------------------------------------------------------------------------------------


def _users_context(store: Store) -> dict[str, Any]:
    return {
        "nav": "admin",
        "tab": "users",
        "users": store.callers.users(),
        "roles": PERSON_ROLES,
        "min_password": users.MIN_PASSWORD,
    }


@pages.get("/admin/users", response_class=HTMLResponse)
async def users_page(
    request: Request, store: StoreDep, done: DoneQuery = None, done_for: DoneForQuery = None
) -> Response:
    """The users (name, role, added), a form to add one, and per user: change role, reset password,
    remove."""
    context = await run_in_threadpool(_users_context, store)
    context["done"] = _done(done, done_for)
    return templates.TemplateResponse(request, "admin_users.html", context)


def _same_twice(password: str, confirm: str) -> str:
    if password != confirm:
        raise SupportcueError("the two passwords are not the same: type it again in both fields")
    return password


def _change_user(
    store: Store, by: Actor, action: str, name: str, role: str, password: str, confirm: str
) -> None:
    if action == "add":
        users.check_new_user(store, name, role)
        users.add_user(store, name, role, _same_twice(password, confirm), by)
    elif action == "role":
        users.set_role(store, name, role, by)
    elif action == "password":
        users.set_password(store, name, _same_twice(password, confirm), by)
    else:
        users.remove_user(store, name, by)


def _user_refusal(store: Store, action: str, name: str, exc: SupportcueError) -> int:
    """The status of a refused user form: 409 (the last admin, a name taken), 404 (no such user),
    422 (a name, role or password the policy refuses)."""
    exists = store.callers.user(name) is not None
    if isinstance(exc, LastAdminError) or (action == "add" and exists):
        return 409
    return 404 if action != "add" and not exists else 422


@pages.post("/admin/users", response_model=None)
async def users_form(
    request: Request,
    store: StoreDep,
    caller: CallerDep,
    auth: AuthenticatorDep,
    action: Field = "",
    name: Field = "",
    role: Field = "",
    password: Field = "",
    confirm: Field = "",
) -> Response:
    """The users page's forms: `action` add (name, role, password twice), role (name, role), password
    (name, password twice) or remove (name)."""
    if action not in USER_ACTIONS:
        raise HTTPException(422, detail=f"action must be one of {', '.join(USER_ACTIONS)}")
    try:
        await run_in_threadpool(_change_user, store, _actor(caller), action, name, role, password, confirm)
    except SupportcueError as exc:
        status = await run_in_threadpool(_user_refusal, store, action, name, exc)
        context = await run_in_threadpool(_users_context, store)
        where = "add" if action == "add" else "user" if status != 404 else "page"
        context["error"] = {"where": where, "name": name, "text": f"Not changed: {exc}"}
        if action == "add":
            context["sent"] = {"name": name, "role": role}  # never the password
        return templates.TemplateResponse(request, "admin_users.html", context, status_code=status)
    auth.forget()  # this process's next request of theirs is looked up afresh (others: NOTIFY, or 2 s)
    return RedirectResponse(_after_user_change(caller, action, name, role), status_code=303)


def _after_user_change(caller: Caller, action: str, name: str, role: str) -> str:
    """The users page with its banner; for a change of the admin's own account that ends their
    session or their admin role, where they can still go."""
    if caller.kind == "user" and caller.name == name:
        if action in ("password", "remove"):
            return "/login"
        if action == "role" and role != Role.ADMIN:
            return "/"
    done = {"add": "added", "role": "role", "password": "password", "remove": "removed"}[action]
    return _done_url("/admin/users", done, name)


# -- API keys --------------------------------------------------------------------------------------


def _keys_context(store: Store) -> dict[str, Any]:
    return {"nav": "admin", "tab": "keys", "keys": store.callers.api_keys(), "roles": tuple(Role)}


@pages.get("/admin/keys", response_class=HTMLResponse)
async def keys_page(
    request: Request, store: StoreDep, done: DoneQuery = None, done_for: DoneForQuery = None
) -> Response:
    """The API keys (name, role, first characters, created; never a key), a form to create one, and a
    revoke button per key."""
    context = await run_in_threadpool(_keys_context, store)
    context["done"] = _done(done, done_for)
    return templates.TemplateResponse(request, "admin_keys.html", context)


def _created(runtime: Runtime, by: Actor, name: str, role: str) -> dict[str, str]:
    """A new key, as the page shows it once (an embed key with its Chatwoot Dashboard App URL, whose
    fragment holds the key: a browser never sends a fragment to a server or a log)."""
    key = keys.create_key(runtime.store, name, role, by)
    shown = {"name": name, "role": role, "key": key}
    if role == Role.EMBED:
        base = runtime.settings.service.public_url or keys.PLACEHOLDER_URL
        shown["embed_url"] = base + keys.embed_path(key)
    return shown


@pages.post("/admin/keys", response_model=None)
async def keys_form(
    request: Request,
    runtime: RuntimeDep,
    caller: CallerDep,
    auth: AuthenticatorDep,
    action: Field = "",
    name: Field = "",
    role: Field = "",
) -> Response:
    """The keys page's forms: `action` create (name, role), answered with the key itself, shown this
    once; or revoke (name)."""
    store = runtime.store
    if action not in KEY_ACTIONS:
        raise HTTPException(422, detail=f"action must be one of {', '.join(KEY_ACTIONS)}")
    if action == "revoke":
        if await run_in_threadpool(store.callers.revoke_key, name, _actor(caller)):
            auth.forget()  # the very next request with it is refused here (others: NOTIFY, or 2 s)
            return RedirectResponse(_done_url("/admin/keys", "revoked", name), status_code=303)
        context = await run_in_threadpool(_keys_context, store)
        context["error"] = {"where": "page", "text": f"Not revoked: no key named {name!r} (revoked already?)"}
        return templates.TemplateResponse(request, "admin_keys.html", context, status_code=404)
    try:
        created = await run_in_threadpool(_created, runtime, _actor(caller), name, role)
    except SupportcueError as exc:
        taken = any(k.name == name for k in await run_in_threadpool(store.callers.api_keys))
        context = await run_in_threadpool(_keys_context, store)
        context["error"] = {"where": "create", "text": f"Not created: {exc}"}
        context["sent"] = {"name": name, "role": role}
        return templates.TemplateResponse(
            request, "admin_keys.html", context, status_code=409 if taken else 422
        )
    context = await run_in_threadpool(_keys_context, store)
    context["created"] = created
    response = templates.TemplateResponse(request, "admin_keys.html", context)
    response.headers["cache-control"] = "no-store"  # the key is on this answer only: no copy kept
    return response


# -- stages ----------------------------------------------------------------------------------------


def _stages_context(runtime: Runtime) -> dict[str, Any]:
    settings = runtime.settings
    served = runtime.pipeline.modes() if runtime.pipeline is not None else {}
    rows = [
        {
            "name": name,
            "mode": settings.pipeline.mode(name),
            "served": served.get(name),
            "source": settings.source(f"pipeline.{name}"),
            "variable": f"SUPPORTCUE_PIPELINE__{name.upper()}",
        }
        for name in registry.names()
    ]
    return {"nav": "admin", "tab": "stages", "stages": rows, "loaded": runtime.pipeline is not None}


@pages.get("/admin/stages", response_class=HTMLResponse)
async def stages_page(request: Request, runtime: RuntimeDep) -> Response:
    """Each stage's mode (live, shadow or off) as the settings give it and as this server runs it
    (off when the stage did not load), and where to change it: read only."""
    context = await run_in_threadpool(_stages_context, runtime)
    return templates.TemplateResponse(request, "admin_stages.html", context)


# -- audit -----------------------------------------------------------------------------------------


@pages.get("/admin/audit", response_class=HTMLResponse)
async def audit_page(request: Request, store: StoreDep, before: AuditBefore = None) -> Response:
    """The changes to keys and users, newest first, `AUDIT_LIMIT` a page; `before=<id>` (the last row
    of the page before, as the "Older changes" link gives it) lists the ones older (keyset)."""
    after = (
        int(before)
        if before is not None and before.isascii() and before.isdigit() and len(before) < 19
        else None
    )
    if before is not None and after is None:
        detail = "before must be a row's number, as the Older changes link gives"
        return templates.TemplateResponse(
            request, "invalid.html", {"detail": detail, "back": "/admin/audit"}, status_code=422
        )
    rows = await run_in_threadpool(store.callers.audit, AUDIT_LIMIT + 1, after)
    page, more = rows[:AUDIT_LIMIT], len(rows) > AUDIT_LIMIT
    context: dict[str, Any] = {
        "nav": "admin",
        "tab": "audit",
        "rows": page,
        "actions": ACTIONS,
        "paged": after is not None,
        "older": f"/admin/audit?before={page[-1].id}" if more else None,
    }
    response = templates.TemplateResponse(request, "admin_audit.html", context)
    response.headers["cache-control"] = "private, no-store"
    return response
