"""The review queue: `GET /v1/review/queue`, `POST /v1/reviews`, and the `/review` page (reviewers).

The queue is chosen by `review/queue.py` (active learning beside a random sample, refreshed at each
request); a review is checked and stored, with the `sme` labels it becomes, by `review/record.py`.
A reviewer never sees another's review of an item (blind overlap): nothing here returns them. A second
review of the same item by the same reviewer is a 409 (not idempotent: see `review/record.py`).
The page (templates/review.html, static/review.js) posts reviews to the same API with the session's
CSRF token; `/review?alert=ID` (linked from a drift alert on /library and the dashboard) works only the
items that alert created (`review/alert_items.py`), and every item a drift alert created says which.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from supportcue.boundary import is_digits
from supportcue.data.store import Store
from supportcue.data.tables import ReviewItem, Suggestion
from supportcue.errors import ReviewConflict, ReviewError
from supportcue.review.queue import WHY, queue_for
from supportcue.review.record import ReviewInput, item_message, submit
from supportcue.service.body import StrictJSONRoute
from supportcue.service.deps import CallerDep, NotFound, RuntimeDep, require
from supportcue.service.routes.pages import templates
from supportcue.service.schemas import (
    ReviewAlertPublic,
    ReviewCreate,
    ReviewItemPublic,
    ReviewLabelPublic,
    ReviewPublic,
    ReviewQueuePublic,
    ReviewSuggestionPublic,
    problem_responses,
)
from supportcue.settings import Settings
from supportcue.vocab import ReviewFlag, ReviewKind, ReviewReason, Role, Verdict

router = APIRouter(
    prefix="/v1", tags=["review"], route_class=StrictJSONRoute, dependencies=[require(Role.REVIEWER)]
)
pages = APIRouter(include_in_schema=False, dependencies=[require(Role.REVIEWER)])
MAX_LIMIT = 50
EXAMPLES = 3
"""A cluster's messages shown as examples."""


def _public(store: Store, item: ReviewItem) -> ReviewItemPublic:
    suggestion = store.cases.suggestion(item.suggestion_id) if item.suggestion_id else None
    alert = store.alerts.get(item.alert_id) if item.alert_id is not None else None
    return ReviewItemPublic(
        item_id=item.id,
        kind=item.kind,
        reason=item.reason,
        why=WHY.get(ReviewReason(item.reason), item.reason),
        case_id=item.case_id,
        message=item_message(store, item),
        proposed_topic=item.topic,
        suggestion=ReviewSuggestionPublic.model_validate(suggestion, from_attributes=True)
        if suggestion is not None
        else None,
        details=_details(store, item, suggestion),
        alert=ReviewAlertPublic(id=alert.id, kind=alert.kind, subject=alert.subject) if alert else None,
    )


def _details(store: Store, item: ReviewItem, suggestion: Suggestion | None) -> dict[str, Any]:
    """What the page shows besides the message, read from the rows that hold it (so a purge empties
    it): the shadow stages' text, the reply sent, a cluster's terms and first messages."""
    stored = dict(item.details or {})
    shown = ("similarity", "terms", "case_ids", "expired", "expired_at", "expired_topic")
    out: dict[str, Any] = {k: v for k, v in stored.items() if k in shown}
    if suggestion is not None and (suggestion.shadow or {}).get("text"):
        out["shadow_text"] = suggestion.shadow["text"]
    if "event_id" in stored:
        out["sent_text"] = store.reviews.sent_text(int(stored["event_id"]))
    if item.kind == ReviewKind.CLUSTER:
        cases = store.reviews.cases([str(c) for c in stored.get("case_ids", [])[:EXAMPLES]])
        out["examples"] = [c.message for c in cases.values() if c.purged_at is None]
        if len(out["examples"]) < EXAMPLES:  # an API-only team's: the messages its suggestions kept
            ids = [str(s) for s in stored.get("suggestion_ids", [])[:EXAMPLES]]
            kept = store.cases.suggestion_messages(ids)
            more = [kept[s] for s in ids if s in kept and kept[s] not in out["examples"]]
            out["examples"] += more[: EXAMPLES - len(out["examples"])]
    return out


def load_queue(
    store: Store, settings: Settings, reviewer: str, limit: int, alert: int | None = None
) -> ReviewQueuePublic:
    if alert is None:
        items = queue_for(store, settings, reviewer, limit)
    elif store.alerts.get(alert) is None:
        raise NotFound("drift alert")
    else:
        items = store.reviews.open_for_alert(reviewer, alert, limit)
    data = [_public(store, i) for i in items]
    topics = [t.key for t in store.library.topics()]
    return ReviewQueuePublic(data=data, count=len(data), topics=topics)


@router.get(
    "/review/queue", response_model=ReviewQueuePublic, responses=problem_responses(403, 404, 422, 503)
)
async def review_queue(
    runtime: RuntimeDep,
    caller: CallerDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 10,
    alert: Annotated[
        int | None, Query(ge=1, le=2**31 - 1, description="only the items this drift alert created")
    ] = None,
) -> ReviewQueuePublic:
    """The caller's next items, chosen by active learning (each says why), with items of the random
    sample spread among them (`reason: random`); items the caller reviewed are left out. With `alert`,
    only the open items that drift alert created (404 for no such alert)."""
    return await run_in_threadpool(load_queue, runtime.store, runtime.settings, caller.id, limit, alert)


@router.post(
    "/reviews",
    status_code=status.HTTP_201_CREATED,
    response_model=ReviewPublic,
    responses=problem_responses(403, 404, 409, 422, 503),
)
async def create_review(body: ReviewCreate, runtime: RuntimeDep, caller: CallerDep) -> ReviewPublic:
    """Review a queue item; it becomes labels with source `sme`, the caller as annotator, expiring
    after `[review] label_days`. 409 when the caller reviewed this item before."""
    review = ReviewInput(
        item_id=body.item_id,
        verdict=Verdict(body.verdict),
        corrected_text=body.corrected_text,
        topic=body.topic,
        flags=[ReviewFlag(f) for f in body.flags],
        valid=body.valid,
    )
    try:
        stored, labels = await run_in_threadpool(submit, runtime.store, runtime.settings, review, caller.id)
    except LookupError:
        raise NotFound("review item") from None
    except ReviewError as exc:
        raise HTTPException(422, detail=str(exc)) from None
    except ReviewConflict as exc:
        raise HTTPException(409, detail=str(exc)) from None
    return ReviewPublic(
        id=stored.id,
        item_id=stored.item_id,
        reviewer=stored.reviewer,
        verdict=stored.verdict,
        labels=[ReviewLabelPublic(**{k: lb[k] for k in ReviewLabelPublic.model_fields}) for lb in labels],
    )


def _alert_of_page(store: Store, alert: str | None) -> Any:
    """The drift alert `/review?alert=ID` filters the queue to (None: the whole queue, or no such alert)."""
    if not alert or not is_digits(alert) or len(alert) >= 10:
        return None
    return store.alerts.get(int(alert))


@pages.get("/review", response_class=HTMLResponse)
async def review_page(request: Request, runtime: RuntimeDep) -> Response:
    """The reviewer's queue, one item at a time (the script loads it from the API)."""
    context: dict[str, Any] = {
        "nav": "review",
        "alert": await run_in_threadpool(_alert_of_page, runtime.store, request.query_params.get("alert")),
        "verdicts": [v.value for v in reversed(Verdict)],
        "flags": [f.value for f in ReviewFlag],
    }
    return templates.TemplateResponse(request, "review.html", context)
