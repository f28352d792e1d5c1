"""The FastAPI application (`service.app:app`; `python -m service` runs it with uvicorn)."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from models import textprep
from models.index import VectorIndex
from models.inference import TriageModel
from service import console
from service.batching import MicroBatcher
from service.db.url import POSTGRESQL
from service.incidents import build_incident_service, maintenance_loop
from service.index_loading import load_index, save_snapshot_at_shutdown
from service.logs import configure_logging
from service.policy import Policy
from service.replication import start_follower
from service.request_log import REQUEST_ID_HEADER, RequestLogMiddleware, current_request_id
from service.routers import answers, experts, feedback, meta, suggestions, triage
from service.routers import incidents as incident_routes
from service.routers import threads as thread_routes
from service.settings import Settings, get_settings
from service.store import Store
from service.threads import attach as attach_threads
from service.triage import Engine

log = logging.getLogger("wegwijzer")


def build_engine(settings: Settings) -> Engine:
    model = TriageModel.from_settings(settings)
    policy = Policy.from_file(settings.policy_path, model.manifest.label_sets)
    store = Store(settings.store)
    index = VectorIndex(model.dim, model.lexical_weight, model.lexical_candidates, settings.ann)
    engine = Engine(model, store, index, policy, settings.max_suggestions)
    engine.incidents = build_incident_service(store, settings, model.dim)
    if store.count_answers() == 0 and settings.seed_kb is not None and Path(settings.seed_kb).is_file():
        seed_knowledge_base(engine, Path(settings.seed_kb))
    watermark = store.change_watermark()  # before loading: a change committed meanwhile is applied again, not lost
    engine.index_watermark = load_index(engine, watermark, settings.index_snapshot_dir)
    attach_threads(engine)  # expert records and response history from imported threads (issue 14)
    engine.follower = start_follower(engine, watermark, settings.sync_poll_s)  # PostgreSQL: other replicas' writes
    return engine


def seed_knowledge_base(engine: Engine, path: Path) -> None:
    from models.data_io import load_answers

    rows = load_answers(path)
    for i in range(0, len(rows), 256):
        answers.write_answers(engine, rows[i:i + 256])
    log.info("seeded the knowledge base with %d answers from %s", len(rows), path)


def create_app(settings: Settings | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = app.state.settings or get_settings()
        s = app.state.settings
        configure_logging(s.log_level, s.log_format)
        engine = build_engine(s)
        # Build the language detector beside start-up so the first post does not pay it: mapped from the
        # tables in the runtime cache (written there at the first start), else in memory (0.6 s CPU).
        textprep.use_table_cache(s.runtime_cache_path)
        threading.Thread(target=textprep.language_identifier, name="langid-warmup", daemon=True).start()
        app.state.batcher = MicroBatcher(engine.triage, s.micro_batch_max, s.micro_batch_wait_ms / 1000, s.max_queue,
                                         s.max_running)
        app.state.engine = engine
        maintenance = asyncio.create_task(maintenance_loop(engine.incidents, s.purge_interval_s))
        yield
        maintenance.cancel()
        app.state.batcher.close()
        if engine.follower is not None:
            engine.follower.stop()
            engine.index_watermark = max(engine.index_watermark, engine.follower.watermark)
        if s.index_snapshot_dir is not None:  # local writes after index_watermark are applied again at start
            save_snapshot_at_shutdown(engine, s.index_snapshot_dir)
        engine.store.close()

    app = FastAPI(title="Wegwijzer", version="0.1.0", lifespan=lifespan,
                  description="Triage for a Dutch telecom customer community: tags with calibrated "
                              "confidences, suggested existing answers and routing to peers, a klantexpert "
                              "or webcare.")
    app.state.settings = settings
    app.state.engine = None
    for r in (triage.router, suggestions.router, answers.router, feedback.router, meta.router,
              incident_routes.router):
        app.include_router(r)
    app.include_router(thread_routes.router)
    app.include_router(experts.router)
    console.install(app)
    install_handlers(app, postgres=settings is None or settings.store.dialect == POSTGRESQL)
    # outermost of ours: every line inside carries the request id; it also counts and times the request
    app.add_middleware(RequestLogMiddleware)
    return app


def install_handlers(app: FastAPI, postgres: bool = True) -> None:
    """The app's error responses. `postgres`: also answer 503 when the PostgreSQL store is unreachable
    (a SQLite deployment never imports the driver: about 0.1 s of start-up)."""
    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        detail = [{"field": ".".join(str(p) for p in e["loc"] if p != "body") or "body",
                   "reason": e["msg"], "type": e["type"]} for e in exc.errors()]
        return JSONResponse({"detail": detail}, status_code=422)

    if postgres:
        import psycopg

        @app.exception_handler(psycopg.OperationalError)
        async def store_unreachable(_: Request, exc: psycopg.OperationalError) -> JSONResponse:
            # the shared store is down or failing over: nothing was acknowledged; the client retries
            log.error("store unreachable: %s", type(exc).__name__)
            return JSONResponse({"detail": "the store is unreachable; the request was not processed, retry shortly"},
                                status_code=503, headers={"Retry-After": "2"})

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error: %s", type(exc).__name__)  # type and traceback, never the request body
        request_id = current_request_id()
        return JSONResponse({"detail": "internal error; the request was not processed"}, status_code=500,
                            headers={REQUEST_ID_HEADER: request_id} if request_id else None)


class _LazyApp:
    """`service.app:app` for uvicorn: settings are read (and validated) when the server starts."""

    def __init__(self) -> None:
        self._app: FastAPI | None = None

    def _get(self) -> FastAPI:
        if self._app is None:
            self._app = create_app(get_settings())
        return self._app

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001
        await self._get()(scope, receive, send)

    def __getattr__(self, name: str):  # noqa: ANN204
        return getattr(self._get(), name)


app = _LazyApp()
