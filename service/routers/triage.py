"""POST /v1/triage and /v1/triage/batch.

The endpoints are `async def` and hand only the model run to a thread (the pool's, or with
micro-batching the batcher's worker, awaited in the loop): a sync endpoint would also have its
response validated in a second thread-pool hop. The TriageOut they return is
serialised once, by FastAPI's pydantic-core path straight to JSON bytes (a custom response class,
orjson's included, would turn that path off: `python -m bench.http_overhead` measures both)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException
from starlette.concurrency import run_in_threadpool

from service.auth import require_scope
from service.batching import Overloaded
from service.deps import BatcherDep, EngineDep, SettingsDep, check_text_limits
from service.schemas import BatchIn, BatchOut, PostIn, TriageOut

router = APIRouter(prefix="/v1", tags=["triage"], dependencies=[Depends(require_scope("triage"))])


@router.post("/triage", response_model=TriageOut, summary="Tag, suggest answers and route one post")
async def triage(post: PostIn, batcher: BatcherDep, settings: SettingsDep) -> TriageOut:
    check_text_limits(post.title, post.body, settings)
    try:
        return await batcher.submit_async(post, timeout=settings.request_timeout_s)
    except Overloaded as exc:
        raise HTTPException(503, f"overloaded: {exc}; retry shortly", headers={"Retry-After": "1"}) from exc
    except TimeoutError as exc:
        raise HTTPException(503, f"not triaged within {settings.request_timeout_s} s; retry shortly",
                            headers={"Retry-After": "1"}) from exc


@router.post("/triage/batch", response_model=BatchOut, summary="Triage up to max_batch posts (backfills)")
async def triage_batch(batch: BatchIn, engine: EngineDep, settings: SettingsDep) -> BatchOut:
    if len(batch.posts) > settings.max_batch:
        raise HTTPException(413, f"batch has {len(batch.posts)} posts; the limit is {settings.max_batch}")
    for i, p in enumerate(batch.posts):
        check_text_limits(p.title, p.body, settings, where=f"posts[{i}].body")
    return BatchOut(results=await run_in_threadpool(engine.triage, batch.posts))
