"""Offered-rate load on the shipped knowledge base, with and without micro-batching, and the batch
endpoint's throughput (`python -m bench.http_load`).

A real `python -m service` on 127.0.0.1 over a store seeded from training/data/kb.jsonl; open-loop
arrivals at each rate (bench/server.py's generator: latency counts from each request's due time),
one fresh server per configuration. Then POST /v1/triage/batch with `--batch` posts, sequentially,
and the same batches through Engine.triage in-process for comparison. Figures, not tests.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench import server, workload
from bench.stats import say, summary_ms, write_json


def rates_phase(srv: server.Server, bodies: list[bytes], rates: list[float], seconds: float) -> list[dict[str, Any]]:
    async def main() -> list[dict[str, Any]]:
        limits = httpx.Limits(max_connections=server.MAX_INFLIGHT, max_keepalive_connections=server.MAX_INFLIGHT)
        out = []
        async with httpx.AsyncClient(base_url=srv.url, timeout=server.TIMEOUT_S, limits=limits) as client:
            await server._phase(client, bodies, 20.0, 2.0, srv)  # noqa: SLF001 - warm-up
            for rate in rates:
                await server._settle(srv)  # noqa: SLF001
                load = os.getloadavg()[0]
                res = await server._phase(client, bodies, rate, seconds, srv)  # noqa: SLF001
                res["load_average_before"] = round(load, 2)
                out.append(res)
                lat = res["latency"]
                say(f"    {rate:g} req/s: completed {res['completed_rate']} req/s, p50 {lat.get('p50_ms')} ms, "
                    f"p99 {lat.get('p99_ms')} ms, errors {res['error_rate'] * 100:.1f}% {res['errors'] or ''}, "
                    f"server CPU {res['server_cpu_cores']} cores (load {load:.2f})")
        return out

    with server._runner() as runner:  # noqa: SLF001
        return runner.run(main())


def batch_phase(srv: server.Server, posts: list[dict[str, Any]], size: int, batches: int) -> dict[str, Any]:
    body = json.dumps({"posts": [{"title": p.get("title") or "", "body": p["body"]}
                                 for p in workload.cycle(posts, size)]}, ensure_ascii=False).encode()
    times = []
    with httpx.Client(base_url=srv.url, timeout=300) as client:
        for i in range(batches + 1):
            t0 = time.perf_counter()
            r = client.post("/v1/triage/batch", content=body, headers={"content-type": "application/json"})
            if r.status_code != 200:
                raise RuntimeError(f"/v1/triage/batch answered {r.status_code}: {r.text[:300]}")
            if i:  # the first is a warm-up
                times.append(time.perf_counter() - t0)
    return {"batch": size, "batches": batches, "posts_per_s": round(size * batches / sum(times), 1),
            "per_batch": summary_ms(times), "response_bytes": len(r.content)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.http_load", description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, default=Path("models/default"))
    ap.add_argument("--rates", type=float, nargs="+", default=[50, 100, 150])
    ap.add_argument("--seconds", type=float, default=10.0, help="per rate")
    ap.add_argument("--micro-batch", type=int, nargs="+", default=[1, 16],
                    help="WEGWIJZER_MICRO_BATCH_MAX values (1 = off)")
    ap.add_argument("--batch", type=int, default=256, help="posts per /v1/triage/batch request")
    ap.add_argument("--batches", type=int, default=3)
    ap.add_argument("--cached", action="store_true",
                    help="serve a cached engine (bench.http_overhead): the model costs ~0, the HTTP path is measured")
    ap.add_argument("--posts", type=int, default=0, help="cycle only the first N test posts (0: all)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    posts = workload.load_posts()[: args.posts or None]
    bodies = [json.dumps({"title": p.get("title") or "", "body": p["body"]}, ensure_ascii=False).encode()
              for p in posts]
    result: dict[str, Any] = {"rates": args.rates, "seconds": args.seconds, "cached_engine": args.cached,
                              "posts": len(posts),
                              "load_average_at_start": [round(x, 2) for x in os.getloadavg()], "micro_batching": {}}
    with tempfile.TemporaryDirectory(prefix="wegwijzer-load-") as tmp:
        work = Path(tmp)
        store = work / "shipped.sqlite3"
        with server.running_server(args.model, store, work / "seed.log", seed_kb=str(workload.KB)) as srv:
            result["answers"] = srv.answers
        say(f"shipped KB: {result['answers']} answers; load average {os.getloadavg()[0]:.2f}")
        for mb in args.micro_batch:
            say(f"[micro-batching {'off' if mb == 1 else f'max {mb}'}]")
            env = {"WEGWIJZER_MICRO_BATCH_MAX": str(mb)}
            cmd = [sys.executable, "-m", "bench.http_overhead", "--serve-cached"] if args.cached else None
            with server.running_server(args.model, store, work / f"mb{mb}.log", extra_env=env, command=cmd) as srv:
                if args.cached:  # every post once, so the phases only meet the cache
                    with httpx.Client(base_url=srv.url, timeout=60) as client:
                        for body in bodies:
                            client.post("/v1/triage", content=body, headers={"content-type": "application/json"})
                result["micro_batching"][str(mb)] = rates_phase(srv, bodies, args.rates, args.seconds)
        if args.batch:
            say(f"[POST /v1/triage/batch, {args.batch} posts, {args.batches} batches after one warm-up]")
            with server.running_server(args.model, store, work / "batch.log") as srv:
                load = os.getloadavg()[0]
                res = batch_phase(srv, posts, args.batch, args.batches)
                res["load_average_before"] = round(load, 2)
            result["batch_endpoint"] = res
            say(f"    {res['posts_per_s']} posts/s over HTTP, {res['per_batch']['p50_ms']} ms per batch p50 "
                f"(load {load:.2f})")
            from bench import inprocess

            engine, _ = inprocess.make_engine(args.model, store)
            load = os.getloadavg()[0]
            ip = inprocess.batch_throughput(engine, [workload.as_post(p) for p in posts], args.batch,
                                            args.batch * args.batches)
            engine.store.close()
            ip["load_average_before"] = round(load, 2)
            result["batch_inprocess"] = ip
            say(f"    {ip['posts_per_s']} posts/s in-process Engine.triage (load {load:.2f})")
    result["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
