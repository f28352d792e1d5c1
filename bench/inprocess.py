"""In-process figures: Engine.triage on one post and on batches, and the vector search alone."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.stats import summary_ms, time_calls
from service.app import build_engine
from service.schemas import PostIn
from service.settings import Settings
from service.triage import Engine


def settings_for(model_dir: Path, store_path: Path) -> Settings:
    # Settings() (not model_validate) so WEGWIJZER_* variables such as the thread counts still apply.
    return Settings(model_dir=model_dir, store_path=store_path, seed_kb=None, auth_enabled=False)


def make_engine(model_dir: Path, store_path: Path) -> tuple[Engine, float]:
    t0 = time.perf_counter()
    engine = build_engine(settings_for(model_dir, store_path))
    return engine, time.perf_counter() - t0


def single_post(engine: Engine, posts: list[PostIn], n: int) -> dict[str, Any]:
    """Engine.triage([post]): tags + route + top-k suggestions, one post per call, cycling the posts."""
    samples = time_calls(lambda i: engine.triage([posts[i % len(posts)]]), n, warmup=20)
    out = summary_ms(samples)
    out["posts_per_s_sequential"] = round(n / sum(samples), 1)
    return out


def batch_throughput(engine: Engine, posts: list[PostIn], batch_size: int, total: int) -> dict[str, Any]:
    """Engine.triage on lists of `batch_size` posts; posts/s over `total` posts after one warm-up batch."""
    batches = [[posts[(i + j) % len(posts)] for j in range(batch_size)] for i in range(0, total, batch_size)]
    engine.triage(batches[0])
    times = []
    t0 = time.perf_counter()
    for b in batches:
        s = time.perf_counter()
        engine.triage(b)
        times.append(time.perf_counter() - s)
    wall = time.perf_counter() - t0
    n = sum(len(b) for b in batches)
    return {
        "batch_size": batch_size,
        "posts": n,
        "posts_per_s": round(n / wall, 1),
        "ms_per_post": round(wall * 1000 / n, 3),
        "batch": summary_ms(times),
    }


def search_alone(engine: Engine, queries: np.ndarray, k: int, reps: int,
                 query_texts: list[str] | None = None) -> dict[str, Any]:
    """One query at a time: VectorIndex.search (what the service calls) and the bare matrix
    product + top-k over the same normalised float32 matrix."""
    index = engine.index
    matrix = index._matrix[:len(index._ids)]  # noqa: SLF001 - the benchmark looks inside on purpose
    qs = [np.ascontiguousarray(queries[i % len(queries)][None, :], dtype=np.float32) for i in range(reps)]
    svc = time_calls(lambda i: index.search(qs[i], k), reps, warmup=20)
    texts = [q for q in (query_texts or [])]
    hybrid = (time_calls(lambda i: index.search(qs[i], k, texts=[texts[i % len(texts)]]), reps, warmup=20)
              if texts and index.lexical_weight else None)
    mat = time_calls(lambda i: qs[i] @ matrix.T, reps, warmup=20)

    def topk(i: int) -> np.ndarray:
        s = (qs[i] @ matrix.T)[0]
        top = np.argpartition(-s, k - 1)[:k]
        return top[np.argsort(-s[top])]

    full = time_calls(topk, reps, warmup=20)
    return {
        "answers": len(index),
        "dim": int(matrix.shape[1]),
        "matrix_mb": round(matrix.nbytes / 2**20, 1),
        "vectorindex_approximate": index.approximate,
        "vectorindex_search": summary_ms(svc),
        "vectorindex_search_hybrid": summary_ms(hybrid) if hybrid else None,
        "lexical_weight": index.lexical_weight,
        "lexical_candidates": index.lexical_candidates,
        "matmul_only": summary_ms(mat),
        "matmul_topk": summary_ms(full),
    }


def core_single_post(engine: Engine, posts: list[PostIn], n: int) -> dict[str, Any]:
    """TriageModel.predict + VectorIndex.search on one post: the same scope as the PyTorch
    reference (no SQLite lookups, routing policy, language detection or response objects)."""
    texts = [engine.text_of(p.title, p.body) for p in posts]
    k = engine.max_suggestions

    def call(i: int) -> None:
        text = texts[i % len(texts)]
        _, emb = engine.model.predict([text])
        engine.index.search(emb, k, texts=[text])

    return summary_ms(time_calls(call, n, warmup=20))
