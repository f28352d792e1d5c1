"""Request ids, one access log line and the request metrics per request (one pure ASGI middleware:
Starlette's BaseHTTPMiddleware, which `@app.middleware("http")` builds, costs a task group and memory
streams per request).

The id comes from a sane incoming `X-Request-ID` header (at most 128 safe characters) or is generated
(uuid4 hex). It is returned in the `X-Request-ID` response header and bound with `structlog.contextvars`,
so every line logged while the request is handled carries it: in the event loop, in the thread pool
that runs sync endpoints (anyio copies the context) and in the micro-batching worker (which binds the
ids of the posts in its batch). The access line has method, path (never the query string), route
template, status, duration and the caller's role; never headers, the API key or the body. The metrics
(service.observability) count and time each answered request by route template ("unmatched" for none);
a request whose error reaches the server's 500 handler is logged but, as before, not counted.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import structlog
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service import observability as obs

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"[A-Za-z0-9._:+=/-]{1,128}")

access_log = structlog.get_logger("wegwijzer.access")


def request_id_from(header: str | None) -> str:
    """The client's id when it is sane, otherwise a new one."""
    if header is not None and _SANE_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    """The id of the request being handled in this context (None outside a request)."""
    return structlog.contextvars.get_contextvars().get("request_id")


@contextmanager
def bound_request_ids(ids: list[str]) -> Iterator[None]:
    """Bind the ids of several requests whose work runs together (a micro-batch)."""
    with structlog.contextvars.bound_contextvars(request_ids=ids):
        yield


def client_role(scope: Scope, headers: Headers) -> str | None:
    """The role of the API key sent (forum, webcare, admin; "unknown" for a key not configured)."""
    key = headers.get("x-api-key")
    settings = getattr(scope["app"].state, "settings", None) if "app" in scope else None
    if not key:
        return scope.get("state", {}).get("console_role")  # the console's signed-in role (service.console)
    if settings is None:
        return None
    return settings.api_keys.get(key, "unknown")


class RequestLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        request_id = request_id_from(headers.get(REQUEST_ID_HEADER))
        # Stays bound in this task after an unhandled error, so the error handler's line carries it too.
        structlog.contextvars.bind_contextvars(request_id=request_id)
        start = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        answered = False
        try:
            await self.app(scope, receive, send_with_id)
            answered = True
        finally:
            duration = time.perf_counter() - start
            route = getattr(scope.get("route"), "path", None)
            if answered:
                obs.LATENCY.labels(route or "unmatched").observe(duration)
                obs.REQUESTS.labels(route or "unmatched", str(status)).inc()
            fields = {"method": scope["method"], "path": scope["path"], "route": route, "status": status,
                      "duration_ms": round(duration * 1000, 2), "role": client_role(scope, headers)}
            if status >= 500:
                access_log.warning("request", **fields)
            else:
                access_log.info("request", **fields)
