from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException

from models.redact import redact
from service.auth import require_scope
from service.deps import EngineDep
from service.schemas import FeedbackIn, FeedbackOut
from service.triage import Engine

router = APIRouter(prefix="/v1", tags=["feedback"], dependencies=[Depends(require_scope("feedback"))])


class FeedbackProblem(ValueError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


def write_feedback(engine: Engine, fb: FeedbackIn) -> int:
    """Check labels and `solved_by` against the model and the knowledge base, redact the text, store;
    returns the feedback id. Raises FeedbackProblem naming the field (the API and the console share this)."""
    label_sets = engine.model.manifest.label_sets
    for head, value in fb.labels.items():
        if head not in label_sets:
            raise FeedbackProblem(f"labels.{head}", f"unknown head (heads: {', '.join(label_sets)})")
        if value not in label_sets[head]:
            raise FeedbackProblem(f"labels.{head}", f"{value!r} is not one of {', '.join(label_sets[head])}")
    if fb.solved_by is not None and engine.store.get_answer(fb.solved_by) is None:
        raise FeedbackProblem("solved_by", f"answer {fb.solved_by!r} does not exist")
    payload = fb.model_dump(exclude_none=True, exclude={"post_id", "role"})
    if fb.post is not None:
        payload["post"] = {"title": redact(fb.post.title), "body": redact(fb.post.body)}
    if fb.comment is not None:
        payload["comment"] = redact(fb.comment)
    return engine.store.add_feedback(fb.post_id, fb.role, payload)


@router.post("/feedback", response_model=FeedbackOut, status_code=201,
             summary="Store a correction (labels, route, which answer solved it); personal data is redacted")
def feedback(fb: FeedbackIn, engine: EngineDep) -> FeedbackOut:
    try:
        return FeedbackOut(id=write_feedback(engine, fb))
    except FeedbackProblem as exc:
        raise HTTPException(422, str(exc)) from exc
