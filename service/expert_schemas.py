"""Request and response schemas of the thread import, expert and stats endpoints (issue 14)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from service.schemas import HARD_MAX_CHARS, ExpertOut


class ExpertIn(BaseModel):
    """What only people know about an expert; every field is optional and only the fields sent change."""
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "name": "Annemiek", "available": True, "max_open": 5, "open_questions": 2,
        "specialities": ["samsung", "device"]}]})
    name: str | None = Field(None, min_length=1, max_length=100, description="display name on the forum")
    available: bool | None = None
    max_open: int | None = Field(None, ge=0, le=10_000, description="at most this many open questions "
                                                                   "(null: no limit)")
    open_questions: int | None = Field(None, ge=0, le=10_000, description="open questions they hold now "
                                                                         "(reported by the forum platform)")
    specialities: list[str] | None = Field(None, max_length=20, description="extra topics or products "
                                                                           "(labels of the model)")

    @field_validator("name")
    @classmethod
    def _not_blank(cls, v: str | None) -> str | None:
        if v is not None and not v.strip():
            raise ValueError("must not be empty after trimming whitespace")
        return v


class ExpertRecordOut(BaseModel):
    id: str
    name: str | None
    role: str
    available: bool
    max_open: int | None
    open_questions: int
    specialities: list[str]
    solved: int = Field(description="accepted solutions in the imported threads")
    by_topic: dict[str, int]
    by_product: dict[str, int]
    median_answer_s: float | None = Field(description="median time from question to their first reply, "
                                                      "in the threads they solved")
    last_active: str | None = Field(description="their last post in a thread they solved")
    matchable: bool = Field(description="suggested for posts (klantexperts, and members with enough "
                                        "accepted solutions) when available and under their limit")


class ExpertsOut(BaseModel):
    experts: list[ExpertRecordOut]


class MatchIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "title": "Galaxy S24 geen 5G", "body": "Sinds de update van vorige week pakt mijn S24 geen 5G meer."}]})
    title: str = Field("", max_length=HARD_MAX_CHARS)
    body: str = Field(..., max_length=HARD_MAX_CHARS)

    @field_validator("body")
    @classmethod
    def _body_not_empty(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("body is empty after trimming whitespace")
        return v


class MatchOut(BaseModel):
    experts: list[ExpertOut]


class ThreadImportOut(BaseModel):
    threads: int
    unchanged: int = Field(description="already imported with the same content: skipped")
    answers_written: int
    answers_removed: int = Field(description="threads whose solution was un-accepted")
    experts: list[str] = Field(description="authors of the imported solutions")
