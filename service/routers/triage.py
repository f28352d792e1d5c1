from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException

from service.auth import require_scope
from service.batching import Overloaded
from service.deps import BatcherDep, EngineDep, SettingsDep, check_text_limits
from service.schemas import BatchIn, BatchOut, PostIn, TriageOut

router = APIRouter(prefix="/v1", tags=["triage"], dependencies=[Depends(require_scope("triage"))])


@router.post("/triage", response_model=TriageOut, summary="Tag, suggest answers and route one post")
def triage(post: PostIn, batcher: BatcherDep, settings: SettingsDep) -> TriageOut:
    check_text_limits(post.title, post.body, settings)
    try:
        return batcher.submit(post, timeout=settings.request_timeout_s)
    except Overloaded as exc:
        raise HTTPException(503, f"overloaded: {exc}; retry shortly", headers={"Retry-After": "1"}) from exc
    except TimeoutError as exc:
        raise HTTPException(503, f"not triaged within {settings.request_timeout_s} s; retry shortly",
                            headers={"Retry-After": "1"}) from exc


@router.post("/triage/batch", response_model=BatchOut, summary="Triage up to max_batch posts (backfills)")
def triage_batch(batch: BatchIn, engine: EngineDep, settings: SettingsDep) -> BatchOut:
    if len(batch.posts) > settings.max_batch:
        raise HTTPException(413, f"batch has {len(batch.posts)} posts; the limit is {settings.max_batch}")
    for i, p in enumerate(batch.posts):
        check_text_limits(p.title, p.body, settings, where=f"posts[{i}].body")
    return BatchOut(results=engine.triage(batch.posts))
