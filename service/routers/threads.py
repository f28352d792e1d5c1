"""POST /v1/threads/bulk (import of forum thread exports) and GET /v1/stats (response-time history)."""

from __future__ import annotations

import threading
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request

from models.schema import LabelConfig, Problem
from models.threads import check_threads
from service.auth import require_scope
from service.deps import EngineDep
from service.expert_schemas import ThreadImportOut
from service.routers.answers import MAX_BULK_BYTES, parse_jsonl
from service.schemas import ErrorOut
from service.threads import import_threads

router = APIRouter(prefix="/v1", tags=["threads"])
_IMPORT_LOCK = threading.Lock()  # one import at a time: the unchanged-thread check stays exact


@router.post("/threads/bulk", response_model=ThreadImportOut, dependencies=[Depends(require_scope("threads"))],
             summary="Import a forum thread export (JSON Lines, labels.md v2); idempotent by thread_id; "
                     "all or nothing: any invalid line rejects the whole file with every problem listed",
             responses={422: {"model": ErrorOut}, 413: {"model": ErrorOut}},
             openapi_extra={"requestBody": {"content": {"application/x-ndjson": {"schema": {"type": "string"}}},
                                            "required": True}})
async def bulk_threads(request: Request, engine: EngineDep) -> ThreadImportOut:
    raw = await request.body()
    if len(raw) > MAX_BULK_BYTES:
        raise HTTPException(413, f"thread export has {len(raw)} bytes; the limit is {MAX_BULK_BYTES}")
    rows, problems = parse_jsonl(raw)
    problems += check_threads(rows, LabelConfig(dict(engine.model.manifest.label_sets)), "bulk")
    if not rows and not problems:
        problems.append(Problem("bulk", 0, "", "no threads in the request body"))
    if problems:
        raise HTTPException(422, [{"line": p.line, "field": p.field, "reason": p.reason}
                                  for p in sorted(problems, key=lambda p: p.line)])
    from starlette.concurrency import run_in_threadpool

    def run() -> dict[str, Any]:
        with _IMPORT_LOCK:
            return import_threads(engine, [row for _, row in rows]).as_dict()

    return ThreadImportOut(**await run_in_threadpool(run))


@router.get("/stats", dependencies=[Depends(require_scope("model"))],
            summary="Response times from the imported threads: median time to a first answer and to an "
                    "accepted solution, per route and per route and topic")
def stats(engine: EngineDep) -> dict[str, Any]:
    history = engine.history.stats() if engine.history is not None else {}
    experts = engine.experts.all() if engine.experts is not None else []
    return {"threads": history, "experts": {"records": len(experts),
                                            "matchable": sum(1 for e in experts if e.matchable)}}
