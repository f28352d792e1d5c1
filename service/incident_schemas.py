"""Schemas of the incidents API and of the `incident` field of a triage response."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator


class IncidentRef(BaseModel):
    """The open incident a triaged post belongs to."""
    id: str
    summary: str
    post_count: int
    opened_at: str
    status_message: str | None = Field(None, description="webcare's status text, once posted")


class IncidentOut(BaseModel):
    id: str
    status: Literal["open", "closed"]
    opened_at: str
    last_seen: str
    closed_at: str | None
    closed_reason: Literal["quiet", "manual"] | None
    post_count: int
    author_count: int = Field(description="distinct authors (by salted author key)")
    topic: str | None
    product: str | None
    summary: str
    terms: list[str]
    representative_post_id: str | None
    status_message: str | None
    status_updated_at: str | None


class IncidentPost(BaseModel):
    post_id: str
    created_at: str
    thread_id: str | None
    title: str = Field(description="redacted")
    body: str = Field(description="redacted")
    labels: dict[str, str]
    route: str


class IncidentDetail(IncidentOut):
    posts: list[IncidentPost] = Field(description="member posts still within the retention period, oldest first")


class IncidentList(BaseModel):
    incidents: list[IncidentOut]


class StatusIn(BaseModel):
    model_config = {"json_schema_extra": {"examples": [{
        "text": "Er is een storing op glasvezel in Rotterdam-Zuid (Hoogvliet, Pernis). Monteurs zijn bezig; "
                "we verwachten herstel rond 14:00. Je modem herstarten is niet nodig."}]}}
    text: str = Field(..., min_length=1, max_length=5000)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("text is empty after trimming whitespace")
        return v.strip()
