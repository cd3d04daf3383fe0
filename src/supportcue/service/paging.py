"""Offset paging of the API's lists (GET /v1/answers, GET /v1/alerts, a case's messages in GET
/v1/cases/{case_id}): a page of `limit` from `offset`, and the `offset` of the next page
(`next_offset`, null on the last). A page is read with one row more than `limit`: that row says
whether a next page exists, without counting the rest."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, TypeVar

from fastapi import Query

T = TypeVar("T")

MAX_OFFSET = 1_000_000
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="how many to skip: a page's `next_offset`")]


def page(found: Sequence[T], limit: int, offset: int) -> tuple[list[T], int | None]:
    """The page out of `found` (read with `limit + 1` rows from `offset`) and the next page's offset,
    None when this page is the last."""
    return list(found[:limit]), (offset + limit if len(found) > limit else None)
