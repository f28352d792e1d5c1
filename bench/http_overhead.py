"""What the HTTP path adds to one triage request (`python -m bench.http_overhead`).

The same posts, one at a time and each through every path in turn, through
  (a) `Engine.triage([post])` in-process,
  (b) the FastAPI app in-process (raw ASGI calls, no network, no client library),
  (c) a real `python -m service` on 127.0.0.1 with a keep-alive client (stdlib http.client and httpx),
first with the real model (the headline), then with a cached engine whose result for a post is
computed once and then returned as is, so the model costs ~0 and what is left is the HTTP path.
With the cached engine the app is also measured without its middleware, and the pieces of the
path are timed alone (request parsing and validation, response serialisation, the thread-pool
hops of sync endpoints and dependencies, the access-log line, the metrics).

Figures, not tests: printed, and written as JSON with --json. Sequential requests only; for
offered-rate load see bench/server.py (`make bench`).
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bench import server, workload
from bench.stats import say, summary_ms, write_json

# the engines ------------------------------------------------------------------------------------------


def cache_engine(engine: Any) -> Any:
    """Make `engine.triage` answer a post it has seen with the result of the first call (model cost ~0)."""
    real = engine.triage
    cache: dict[tuple[str, str], Any] = {}

    def triage(posts: list[Any]) -> list[Any]:
        missing = [p for p in posts if (p.title, p.body) not in cache]
        if missing:
            for p, out in zip(missing, real(missing), strict=True):
                cache[(p.title, p.body)] = out
        return [cache[(p.title, p.body)] for p in posts]

    engine.triage = triage
    return engine


def serve_cached() -> int:
    """`python -m bench.http_overhead --serve-cached`: `python -m service` with a cached engine."""
    import service.app as app_module
    from service.__main__ import main

    build = app_module.build_engine
    app_module.build_engine = lambda settings: cache_engine(build(settings))  # type: ignore[assignment]
    return main()


# clients --------------------------------------------------------------------------------------------


def asgi_caller(app: Any) -> Callable[[bytes], Any]:
    """One POST /v1/triage straight into the ASGI app; returns (status, body)."""

    async def call(body: bytes, _: int = 0) -> tuple[int, bytes]:
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                 "scheme": "http", "path": "/v1/triage", "raw_path": b"/v1/triage", "query_string": b"",
                 "root_path": "", "headers": [(b"host", b"bench"), (b"content-type", b"application/json"),
                                              (b"content-length", str(len(body)).encode())],
                 "client": ("127.0.0.1", 1), "server": ("bench", 80), "state": {}}
        sent = False
        status, chunks = 0, []

        async def receive() -> dict:
            nonlocal sent
            if sent:
                await asyncio.sleep(3600)  # a disconnect is never announced
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await app(scope, receive, send)
        return status, b"".join(chunks)

    return call


class Paths:
    """The ways one post can be sent, each a callable timed by `interleaved`."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection(server.HOST, port, timeout=server.TIMEOUT_S)
        self.httpx = httpx.Client(base_url=f"http://{server.HOST}:{port}", timeout=server.TIMEOUT_S)

    def http_client(self, body: bytes, _: int = 0) -> None:
        """stdlib http.client, one keep-alive connection."""
        self.conn.request("POST", "/v1/triage", body=body, headers={"content-type": "application/json"})
        r = self.conn.getresponse()
        r.read()
        if r.status != 200:
            raise RuntimeError(f"POST /v1/triage answered {r.status}")

    def httpx_client(self, body: bytes, _: int = 0) -> None:
        """httpx.Client, keep-alive (what bench/server.py's load generator uses, but sync)."""
        r = self.httpx.post("/v1/triage", content=body, headers={"content-type": "application/json"})
        if r.status_code != 200:
            raise RuntimeError(f"POST /v1/triage answered {r.status_code}")

    def close(self) -> None:
        self.conn.close()
        self.httpx.close()


async def interleaved(paths: dict[str, Callable[[bytes, int], Any]], bodies: list[bytes], n: int,
                      warmup: int) -> dict[str, list[float]]:
    """Post i goes through every path in turn before post i+1, so the paths share the machine's
    background load (the shared machine's load moves by the minute). A path returning an awaitable
    is awaited; the others block this event loop, which nothing else uses meanwhile."""
    out: dict[str, list[float]] = {k: [] for k in paths}
    for i in range(-warmup, n):
        body = bodies[i % len(bodies)]
        for key, fn in paths.items():
            t0 = time.perf_counter()
            res = fn(body, i % len(bodies))
            if asyncio.iscoroutine(res):
                status, _ = await res
                if status != 200:
                    raise RuntimeError(f"{key}: POST /v1/triage answered {status}")
            dt = time.perf_counter() - t0
            if i >= 0:
                out[key].append(dt)
    return out


# the pieces ------------------------------------------------------------------------------------------


def per_call_us(fn: Callable[[], Any], n: int, rounds: int = 5) -> float:
    """Median over rounds of the mean µs per call."""
    for _ in range(min(n, 50)):
        fn()
    res = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        res.append((time.perf_counter() - t0) / n * 1e6)
    return round(statistics.median(res), 1)


def pieces(runner: asyncio.Runner, body: bytes, out: Any, n: int) -> dict[str, float]:
    """µs per call of each piece of the HTTP path, alone."""
    import anyio.to_thread
    import structlog
    from fastapi.encoders import jsonable_encoder
    from pydantic import TypeAdapter

    from service import observability as obs
    from service.schemas import PostIn, TriageOut

    post_adapter, out_adapter = TypeAdapter(PostIn), TypeAdapter(TriageOut)
    parsed = json.loads(body)
    access = structlog.get_logger("wegwijzer.access")
    fields = {"method": "POST", "path": "/v1/triage", "route": "/v1/triage", "status": 200, "duration_ms": 12.34,
              "role": None}
    res = {
        "request_json_parse (json.loads)": per_call_us(lambda: json.loads(body), n),
        "request_validation (PostIn from the parsed dict)": per_call_us(lambda: post_adapter.validate_python(parsed),
                                                                        n),
        "request_parse+validation in one (PostIn.model_validate_json)": per_call_us(
            lambda: PostIn.model_validate_json(body), n),
        "response_validation (TriageOut instance, revalidation off)": per_call_us(
            lambda: out_adapter.validate_python(out), n),
        "response_json (TypeAdapter.dump_json, FastAPI's fast path)": per_call_us(lambda: out_adapter.dump_json(out),
                                                                                 n),
        "response_json (model_dump_json)": per_call_us(lambda: out.model_dump_json(), n),
        "response_json (orjson of model_dump)": per_call_us(lambda: _orjson_dump(out), n),
        "response_json (json.dumps of jsonable_encoder, FastAPI before its fast path)": per_call_us(
            lambda: json.dumps(jsonable_encoder(out), ensure_ascii=False, separators=(",", ":")).encode(), n),
        "access_log_line (structlog JSON to /dev/null)": per_call_us(lambda: access.info("request", **fields), n),
        "metrics (latency histogram + request counter)": per_call_us(
            lambda: (obs.LATENCY.labels("/v1/triage").observe(0.01), obs.REQUESTS.labels("/v1/triage", "200").inc()),
            n),
    }

    async def hops(k: int) -> float:
        def noop() -> None:
            return None

        for _ in range(50):
            await anyio.to_thread.run_sync(noop)
        t0 = time.perf_counter()
        for _ in range(k):
            await anyio.to_thread.run_sync(noop)
        return (time.perf_counter() - t0) / k * 1e6

    res["thread_pool_hop (anyio.to_thread.run_sync of a no-op, in the event loop)"] = round(
        statistics.median(runner.run(hops(n)) for _ in range(5)), 1)
    return res


def _orjson_dump(out: Any) -> bytes:
    import orjson

    return orjson.dumps(out.model_dump(mode="json"))


# the run ---------------------------------------------------------------------------------------------


def make_app(engine: Any, settings: Any, middleware: bool = True) -> Any:
    """The service's app over an engine built here (the lifespan is not run)."""
    from service.app import create_app
    from service.batching import MicroBatcher

    app = create_app(settings)
    if not middleware:
        app.user_middleware = []
    app.state.engine = engine
    app.state.batcher = MicroBatcher(engine.triage, settings.micro_batch_max, settings.micro_batch_wait_ms / 1000,
                                     settings.max_queue, settings.max_running)
    return app


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    import logging

    from bench.server import _runner
    from service.app import build_engine
    from service.logs import configure_logging
    from service.settings import Settings

    rows = workload.load_posts()[: args.posts]
    bodies = [json.dumps({"title": r.get("title") or "", "body": r["body"]}, ensure_ascii=False).encode()
              for r in rows]
    posts = [workload.as_post(r) for r in rows]
    n, warmup = args.requests, args.warmup
    store = work / "shipped.sqlite3"
    settings = Settings(model_dir=args.model, store_path=store, seed_kb=workload.KB, auth_enabled=False)
    devnull = open(os.devnull, "w")  # noqa: SIM115 - open for the whole run
    # the access lines go to /dev/null, as a served process's would go to its log collector
    configure_logging(settings.log_level, settings.log_format, stream=devnull)
    logging.getLogger("wegwijzer").setLevel(logging.WARNING)
    engine = build_engine(settings)  # seeds the shipped KB into the store (embedded once)
    say(f"HTTP overhead: {len(posts)} posts cycled, {n} requests per figure after {warmup} warm-up, "
        f"{len(engine.index)} answers (shipped KB), load average {os.getloadavg()[0]:.2f}")
    result: dict[str, Any] = {"posts": len(posts), "requests": n, "warmup": warmup, "answers": len(engine.index),
                              "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}

    def show(key: str, label: str, samples: list[float], into: dict[str, Any]) -> None:
        s = summary_ms(samples)
        into[key] = s
        say(f"  {label:<58} p50 {s['p50_ms']:>7} ms  p99 {s['p99_ms']:>7} ms  (load {os.getloadavg()[0]:.2f})")

    runner = _runner()
    labels = {"engine": "(a) Engine.triage([post]) in-process",
              "asgi": "(b) ASGI app in-process, all middleware",
              "asgi_no_middleware": "(b') ASGI app in-process, no middleware",
              "server_http_client": "(c) python -m service, http.client keep-alive",
              "server_httpx": "(c') python -m service, httpx.Client keep-alive"}
    for mode in ("real", "cached"):
        say(f"[{'real model' if mode == 'real' else 'cached engine (model cost ~0)'}; paths interleaved per post]")
        if mode == "cached":
            cache_engine(engine)
            for p in posts:
                engine.triage([p])
        cmd = [sys.executable, "-m", "bench.http_overhead", "--serve-cached"] if mode == "cached" else None
        with server.running_server(args.model, store, work / f"server-{mode}.log", command=cmd) as srv:
            clients = Paths(srv.port)
            paths: dict[str, Callable[[bytes, int], Any]] = {
                "engine": lambda _, j: engine.triage([posts[j]]), "asgi": asgi_caller(make_app(engine, settings)),
                "server_http_client": clients.http_client, "server_httpx": clients.httpx_client}
            if mode == "cached":
                paths["asgi_no_middleware"] = asgi_caller(make_app(engine, settings, middleware=False))
            # the server's cache fills during the warm-up: every post is sent once before timing starts
            samples = runner.run(interleaved(paths, bodies, n, warmup + (len(bodies) if mode == "cached" else 0)))
            clients.close()
        res: dict[str, Any] = {}
        for key in labels:
            if key in samples:
                s = res[key] = summary_ms(samples[key])
                say(f"  {labels[key]:<58} p50 {s['p50_ms']:>7} ms  p99 {s['p99_ms']:>7} ms")
        for key, other in (("server_http_client", "http_minus_inprocess"), ("asgi", "asgi_minus_inprocess")):
            diffs = [x - y for x, y in zip(samples[key], samples["engine"], strict=True)]
            res[other + "_p50_ms"] = round(res[key]["p50_ms"] - res["engine"]["p50_ms"], 3)
            res[other + "_paired_median_ms"] = round(statistics.median(diffs) * 1000, 3)
        res["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
        say(f"  HTTP adds at p50: {res['http_minus_inprocess_p50_ms']} ms over the network (c - a; median of the "
            f"paired differences {res['http_minus_inprocess_paired_median_ms']} ms), "
            f"{res['asgi_minus_inprocess_p50_ms']} ms in-process (b - a; paired "
            f"{res['asgi_minus_inprocess_paired_median_ms']} ms); load average now {os.getloadavg()[0]:.2f}")
        result[mode] = res
    out = engine.triage([posts[0]])[0]
    say("[pieces of the HTTP path alone, µs per call]")
    result["pieces_us"] = pieces(runner, bodies[0], out, args.piece_calls)
    for k, v in result["pieces_us"].items():
        say(f"  {k:<84} {v:>8}")
    runner.close()
    engine.store.close()
    result["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.http_overhead", description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, default=Path("models/default"))
    ap.add_argument("--posts", type=int, default=100, help="test posts to cycle")
    ap.add_argument("--requests", type=int, default=300, help="timed requests per figure")
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--piece-calls", type=int, default=2000)
    ap.add_argument("--json", type=Path, help="write the figures here")
    ap.add_argument("--serve-cached", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.serve_cached:
        return serve_cached()
    with tempfile.TemporaryDirectory(prefix="wegwijzer-http-") as tmp:
        result = run(args, Path(tmp))
    write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
