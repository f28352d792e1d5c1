"""Does an approximate index (usearch HNSW) pay at the benchmark's knowledge-base sizes?

`python -m bench.ann [--model DIR] [--sizes 10000 100000]` embeds the test posts and the shipped
answers with the model, builds the same synthetic knowledge bases as `make bench`, and prints,
per size: exact search latency (one matrix product + top-k), the HNSW build time and memory,
its latency, and its quality against exact search: the share of queries whose top-1 is the
exact top-1 or a copy of the same shipped answer, and the mean cosine lost at top-1.
Writes bench/ann_results.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench import workload
from bench.stats import summary_ms
from service.inference import TriageModel, passage_text


def exact_top(queries: np.ndarray, matrix: np.ndarray, k: int) -> tuple[list[np.ndarray], list[float]]:
    tops, times = [], []
    for q in queries:
        t0 = time.perf_counter()
        s = matrix @ q
        top = np.argpartition(-s, k - 1)[:k]
        tops.append(top[np.argsort(-s[top])])
        times.append(time.perf_counter() - t0)
    return tops, times


def probe(queries: np.ndarray, matrix: np.ndarray, source: np.ndarray, dtype: str, ef: int, k: int = 3
          ) -> dict[str, Any]:
    from usearch.index import Index

    exact, exact_t = exact_top(queries, matrix, k)
    index = Index(ndim=matrix.shape[1], metric="ip", dtype=dtype, connectivity=16, expansion_add=128,
                  expansion_search=ef)
    t0 = time.perf_counter()
    index.add(np.arange(len(matrix)), matrix, threads=2)
    build_s = time.perf_counter() - t0
    times, same, lost = [], 0, []
    for q, e in zip(queries, exact, strict=True):
        t0 = time.perf_counter()
        got = index.search(q, k, threads=1).keys
        times.append(time.perf_counter() - t0)
        same += int(source[int(got[0])] == source[int(e[0])])
        lost.append(float(matrix[e[0]] @ q - matrix[int(got[0])] @ q))
    return {"dtype": dtype, "expansion_search": ef, "build_s": round(build_s, 1),
            "memory_mb": round(index.memory_usage / 2**20, 1), "exact": summary_ms(exact_t),
            "hnsw": summary_ms(times), "top1_same_answer": round(same / len(queries), 4),
            "mean_cosine_lost_at_top1": round(float(np.mean(lost)), 4)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.ann", description=__doc__)
    ap.add_argument("--model", type=Path, default=Path("models/default"))
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--out", type=Path, default=Path("bench/ann_results.json"))
    args = ap.parse_args(argv)
    model = TriageModel(args.model)
    from training.data_io import load_answers

    shipped = load_answers(workload.KB)
    base = model.embed_passages([passage_text(a) for a in shipped])
    posts = workload.load_posts()
    _, queries = model.run([p["body"] for p in posts])
    rng = np.random.default_rng(workload.SEED)
    results = []
    for size in args.sizes:
        src = np.concatenate([np.arange(len(base)), rng.integers(0, len(base), size=max(0, size - len(base)))])
        noise = rng.normal(0.0, workload.NOISE_NORM / np.sqrt(base.shape[1]), size=(len(src), base.shape[1]))
        noise[:len(base)] = 0
        matrix = (base[src] + noise).astype(np.float32)
        matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
        for dtype, ef in (("f32", 64), ("i8", 64), ("i8", 256)):
            row = {"answers": size, **probe(queries.astype(np.float32), matrix, src, dtype, ef)}
            results.append(row)
            print(json.dumps(row), flush=True)
    args.out.write_text(json.dumps({"queries": len(queries), "results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
