"""Cost of the online incident check: `python -m bench.incidents [--window 10000] [--adds 500]`.

Fills the detector's window with `--window` posts (random unit embeddings of the model's size,
times within the window, restored as at a restart) and times `add` for `--adds` further posts: unrelated posts (the
common case: one matrix-vector product against the window, no incident) and posts of a burst
(joining an open incident). Then times the service path (`IncidentService.observe`: detection,
routing stub and the SQLite commit with synchronous=FULL) on a store holding the same window.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from service.incident_detector import IncidentDetector, IncidentParams
from service.policy import Decision, PostFacts
from service.store import Store

T0 = 1_790_000_000.0


def unit_rows(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    x = rng.normal(size=(n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def figures(samples: list[float], cpu: list[float] | None = None) -> dict[str, float]:
    ms = np.array(samples) * 1000
    out = {"mean_ms": round(float(ms.mean()), 4), "p50_ms": round(float(np.percentile(ms, 50)), 4),
           "p99_ms": round(float(np.percentile(ms, 99)), 4), "n": len(samples)}
    if cpu:
        out["cpu_mean_ms"] = round(float(np.mean(cpu)) * 1000, 4)
    return out


def timed(fn, *args) -> tuple[float, float]:  # noqa: ANN001 - (wall s, this thread's CPU s)
    w, c = time.perf_counter(), time.thread_time()
    fn(*args)
    return time.perf_counter() - w, time.thread_time() - c


def bench_detector(window: int, adds: int, dim: int, seed: int = 0, blas_threads: int | None = 1
                   ) -> dict[str, dict[str, float]]:
    """Each case starts from a window of exactly `window` posts (restored, as at a restart)."""
    rng = np.random.default_rng(seed)
    params = IncidentParams(similarity=0.9, join_similarity=0.88, min_authors=3, window_s=3600, quiet_s=7200)
    span = params.window_s * 0.9  # every filled post stays in the window during the timed adds
    filled = unit_rows(rng, window, dim)
    theme = unit_rows(rng, 1, dim)[0]
    burst = theme + 0.01 * rng.normal(size=(adds + 3, dim)).astype(np.float32)
    cases = {"unrelated_post": unit_rows(rng, adds, dim), "burst_post_joining": burst / np.linalg.norm(
        burst, axis=1, keepdims=True)}
    out: dict[str, dict[str, float]] = {}
    for name, posts in cases.items():
        counter = itertools.count(1)
        det = IncidentDetector(dim, params, lambda c=counter: f"inc-{next(c)}", capacity=window + len(posts) + 16,
                               blas_threads=blas_threads)
        det.restore(((f"w{i}", T0 + span * i / window, f"a{i}", e, None) for i, e in enumerate(filled)), [])
        if name == "burst_post_joining":  # open the incident first; time the posts that join it
            for i in range(3):
                det.add(f"x{i}", T0 + span + i, f"c{i}", posts[i])
            posts = posts[3:]
            assert len(det.open) == 1
        walls, cpus = [], []
        for i, e in enumerate(posts):
            w, c = timed(det.add, f"y{i}", T0 + span + 10 + i * 0.01, f"d{i}", e)
            walls.append(w)
            cpus.append(c)
        out[name] = {**figures(walls, cpus), "window_after": len(det)}
    return out


def bench_service(window: int, adds: int, dim: int, seed: int = 1) -> dict[str, float]:
    from service import triage_log
    from service.incidents import IncidentService
    from service.triage_log import LoggedPost

    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "bench.sqlite3")
        labels = {"topic": {"label": "network", "confidence": 0.9}, "product": {"label": "none", "confidence": 0.9}}
        with store.transaction() as c:
            for i, e in enumerate(unit_rows(rng, window, dim)):
                triage_log.write(c, LoggedPost(f"w{i}", T0 + 3000 * i / window, None, f"a{i}", "",
                                               "Een gewone vraag over mijn abonnement", labels, "peers", [], e))
        params = IncidentParams(similarity=0.9, join_similarity=0.88, min_authors=3, window_s=3600, quiet_s=7200)
        start = time.perf_counter()
        service = IncidentService(store, dim, params, b"bench-salt")
        restore_s = time.perf_counter() - start
        head = SimpleNamespace(label="network", confidence=0.9)
        pred = {"topic": head, "product": SimpleNamespace(label="none", confidence=0.9)}
        decide = lambda f: Decision("peers", ["route_model"], "", [])  # noqa: E731 - routing is not measured here
        samples = []
        for i, e in enumerate(unit_rows(rng, min(adds, 500), dim)):
            post = SimpleNamespace(post_id=f"s{i}", created_at=triage_log.iso(T0 + 3000 + i), thread_id=None,
                                   title="", body="Een nieuwe vraag", author=SimpleNamespace(id=f"user-{i}"))
            facts = PostFacts({}, {}, {}, {}, "", "nl")
            start = time.perf_counter()
            service.observe(post, pred, e, facts, decide)
            samples.append(time.perf_counter() - start)
        store.close()
    return {**figures(samples), "restore_s": round(restore_s, 3)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.incidents", description=__doc__)
    ap.add_argument("--window", type=int, default=10_000, help="posts in the window (default 10,000)")
    ap.add_argument("--adds", type=int, default=500, help="timed adds per case")
    ap.add_argument("--dim", type=int, default=384, help="embedding size (the model's: 384)")
    ap.add_argument("--json", help="write the figures to this file")
    args = ap.parse_args(argv)
    load = os.getloadavg()[0]
    result = {"window": args.window, "dim": args.dim, "load_average_1min": round(load, 2),
              "detector": bench_detector(args.window, args.adds, args.dim),
              "detector_default_blas_threads": bench_detector(args.window, args.adds, args.dim, blas_threads=None),
              "service_observe_with_sqlite_commit": bench_service(args.window, args.adds, args.dim)}
    print(f"incident check, {args.window:,} posts in the window, {args.dim}-d embeddings "
          f"(this machine, load average {load:.1f} at start):")
    for key, label in (("detector", "1 BLAS thread (served)"),
                       ("detector_default_blas_threads", "default BLAS threads")):
        for name in ("unrelated_post", "burst_post_joining"):
            f = result[key][name]
            print(f"  detector.add, {label}, {name.replace('_', ' ')}: wall mean {f['mean_ms']:.3f} ms, "
                  f"p50 {f['p50_ms']:.3f} ms, p99 {f['p99_ms']:.3f} ms; CPU mean {f['cpu_mean_ms']:.3f} ms "
                  f"(n={f['n']})")
    s = result["service_observe_with_sqlite_commit"]
    print(f"  IncidentService.observe incl. the SQLite commit (synchronous=FULL): mean {s['mean_ms']:.3f} ms, "
          f"p50 {s['p50_ms']:.3f} ms, p99 {s['p99_ms']:.3f} ms (n={s['n']}); restart rebuild {s['restore_s']} s")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
