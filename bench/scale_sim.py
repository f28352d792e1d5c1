"""`python -m bench.scale_sim [--answers 1000000] [--store-answers 100000]`: what a replica costs at a large
knowledge base, simulated where this machine has no such data (figures, not tests).

* In memory: the VectorIndex with N random unit vectors of the served dimension (384, e5-small):
  resident memory added, and the time of what a replica does per change from another replica (one
  upsert, one delete) and per query (one dense top-3 search). BM25 postings are measured on
  `--lexical-answers` shipped passages (repeated) and scaled linearly (they are per term occurrence).
* In PostgreSQL (a throwaway cluster unless --store-url): committing answers through the store with
  the change feed (single writer: answers/s), and loading `--store-answers` rows at replica start
  (rows/s), from which the start-up time at N answers follows; and the incident critical section
  with two replicas alternating (the cluster-wide ceiling on triaged posts/s).
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
from pathlib import Path

import numpy as np
import psutil


def rss_mb() -> float:
    gc.collect()
    return psutil.Process().memory_info().rss / 2**20


def unit(n: int, dim: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.empty((n, dim), np.float32)
    for i in range(0, n, 100_000):  # in chunks: no float64 copy of the whole matrix
        x = rng.standard_normal((min(100_000, n - i), dim), dtype=np.float32)
        out[i:i + len(x)] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def index_figures(n: int, dim: int, lexical_n: int) -> dict[str, float]:
    from models.index import VectorIndex
    from models.lexical import LexicalIndex

    before = rss_mb()
    vecs = unit(n, dim)
    idx = VectorIndex(dim)
    ids = [f"kb-{i:07d}" for i in range(n)]
    meta = [{"product": "apple" if i % 7 else "samsung", "topic": "device"} for i in range(n)]
    start = time.perf_counter()
    idx.rebuild(ids, vecs, meta)
    build_s = time.perf_counter() - start
    del vecs, meta
    after = rss_mb()
    new = unit(1, dim, seed=1)
    upserts, deletes, searches = [], [], []
    for i in range(200):
        t = time.perf_counter()
        idx.upsert([f"new-{i}"], new, [{"product": "apple", "topic": "device"}])
        upserts.append(time.perf_counter() - t)
        t = time.perf_counter()
        idx.delete(f"new-{i}")
        deletes.append(time.perf_counter() - t)
    for _ in range(20):
        t = time.perf_counter()
        idx.search(new, 3)
        searches.append(time.perf_counter() - t)
    del idx, ids
    texts = [json.loads(line)["answer"] for line in Path("training/data/kb.jsonl").read_text().splitlines()]
    base = rss_mb()
    lex = LexicalIndex()
    for i in range(lexical_n):
        lex.set(i, texts[i % len(texts)])
    lex_mb = rss_mb() - base
    return {"answers": n, "dim": dim, "index_build_s": build_s, "index_rss_mb": after - before,
            "index_rss_bytes_per_answer": (after - before) * 2**20 / n,
            "apply_upsert_median_ms": statistics.median(upserts) * 1000,
            "apply_delete_median_ms": statistics.median(deletes) * 1000,
            "dense_search_median_ms": statistics.median(searches) * 1000,
            "lexical_answers": lexical_n, "lexical_rss_mb": lex_mb,
            "lexical_rss_mb_scaled_to_answers": lex_mb * n / lexical_n}


def store_figures(url: str, n: int, dim: int, writes: int) -> dict[str, float]:
    from service.store import Store

    store = Store(url)
    vecs = unit(n, dim, seed=2)
    answers = [{"id": f"kb-{i:07d}", "title": f"Antwoord {i}", "answer": "Herstart het modem en wacht twee minuten.",
                "product": "modem_tv", "topic": "home_internet"} for i in range(n)]
    start = time.perf_counter()
    for i in range(writes):  # one answer per transaction, as PUT /v1/answers does
        store.upsert_answers([answers[i]], vecs[i:i + 1], "sha")
    single_s = time.perf_counter() - start
    start = time.perf_counter()
    for i in range(writes, n, 1000):
        store.upsert_answers(answers[i:i + 1000], vecs[i:i + 1000], "sha")
    bulk_s = time.perf_counter() - start
    start = time.perf_counter()
    rows, matrix, _ = store.all_answers()
    load_s = time.perf_counter() - start
    assert len(rows) == n and matrix.shape == (n, dim)
    store.close()
    return {"store_answers": n, "single_writes_per_s": writes / single_s,
            "bulk_answers_per_s": (n - writes) / bulk_s, "load_rows_per_s": n / load_s, "load_s": load_s}


def incident_figures(url: str, dim: int, posts: int) -> dict[str, float]:
    """Two IncidentServices (two replicas) on one database, posts alternating between them: each post pays
    the advisory lock, the catch-up with the other's last post, detection and the commit. The inverse of
    the mean is the cluster-wide ceiling on triaged posts/s while detection is one critical section."""
    from types import SimpleNamespace

    from service import triage_log
    from service.incident_detector import IncidentParams
    from service.incidents import IncidentService
    from service.policy import Decision, PostFacts
    from service.store import Store

    stores = [Store(url), Store(url)]
    params = IncidentParams(similarity=0.9, join_similarity=0.88, min_authors=3, window_s=3600, quiet_s=7200)
    replicas = [IncidentService(s, dim, params, b"bench-salt") for s in stores]
    head = SimpleNamespace(label="network", confidence=0.9)
    pred = {"topic": head, "product": SimpleNamespace(label="none", confidence=0.9)}
    vecs = unit(posts, dim, seed=3)
    t0 = time.time() - 3600
    samples = []
    for i, e in enumerate(vecs):
        post = SimpleNamespace(post_id=f"s{i}", created_at=triage_log.iso(t0 + i), thread_id=None, title="",
                               body="Een nieuwe vraag", author=SimpleNamespace(id=f"user-{i}"))
        start = time.perf_counter()
        replicas[i % 2].observe(post, pred, e, PostFacts({}, {}, {}, {}, "", "nl"),
                                lambda f: Decision("peers", ["route_model"], "", []))
        samples.append(time.perf_counter() - start)
    for s in stores:
        s.close()
    return {"incident_section_posts": posts, "incident_section_mean_ms": statistics.mean(samples) * 1000,
            "incident_section_posts_per_s_ceiling": 1 / statistics.mean(samples)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.scale_sim", description=__doc__.split("\n\n")[0])
    ap.add_argument("--answers", type=int, default=1_000_000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--lexical-answers", type=int, default=100_000)
    ap.add_argument("--store-answers", type=int, default=100_000)
    ap.add_argument("--store-writes", type=int, default=500, help="single-answer transactions timed")
    ap.add_argument("--store-url", default=None)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    figures: dict[str, float] = index_figures(args.answers, args.dim, args.lexical_answers)
    cluster, url = None, args.store_url
    if url is None:
        from tests.pg import Cluster, why_unavailable

        if why_unavailable() is None:
            cluster = Cluster().start()
            url = cluster.url(cluster.create_database())
    try:
        if url is not None:
            figures.update(incident_figures(url, args.dim, 300))
            figures.update(store_figures(url, args.store_answers, args.dim, args.store_writes))
            figures["replica_start_load_s_at_answers"] = args.answers / figures["load_rows_per_s"]
    finally:
        if cluster is not None:
            cluster.stop()
    for k, v in figures.items():
        print(f"{k}: {v:.3f}" if isinstance(v, float) else f"{k}: {v}")
    if args.json:
        args.json.write_text(json.dumps({k: round(v, 3) for k, v in figures.items()}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
