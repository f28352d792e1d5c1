"""Request and response schemas of the /v1 API (with Dutch examples for OpenAPI).

Length limits that deserve a 413 (body over the configured maximum, batch too
large) are checked in the endpoints against the settings; the schema limits
here are hard upper bounds that yield a 422."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from service.incident_schemas import IncidentRef

HARD_MAX_CHARS = 1_000_000
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"


class Author(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str | None = Field(None, min_length=1, max_length=256,
                           description="the forum's author id; only a salted hash of it is kept")
    is_new_member: bool = False
    followers: int = Field(0, ge=0, le=10**10)


class PostIn(BaseModel):
    model_config = ConfigDict(extra="ignore", json_schema_extra={"examples": [{
        "title": "Dubbel afgeschreven deze maand",
        "body": "Hoi, ik zie twee keer €35 van mijn rekening afgeschreven voor mijn sim-only abonnement. "
                "Hoe krijg ik dit terug?",
        "author": {"is_new_member": False, "followers": 12},
        "thread_id": "t-88121", "created_at": "2026-11-20T09:14:00+01:00"}]})
    title: str = Field("", max_length=HARD_MAX_CHARS)
    body: str = Field(..., max_length=HARD_MAX_CHARS)
    author: Author = Field(default_factory=Author)
    thread_id: str | None = Field(None, max_length=128)
    created_at: str | None = Field(None, max_length=64, description="ISO 8601; without an offset: UTC")
    post_id: str | None = Field(None, pattern=ID_PATTERN,
                                description="the forum's post id; re-sending it updates the logged post")

    @field_validator("created_at")
    @classmethod
    def _iso_time(cls, v: str | None) -> str | None:
        from service.triage_log import check_time

        return None if v is None else check_time(v)

    @field_validator("body")
    @classmethod
    def _body_not_empty(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("body is empty after trimming whitespace")
        return v


class Alternative(BaseModel):
    label: str
    confidence: float


class HeadOut(BaseModel):
    label: str
    confidence: float = Field(description="calibrated probability of the label")
    alternatives: list[Alternative] = Field(description="top-3 labels with calibrated confidences")
    uncertain: bool = Field(description="confidence below the head's abstention threshold")


class Suggestion(BaseModel):
    answer_id: str
    title: str
    url: str | None = None
    score: float = Field(description="dense cosine similarity of post and answer")
    answerability: float | None = Field(None, description="calibrated probability that this answer solves the post "
                                        "(the model's answerability score; None for models without one)")
    passage: str = Field(description="the matched passage (question and start of the answer)")


class ExpertOut(BaseModel):
    id: str = Field(description="the forum's author id")
    name: str
    score: float
    reasons: list[str] = Field(description="why this expert, in Dutch")


class RouteOut(BaseModel):
    target: Literal["peers", "klantexpert", "webcare"]
    reasons: list[str]
    explanation: str
    expected_response: str = Field(description="from the imported threads' history when there is enough, "
                                               "else the policy's text")
    rules_fired: list[str]
    fallback: bool
    experts: list[ExpertOut] | None = Field(None, description="route klantexpert: up to 3 fitting experts, "
                                                              "best first (empty when none fits)")


class TriageOut(BaseModel):
    labels: dict[str, HeadOut]
    language: str
    suggestions: list[Suggestion]
    route: RouteOut
    model_version: str
    incident: IncidentRef | None = Field(None, description="the open incident this post belongs to")


class BatchIn(BaseModel):
    posts: list[PostIn] = Field(..., min_length=1, max_length=100_000)


class BatchOut(BaseModel):
    results: list[TriageOut]


class Message(BaseModel):
    title: str = Field("", max_length=HARD_MAX_CHARS)
    body: str = Field(..., max_length=HARD_MAX_CHARS)


class SuggestionsIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "post": {"title": "eSIM naar nieuwe telefoon", "body": "Ik heb net een iPhone 16, hoe zet ik mijn eSIM over?"},
        "filters": {"product": "apple"}, "limit": 3}]})
    post: Message | None = None
    thread: list[Message] | None = Field(None, min_length=1, max_length=10_000)
    filters: dict[Literal["product", "topic"], str] = Field(default_factory=dict)
    limit: int = Field(3, ge=1, le=20)


class SuggestionsOut(BaseModel):
    suggestions: list[Suggestion]
    reason: Literal["ok", "nothing_fits", "empty_knowledge_base"]
    threshold: float = Field(description="the answerability threshold (or, for models without one, the cosine "
                             "threshold) below which an answer is not suggested")


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{
        "title": "eSIM overzetten naar nieuwe iPhone",
        "question": "Hoe zet ik mijn eSIM over naar mijn nieuwe iPhone?",
        "answer": "Ga op je oude toestel naar Instellingen > Mobiel netwerk > eSIM overzetten ...",
        "topic": "sim", "product": "apple", "url": "https://forum.example/t/123"}]})
    title: str = Field(..., min_length=1, max_length=500)
    question: str | None = Field(None, max_length=20_000)
    answer: str = Field(..., min_length=1, max_length=20_000)
    topic: str | None = Field(None, max_length=64)
    product: str | None = Field(None, max_length=64)
    url: str | None = Field(None, max_length=2048)
    updated_at: str | None = Field(None, max_length=64)

    @field_validator("title", "answer")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be empty after trimming whitespace")
        return v


class AnswerOut(AnswerIn):
    id: str


class BulkOut(BaseModel):
    written: int
    ids: list[str]


class FeedbackIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "post_id": "p-99812", "role": "klantexpert",
        "post": {"title": "Geen 4G in Zwolle", "body": "Sinds vanmorgen geen 4G meer op mijn Galaxy S23."},
        "labels": {"topic": "network", "urgency": "high"}, "route": "klantexpert",
        "solved_by": "kb-b-042", "comment": "Was een APN-instelling"}]})
    post_id: str | None = Field(None, max_length=128)
    role: Literal["moderator", "klantexpert", "webcare"]
    post: Message | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    route: Literal["peers", "klantexpert", "webcare"] | None = None
    solved_by: str | None = Field(None, max_length=128)
    comment: str | None = Field(None, max_length=5000)


class FeedbackOut(BaseModel):
    id: int
    stored: bool = True


class RuntimeOut(BaseModel):
    name: Literal["openvino", "onnxruntime"]
    precision: str = Field(description="what the matrix products run in: bf16, f32 or int8+f32")
    pad_multiple: int = Field(description="batches are padded to a multiple of this many tokens (0: to the longest)")
    cpu: dict = Field(description="CPU model, the flags that decide the precision, and whether it has native bf16")
    tried: list[dict] = Field(description="each runtime tried at start, in order: ok, reason, start-up parity probe")


class ModelOut(BaseModel):
    version: str
    base_model: str
    label_sets: dict[str, list[str]]
    thresholds: dict[str, float]
    retrieval_threshold: float
    runtime: RuntimeOut
    metrics: dict
    created_at: str


class ErrorOut(BaseModel):
    detail: str | list[dict]
