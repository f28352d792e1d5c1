"""What structured logging costs per request (`python -m bench.logging_overhead`).

1. One access line: structlog JSON (service.logs, with redaction of the event) against a plain-text
   standard-library line shaped like uvicorn's access log, both written to /dev/null.
2. GET /healthz through the real app in-process (ASGI calls, no network), with and without the
   request-id/access-log middleware. Rounds are interleaved; medians are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import time

import structlog

from service.app import create_app
from service.logs import configure_logging
from service.request_log import RequestLogMiddleware
from service.settings import Settings


def per_line_us(emit, n: int) -> float:  # noqa: ANN001
    start = time.perf_counter()
    for _ in range(n):
        emit()
    return (time.perf_counter() - start) / n * 1e6


async def asgi_get(app, path: str) -> None:  # noqa: ANN001
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", b"bench")], "client": ("127.0.0.1", 1), "server": ("bench", 80)}

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            assert message["status"] == 200

    await app(scope, receive, send)


async def per_request_us(app, n: int) -> float:  # noqa: ANN001
    start = time.perf_counter()
    for _ in range(n):
        await asgi_get(app, "/healthz")
    return (time.perf_counter() - start) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    devnull = open(os.devnull, "w")  # noqa: SIM115 - open for the whole run
    configure_logging("info", "json", stream=devnull)

    access = structlog.get_logger("wegwijzer.access")
    fields = {"method": "POST", "path": "/v1/triage", "route": "/v1/triage", "status": 200, "duration_ms": 43.51,
              "role": "forum"}
    plain = logging.getLogger("bench.plain")
    plain.propagate = False
    handler = logging.StreamHandler(devnull)
    handler.setFormatter(logging.Formatter("%(levelname)s:     %(message)s"))
    plain.addHandler(handler)
    plain.setLevel(logging.INFO)
    json_us, plain_us = [], []
    for _ in range(args.rounds):
        json_us.append(per_line_us(lambda: access.info("request", **fields), args.lines))
        plain_us.append(per_line_us(lambda: plain.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "POST",
                                                        "/v1/triage", "1.1", 200), args.lines))

    settings = Settings(auth_enabled=False)
    with_mw = create_app(settings)
    without_mw = create_app(settings)
    without_mw.user_middleware = [m for m in without_mw.user_middleware if m.cls is not RequestLogMiddleware]
    with_us, without_us = [], []

    async def run() -> None:
        for app in (with_mw, without_mw):
            await per_request_us(app, 50)  # warm up (builds the middleware stack)
        for _ in range(args.rounds):
            with_us.append(await per_request_us(with_mw, args.requests))
            without_us.append(await per_request_us(without_mw, args.requests))

    asyncio.run(run())
    med = statistics.median
    print(f"| what | median µs ({args.rounds} rounds) |")
    print("| --- | --- |")
    print(f"| access line, structlog JSON + redaction ({args.lines} lines/round) | {med(json_us):.1f} |")
    print(f"| access line, plain stdlib text like uvicorn's ({args.lines} lines/round) | {med(plain_us):.1f} |")
    print(f"| GET /healthz in-process, with request-id/access-log middleware ({args.requests}/round) "
          f"| {med(with_us):.1f} |")
    print(f"| GET /healthz in-process, without it | {med(without_us):.1f} |")


if __name__ == "__main__":
    main()
