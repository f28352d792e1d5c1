from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from service.auth import require_scope
from service.deps import EngineDep
from service.observability import REGISTRY
from service.schemas import ModelOut, RuntimeOut

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is alive")
def healthz() -> dict:
    return {"status": "ok"}


@router.get("/readyz", summary="Model and store are loaded (and, with replicas, the change feed is connected)")
def readyz(request: Request) -> JSONResponse:
    engine = getattr(request.app.state, "engine", None)
    if engine is None:
        return JSONResponse({"status": "loading"}, status_code=503)
    if engine.follower is not None and not engine.follower.connected.is_set():
        # a replica that cannot hear the others may serve a stale index: out of the load balancer until back
        return JSONResponse({"status": "reconnecting to the shared store", "answers": len(engine.index)},
                            status_code=503)
    return JSONResponse({"status": "ok", "answers": len(engine.index)})


@router.get("/metrics", summary="Prometheus metrics")
def metrics() -> Response:
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


@router.get("/v1/model", response_model=ModelOut, tags=["model"], dependencies=[Depends(require_scope("model"))])
def model_info(engine: EngineDep) -> ModelOut:
    m = engine.model.manifest
    return ModelOut(version=engine.version, base_model=m.base_model, label_sets=m.label_sets,
                    thresholds=m.thresholds, retrieval_threshold=engine.model.retrieval_threshold,
                    runtime=RuntimeOut(**engine.model.selection.describe()), metrics=m.metrics,
                    created_at=m.created_at)
