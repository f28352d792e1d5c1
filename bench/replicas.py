"""`python -m bench.replicas [--model models/default] [--store-url postgresql://...]`: replica sync lag (figures).

Two uvicorn replicas on one PostgreSQL database (a throwaway cluster from Debian's binaries when no
--store-url is given). An answer is PUT through replica A; from A's acknowledgement, replica B's
`/readyz` is polled (every 2 ms) until its index holds the answer: that is the sync lag (NOTIFY,
fetch, index update). Deletes likewise. Then B's change-feed connection is terminated, answers are
written meanwhile, and the time until B has them all is the catch-up after a lost connection.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
ANSWER = {"title": "Voicemail uitzetten", "answer": "Bel ##002# en druk op de belknop.", "product": "other_device"}


def start(model: str, url: str, port: int) -> subprocess.Popen:
    env = {**os.environ, "WEGWIJZER_MODEL_DIR": model, "WEGWIJZER_STORE_URL": url, "WEGWIJZER_AUTH_ENABLED": "false",
           "WEGWIJZER_SEED_KB": str(ROOT / "training/data/kb.jsonl"), "WEGWIJZER_PORT": str(port),
           "WEGWIJZER_LOG_LEVEL": "warning", "WEGWIJZER_SYNC_POLL_S": "3600"}
    env.pop("WEGWIJZER_STORE_PATH", None)
    proc = subprocess.Popen([sys.executable, "-m", "service"], cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("replica did not start")


def until(check, limit_s: float = 30.0) -> float:  # noqa: ANN001
    start = time.perf_counter()
    while not check():
        if time.perf_counter() - start > limit_s:
            raise RuntimeError("replicas did not converge")
        time.sleep(0.002)
    return time.perf_counter() - start


def pct(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))]


def measure(model: str, url: str, reps: int) -> dict[str, float]:
    import psycopg

    from tests.test_service_process import free_port

    ports = [free_port(), free_port()]
    procs = [start(model, url, ports[0])]
    procs.append(start(model, url, ports[1]))
    a, b = (httpx.Client(base_url=f"http://127.0.0.1:{p}", timeout=10) for p in ports)
    try:
        def count() -> int:
            return int(b.get("/readyz").json()["answers"])

        add, delete = [], []
        for i in range(reps):
            n = count()
            assert a.put(f"/v1/answers/bench-{i}", json=ANSWER).status_code == 200
            add.append(until(lambda n=n: count() == n + 1))
            assert a.delete(f"/v1/answers/bench-{i}").status_code == 204
            delete.append(until(lambda n=n: count() == n))
        with psycopg.connect(url, autocommit=True) as admin:
            n = count()
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE application_name='wegwijzer-follower' AND datname=current_database()")
            for i in range(20):
                assert a.put(f"/v1/answers/outage-{i}", json=ANSWER).status_code == 200
            written = time.perf_counter()
            until(lambda: count() == n + 20)
            catch_up = time.perf_counter() - written
        out = {"reps": reps, "add_median_ms": statistics.median(add) * 1000, "add_p95_ms": pct(add, 0.95) * 1000,
               "add_max_ms": max(add) * 1000, "delete_median_ms": statistics.median(delete) * 1000,
               "delete_p95_ms": pct(delete, 0.95) * 1000, "delete_max_ms": max(delete) * 1000,
               "catch_up_after_lost_connection_ms": catch_up * 1000}
        return out
    finally:
        a.close()
        b.close()
        for p in procs:
            p.terminate()
            p.wait(10)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.replicas", description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="models/default")
    ap.add_argument("--store-url", default=None, help="an empty PostgreSQL database (default: a throwaway cluster)")
    ap.add_argument("--reps", type=int, default=50)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    cluster = None
    url = args.store_url
    if url is None:
        from tests.pg import Cluster, why_unavailable

        if why_unavailable():
            ap.error(str(why_unavailable()))
        cluster = Cluster().start()
        url = cluster.url(cluster.create_database())
    try:
        figures = measure(args.model, url, args.reps)
    finally:
        if cluster is not None:
            cluster.stop()
    for k, v in figures.items():
        print(f"{k}: {v:.1f}" if isinstance(v, float) else f"{k}: {v}")
    if args.json:
        args.json.write_text(json.dumps({k: round(v, 2) for k, v in figures.items()}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
