"""Drift alerts (reviewers): GET /v1/alerts (those still raised lately) and GET /v1/alerts/{id}, each
with the review items it created (`monitoring/alerts.py` `describe`; `supportcue drift` raises them)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.concurrency import run_in_threadpool

from supportcue.data.store import Store
from supportcue.monitoring.alerts import RECENT, describe
from supportcue.service.body import StrictJSONRoute
from supportcue.service.deps import NotFound, StoreDep, require
from supportcue.service.paging import Offset, page
from supportcue.service.schemas import AlertPublic, AlertsPublic, problem_responses
from supportcue.vocab import Role

router = APIRouter(
    prefix="/v1", tags=["alerts"], route_class=StrictJSONRoute, dependencies=[require(Role.REVIEWER)]
)
MAX_LIMIT = 100


def _recent(store: Store, days: int, limit: int, offset: int) -> AlertsPublic:
    alerts, next_offset = page(store.alerts.recent(timedelta(days=days), limit + 1, offset), limit, offset)
    data = [AlertPublic(**a) for a in describe(store, alerts)]
    return AlertsPublic(data=data, count=len(data), next_offset=next_offset)


@router.get("/alerts", response_model=AlertsPublic, responses=problem_responses(403, 422, 503))
async def list_alerts(
    store: StoreDep,
    days: Annotated[
        int, Query(ge=1, le=3650, description="last seen within N days of the newest suggestion")
    ] = RECENT.days,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
    offset: Offset = 0,
) -> AlertsPublic:
    """The drift alerts still raised lately (last seen within `days` of the newest suggestion, or of
    now if that is earlier), the latest first, each with the ids of the review items it created; a
    page of `limit` from `offset`, and the `next_offset` of the next page (null on the last)."""
    return await run_in_threadpool(_recent, store, days, limit, offset)


def _one(store: Store, alert_id: int) -> AlertPublic | None:
    alert = store.alerts.get(alert_id)
    return None if alert is None else AlertPublic(**describe(store, [alert])[0])


@router.get("/alerts/{alert_id}", response_model=AlertPublic, responses=problem_responses(403, 404, 422, 503))
async def get_alert(alert_id: Annotated[int, Path(ge=1, le=2**31 - 1)], store: StoreDep) -> AlertPublic:
    """One drift alert with the ids of the review items it created."""
    found = await run_in_threadpool(_one, store, alert_id)
    if found is None:
        raise NotFound("drift alert")
    return found
