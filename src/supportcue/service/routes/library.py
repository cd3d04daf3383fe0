"""The answer library, write side (the reviewer's): the /library pages and POST /v1/answers,
PATCH /v1/answers/{id}, GET /v1/answers/{id}/versions and /diff.

A change of an answer's text is a new version, the old one kept (`data/library.py`); approving,
retiring and marking reviewed change its status (approving and marking reviewed set the next review
`[response] review_cycle_days` ahead). Every save bumps the store's library version, so the running
pipeline serves the new text within a second (`providers.StoreLibrary`), without a restart.

/library lists the attention items first: the drift alerts still raised lately, each linking to the
review items it created (`monitoring/alerts.py`; their JSON is GET /v1/alerts), then overdue, dropping,
judged wrong by reviewers (with their corrected replies), uncovered and rewritten answers
(`monitoring/library.py`); then the answers by topic with their live
figures; /library/{id} shows one answer, its edit form, its versions and their diffs. Its
forms post to /library and /library/{id} with the page's CSRF token (`security/csrf.py`).
"""

from __future__ import annotations

import difflib
import itertools
import re
from dataclasses import replace
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Header, HTTPException, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.convertors import PathConvertor, register_url_convertor

from supportcue.boundary import Text, error_words
from supportcue.data.library import AnswerChange, AnswerConflict, answer_id_problem
from supportcue.data.store import Store
from supportcue.data.tables import Answer, AnswerVersion
from supportcue.monitoring.alerts import RECENT, describe
from supportcue.monitoring.library import answer_figures, attention, reviewer_findings
from supportcue.service.body import StrictJSONRoute
from supportcue.service.deps import CallerDep, NotFound, RuntimeDep, StoreDep, require
from supportcue.service.preconditions import (
    API_NEW_TOPIC,
    FORM_NEW_TOPIC,
    NO_FORM_VERSION,
    check_topic,
    patch_base_version,
)
from supportcue.service.routes.pages import templates
from supportcue.service.runtime import Runtime
from supportcue.service.schemas import (
    AnswerCreate,
    AnswerDiffPublic,
    AnswerPatch,
    AnswerPublic,
    AnswerVersionPublic,
    AnswerVersionsPublic,
    problem_responses,
)
from supportcue.vocab import Role

api = APIRouter(
    prefix="/v1", tags=["answers"], route_class=StrictJSONRoute, dependencies=[require(Role.REVIEWER)]
)
pages = APIRouter(include_in_schema=False, dependencies=[require(Role.REVIEWER)])
AnswerId = Annotated[Text, Path(max_length=100)]
ACTIONS = {"save", "approve", "retire", "draft", "reviewed"}


class AnswerPathConvertor(PathConvertor):
    """An answer id that may hold "/" (an import may make one), but does not end in one of an
    answer's sub-resources (/versions, /diff, /compose): PATCH on those is then 405 from their own
    routes, not a change of an answer called "a1/versions"."""

    regex = ".+(?<!/versions)(?<!/diff)(?<!/compose)"


register_url_convertor("answer_path", AnswerPathConvertor())
ALERTS = 20
"""Drift alerts listed on /library (last seen within 30 days of the newest suggestion, the latest
first)."""


def _slug(topic: str, title: str) -> str:
    """The id of a new answer that names none: its topic and title, in letters and digits of any
    script (an ASCII-only slug made one id of every title in Cyrillic, say) joined by dashes."""
    slug = re.sub(r"[\W_]+", "-", f"{topic} {title}".lower()).strip("-")[:100].strip("-") or "answer"
    return f"{slug[:93]}-answer" if answer_id_problem(slug) else slug  # topic "diff", title "?"


def save(
    runtime: Runtime,
    editor: str,
    answer_id: str,
    change: AnswerChange,
    create: bool = False,
    moved_on: int = 409,
    new_topic: bool | None = None,
    how: str = API_NEW_TOPIC,
) -> Answer:
    """One save, its refusals as HTTP errors (404 no such answer, 409 exists, `moved_on` (409, or 412
    for an If-Match) the answer moved on from the change's base version, 422 a topic the workspace
    lacks unless `new_topic`; None: not checked)."""
    if new_topic is False:
        check_topic(runtime, change, how)
    cycle = runtime.settings.response.review_cycle_days
    try:
        return runtime.store.library.save_answer(answer_id, change, editor, cycle, create=create)
    except KeyError:
        raise NotFound("answer") from None
    except AnswerConflict as exc:
        raise HTTPException(409 if create else moved_on, detail=str(exc)) from None


def _create_change(body: AnswerCreate) -> tuple[str, AnswerChange]:
    answer_id = body.id or _slug(body.topic, body.title)
    change = AnswerChange(
        topic=body.topic,
        title=body.title,
        body=body.body,
        owner=body.owner,
        status=body.status,
        note=body.note,
    )
    return answer_id, change


def _patch_change(body: AnswerPatch) -> AnswerChange:
    values = body.model_dump(exclude_unset=True)
    values.pop("new_topic", None)
    if not values.keys() - {"note", "base_version"}:
        raise HTTPException(
            422, detail="nothing to change: give topic, title, body, owner, status or reviewed"
        )
    return AnswerChange(**values)


def _public(answer: Answer) -> AnswerPublic:
    return AnswerPublic.model_validate(answer, from_attributes=True)


# -- JSON ------------------------------------------------------------------------------------------


@api.post(
    "/answers", status_code=201, response_model=AnswerPublic, responses=problem_responses(403, 409, 422)
)
async def create_answer(
    body: AnswerCreate, runtime: RuntimeDep, caller: CallerDep, response: Response
) -> AnswerPublic:
    """Add an answer to the library (version 1; a draft unless `status` is approved)."""
    answer_id, change = _create_change(body)
    answer = await run_in_threadpool(save, runtime, caller.id, answer_id, change, True, 409, body.new_topic)
    response.headers["ETag"] = f'"{answer.version}"'
    return _public(answer)


@api.patch(
    "/answers/{answer_id:answer_path}",
    response_model=AnswerPublic,
    responses=problem_responses(403, 404, 409, 412, 422, 428),
)
async def change_answer(
    answer_id: AnswerId,
    body: AnswerPatch,
    runtime: RuntimeDep,
    caller: CallerDep,
    response: Response,
    if_match: Annotated[
        str | None,
        Header(
            alias="If-Match",
            max_length=100,
            description='the version the change was made on, as the answer\'s ETag ("3"), or * for any; '
            "or `base_version` in the body",
        ),
    ] = None,
) -> AnswerPublic:
    """Change an answer made on version `base_version` (or If-Match): new text is a new version (the
    old one kept); `status` approves, retires or drafts it; `reviewed: true` marks it reviewed. Refused
    when the answer moved on since (409; 412 for If-Match) and without a version (428). Served by the
    running pipeline within a second."""
    change = _patch_change(body)  # nothing to change: 422 first, whatever the version
    base, moved_on = patch_base_version(body, if_match)
    change = replace(change, base_version=base)
    answer = await run_in_threadpool(
        save, runtime, caller.id, answer_id, change, False, moved_on, body.new_topic
    )
    response.headers["ETag"] = f'"{answer.version}"'
    return _public(answer)


async def _versions(store: Store, answer_id: str) -> list[AnswerVersion]:
    versions = await run_in_threadpool(store.library.versions, answer_id)
    if not versions:
        raise NotFound("answer")
    return versions


@api.get(
    "/answers/{answer_id:path}/versions",
    response_model=AnswerVersionsPublic,
    responses=problem_responses(403, 404, 422, 503),
)
async def answer_versions(answer_id: AnswerId, store: StoreDep) -> AnswerVersionsPublic:
    """Every kept version of an answer, newest first."""
    data = [
        AnswerVersionPublic.model_validate(v, from_attributes=True) for v in await _versions(store, answer_id)
    ]
    return AnswerVersionsPublic(data=data, count=len(data))


@api.get(
    "/answers/{answer_id:path}/diff",
    response_model=AnswerDiffPublic,
    responses=problem_responses(403, 404, 422, 503),
)
async def answer_diff(
    answer_id: AnswerId,
    store: StoreDep,
    from_version: Annotated[
        int | None, Query(alias="from", ge=1, description="default: the one before `to`")
    ] = None,
    to_version: Annotated[int | None, Query(alias="to", ge=1, description="default: the newest")] = None,
) -> AnswerDiffPublic:
    """A unified diff of two versions' title and body."""
    by_number = {v.version: v for v in await _versions(store, answer_id)}
    to_v = to_version or max(by_number)
    from_v = from_version or max([n for n in by_number if n < to_v], default=to_v)
    absent = [n for n in (from_v, to_v) if n not in by_number]
    if absent:
        raise HTTPException(404, detail=f"the answer has no version {absent[0]}")
    return AnswerDiffPublic(
        answer_id=answer_id,
        from_version=from_v,
        to_version=to_v,
        diff=diff(by_number[from_v], by_number[to_v]),
    )


def diff(old: AnswerVersion, new: AnswerVersion) -> str:
    """The unified diff of two versions (title line first, then the body); a changed topic or owner
    comes first as a line of its own (a version that changed only its owner had an empty diff, and
    the answer's page showed its whole body as if it had been rewritten)."""
    meta = [f for f in ("topic", "owner") if getattr(old, f) != getattr(new, f)]

    def lines(v: AnswerVersion) -> list[str]:
        return [*(f"{f}: {getattr(v, f) or '–'}" for f in meta), f"# {v.title}", *v.body.splitlines()]

    return "\n".join(
        difflib.unified_diff(
            lines(old), lines(new), f"version {old.version}", f"version {new.version}", lineterm=""
        )
    )


# -- pages -----------------------------------------------------------------------------------------


LIBRARY_PAGE = 500
"""Answers a filtered library page lists; "Next answers" (`page=N`) lists the ones after them."""


def _library_context(
    runtime: Runtime, q: str, topic: str | None, status: str | None, page: int = 1
) -> dict[str, Any]:
    store = runtime.store
    answers = store.library.answers()
    figures = answer_figures(store, runtime.settings.match.threshold)
    topics = [t.key for t in store.library.topics()]
    filtered = bool(q or topic or status)
    start = (page - 1) * LIBRARY_PAGE
    if filtered:
        shown = store.library.search(q, status or None, topic or None, limit=LIBRARY_PAGE, offset=start)
        # the list stopped at 500 and its count said 500: the count is every match
        total = (
            start + len(shown)
            if len(shown) < LIBRARY_PAGE and (shown or page == 1)
            else store.library.search_count(q, status or None, topic or None)
        )
    else:
        shown, total, start = answers, len(answers), 0
    params = {k: v for k, v in {"q": q, "topic": topic, "status": status}.items() if v}
    next_url = "/library?" + urlencode({**params, "page": page + 1}) if start + len(shown) < total else None
    previous_url = (
        "/library?" + urlencode({**params, **({"page": page - 1} if page > 2 else {})}) if page > 1 else None
    )
    by_topic: dict[str, list[dict[str, Any]]] = {}
    for a in shown:
        f = figures.get(a.id)
        by_topic.setdefault(a.topic, []).append({"a": a, "f": f.as_dict() if f else None})
    return {
        "nav": "library",
        "alerts": describe(store, store.alerts.recent(RECENT, limit=ALERTS)),
        "attention": attention(
            answers,
            topics,
            figures,
            handled=store.library.last_edited(),
            findings=reviewer_findings(store),
        ),
        "by_topic": by_topic,
        "topics": sorted(set(topics) | {a.topic for a in answers}),
        "q": q,
        "topic": topic or "",
        "status": status or "",
        "count": total,
        "first": start + 1,
        "last": start + len(shown),
        "paged": filtered and (total > len(shown) or page > 1),
        "next_url": next_url,
        "previous_url": previous_url,
    }


@pages.get("/library", response_class=HTMLResponse)
async def library_page(
    request: Request,
    runtime: RuntimeDep,
    q: Annotated[Text, Query(max_length=200)] = "",
    topic: Annotated[Text | None, Query(max_length=100)] = None,
    status: Annotated[Text | None, Query(max_length=20)] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    """The library: what needs attention first, then the answers by topic with their live figures; a
    filtered list `LIBRARY_PAGE` answers a page (`page`), with the count of every match."""
    context = await run_in_threadpool(_library_context, runtime, q, topic, status, page)
    return templates.TemplateResponse(request, "library.html", context)


def _answer_context(runtime: Runtime, answer_id: str, use_proposal: bool) -> dict[str, Any] | None:
    store = runtime.store
    answer = store.library.answer(answer_id)
    if answer is None:
        return None
    figures = answer_figures(store, runtime.settings.match.threshold).get(answer_id)
    items = attention(
        [answer],
        [],
        {answer_id: figures} if figures else {},
        handled=store.library.last_edited(),
        findings=reviewer_findings(store),
    )
    proposal = next((i["proposal"] for i in items if i["kind"] == "rewritten"), None)
    versions = store.library.versions(answer_id)
    diffs = [{"v": new, "diff": diff(old, new)} for new, old in itertools.pairwise(versions)] + [
        {"v": v, "diff": None} for v in versions[-1:]
    ]
    return {
        "nav": "library",
        "a": answer,
        "f": figures.as_dict() if figures else None,
        "attention": items,
        "proposal": proposal,
        "body": proposal if use_proposal and proposal else answer.body,
        "versions": diffs,
        "cycle_days": runtime.settings.response.review_cycle_days,
    }


STATUS_ACTIONS = {"approve": "approved", "retire": "retired", "draft": "draft"}
"""The answer page's buttons that set a status, and the status each sets."""


def _done(action: str | None, answer: Answer) -> str | None:
    """What the form just sent did (`?done=ACTION`, where its redirect leads), in a status line: the
    page came back the same but for a date or a number in its facts. A status change is said only
    when the answer has that status: anyone can send a reviewer the link, and a draft's page said
    "Approved: agents are suggested it now." at `?done=approve`."""
    if action in STATUS_ACTIONS and answer.status != STATUS_ACTIONS[action]:
        return None
    approved = answer.status == "approved"
    due = f"{answer.review_due_at:%Y-%m-%d}" if answer.review_due_at else "–"
    said = {
        "save": f"Saved as version {answer.version}. "
        + (
            "It is approved: agents are suggested this version now."
            if approved
            else "It is not suggested to agents until approved."
        ),
        "approve": "Approved: agents are suggested it now.",
        "retire": "Retired: it is no longer suggested to agents.",
        "draft": "Back to draft: it is not suggested to agents until approved.",
        "reviewed": f"Marked reviewed: the next review is due {due}.",
        "created": "Draft created: it is suggested to agents once approved.",
    }
    return said.get(action or "")


@pages.get("/library/{answer_id:path}", response_class=HTMLResponse)
async def answer_page(
    request: Request,
    answer_id: AnswerId,
    runtime: RuntimeDep,
    proposal: bool = False,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    """One answer: its figures, the edit form (with `proposal=1`, the agents' common edit in it), the
    approve / retire / mark reviewed buttons, and its versions with what each changed; with `done`
    (where a form's redirect leads), what that form did."""
    context = await run_in_threadpool(_answer_context, runtime, answer_id, proposal)
    if context is None:
        return templates.TemplateResponse(
            request, "missing.html", {"what": "answer with this id"}, status_code=404
        )
    context["done"] = _done(done, context["a"])
    return templates.TemplateResponse(request, "answer.html", context)


def _form_error(exc: ValidationError) -> HTTPException:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "form"
    return HTTPException(422, detail=f"{where}: {error_words(first)}")


@pages.post("/library", response_model=None)
async def create_from_form(
    request: Request,
    runtime: RuntimeDep,
    caller: CallerDep,
    topic: Annotated[str, Form()] = "",
    title: Annotated[str, Form()] = "",
    body: Annotated[str, Form()] = "",
    owner: Annotated[str, Form()] = "",
    answer_id: Annotated[str, Form()] = "",
    new_topic: Annotated[bool, Form()] = False,
) -> Response:
    """The new-answer form: a draft, then its page. A refusal (a field, an id taken, a topic the
    workspace lacks without "New topic" ticked) shows the library again with why and the reviewer's
    answer in the form."""
    try:
        new = AnswerCreate(
            id=answer_id or None,
            topic=topic,
            title=title,
            body=body,
            owner=owner or None,
            new_topic=new_topic,
        )
        answer_id, change = _create_change(new)
        answer = await run_in_threadpool(
            save, runtime, caller.id, answer_id, change, True, 409, new_topic, FORM_NEW_TOPIC
        )
    except (ValidationError, HTTPException) as exc:
        refusal = _form_error(exc) if isinstance(exc, ValidationError) else exc
        context = await run_in_threadpool(_library_context, runtime, "", None, None)
        context["new"] = {
            "topic": topic,
            "title": title,
            "body": body,
            "owner": owner,
            "answer_id": answer_id,
            "new_topic": new_topic,
        }
        context["new_error"] = f"Not created: {refusal.detail}. Your answer is kept in the form: correct it."
        return templates.TemplateResponse(request, "library.html", context, status_code=refusal.status_code)
    return RedirectResponse(f"/library/{quote(answer.id, safe='')}?done=created", status_code=303)


@pages.post("/library/{answer_id:path}", response_model=None)
async def change_from_form(
    request: Request,
    answer_id: AnswerId,
    runtime: RuntimeDep,
    caller: CallerDep,
    action: Annotated[str, Form()] = "save",
    topic: Annotated[str | None, Form()] = None,
    title: Annotated[str | None, Form()] = None,
    body: Annotated[str | None, Form()] = None,
    owner: Annotated[str | None, Form()] = None,
    note: Annotated[str | None, Form()] = None,
    base_version: Annotated[int | None, Form()] = None,
    new_topic: Annotated[bool, Form()] = False,
) -> Response:
    """The answer page's forms: save (new text: a new version), approve, retire, draft, or reviewed;
    the text fields go with save and approve. A refusal (a field the API refuses, or a version someone
    saved meanwhile) shows the page again with why and the reviewer's text in the form, not lost."""
    if action not in ACTIONS:
        raise HTTPException(422, detail=f"action must be one of {', '.join(sorted(ACTIONS))}")
    if base_version is None:  # the page's forms always send it; a script posting them must too
        raise HTTPException(428, detail=NO_FORM_VERSION)
    with_text = action in ("save", "approve")
    fields: dict[str, Any] = (
        {"topic": topic, "title": title, "body": body, "owner": owner, "note": note or None}
        | ({"new_topic": True} if new_topic else {})
        if with_text
        else {}
    )
    try:
        patch = AnswerPatch(
            **{k: v for k, v in fields.items() if v is not None},
            status=STATUS_ACTIONS.get(action),
            reviewed=action == "reviewed",
            base_version=base_version,
        )
        change = AnswerChange(**patch.model_dump(exclude={"new_topic"}))
        await run_in_threadpool(
            save, runtime, caller.id, answer_id, change, False, 409, new_topic, FORM_NEW_TOPIC
        )
    except (ValidationError, HTTPException) as exc:
        refusal = _form_error(exc) if isinstance(exc, ValidationError) else exc
        if refusal.status_code not in (409, 422):
            raise refusal from None
        return await _refused_edit(request, runtime, answer_id, refusal, fields, base_version, caller.id)
    return RedirectResponse(f"/library/{quote(answer_id, safe='')}?done={action}", status_code=303)


async def _refused_edit(
    request: Request,
    runtime: Runtime,
    answer_id: str,
    refusal: HTTPException,
    fields: dict[str, Any],
    base_version: int | None,
    editor: str,
) -> Response:
    """The answer page again, with why the change was refused and the text the reviewer sent in its
    form. A conflict (409) shows the answer as it is now, its new version under Versions, and bases
    the form on it: saving again, after reading, is the reviewer's decision, not an accident."""
    context = await run_in_threadpool(_answer_context, runtime, answer_id, False)
    if context is None:
        raise NotFound("answer")
    now = context["a"].version
    if refusal.status_code == 409:
        then = (
            f"Your text is kept in the form below: compare it with version {now} under Versions, save again."
            if fields
            else f"Read version {now} under Versions, then click again."
        )
        newest = context["versions"][0]["v"] if context["versions"] else None
        who = ""
        if newest is not None and newest.version == now:
            by = "you (in another tab, or before going Back)" if newest.editor == editor else newest.editor
            who = f", saved by {by or 'an import'} at {newest.created_at:%H:%M} UTC"
        error = f"Not saved: this answer was saved meanwhile (it is at version {now} now{who}). {then}"
    else:
        error = f"Not saved: {refusal.detail}. Your text is kept in the form below: correct it, save again."
        now = base_version if base_version is not None else now
    sent = {k: v for k, v in fields.items() if v is not None}
    context.update(error=error, sent=sent, base_version=now)
    if "body" in sent:
        context["body"] = sent["body"]
    return templates.TemplateResponse(request, "answer.html", context, status_code=refusal.status_code)
