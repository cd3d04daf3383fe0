"""Request and response bodies of the HTTP API, kept apart from the tables."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from supportcue.vocab import EventKind, SuggestionMode

DismissReason = Literal["wrong_topic", "outdated", "tone", "not_needed", "other"]


class SuggestCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: str = Field(description="the customer's message")
    case_id: str | None = Field(None, max_length=100)
    context: list[dict[str, Any]] | str | None = Field(None, description="earlier turns, or free text")
    customer_name: str | None = Field(None, max_length=200)
    agent_name: str | None = Field(None, max_length=200)
    fields: dict[str, str] = Field(default_factory=dict, description="case fields for answer placeholders")

    @field_validator("message")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("message is empty")
        return value


class StageTrace(BaseModel):
    stage: str
    mode: str | None = None
    label: str | None = None
    confidence: float | None = None
    abstained: bool | None = None
    reason: str | None = None
    latency_ms: float
    model_version: str | None = None


class SuggestPublic(BaseModel):
    suggestion_id: str
    case_id: str | None
    text: str | None = Field(description="the suggested reply; null when the pipeline abstained")
    topic: str | None
    confidence: float | None
    answer_id: str | None
    abstained_at: str | None = Field(description="the stage that abstained, or null")
    reason: str | None
    mode: SuggestionMode
    alternatives: list[dict[str, Any]]
    trace: list[dict[str, Any]]
    latency_ms: float


class EventCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    idempotency_key: str = Field(min_length=1, max_length=200)
    case_id: str = Field(min_length=1, max_length=100)
    suggestion_id: str | None = Field(None, max_length=40)
    kind: EventKind
    text: str | None = None
    reason: DismissReason | None = None
    agent_id: str | None = Field(None, max_length=100)
    handle_seconds: float | None = Field(None, ge=0, le=7 * 24 * 3600)
    ts: datetime | None = None


class EventPublic(BaseModel):
    id: int
    idempotency_key: str
    case_id: str
    kind: str
    accepted: bool = True
    duplicate: bool = False
