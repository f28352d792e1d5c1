"""Latency per post of `TriageModel.predict`, one post per call and in batches.
Reported as figures only; they depend on the machine and its load."""

from __future__ import annotations

import time

import numpy as np

from models.inference import TriageModel


def single_post_ms(model: TriageModel, texts: list[str]) -> np.ndarray:
    times = []
    for t in texts:
        t0 = time.perf_counter()
        model.predict([t])
        times.append((time.perf_counter() - t0) * 1000)
    return np.array(times)


def batched_ms_per_post(model: TriageModel, texts: list[str], batch_size: int) -> float:
    t0 = time.perf_counter()
    for i in range(0, len(texts), batch_size):
        model.predict(texts[i:i + batch_size])
    return (time.perf_counter() - t0) * 1000 / max(len(texts), 1)


def measure_latency(model: TriageModel, texts: list[str], max_posts: int = 200,
                    batch_size: int = 32) -> dict[str, float | int]:
    """Milliseconds per post, after one warm-up call, on at most `max_posts` posts."""
    sample = texts[:max_posts]
    if not sample:
        return {}
    model.predict(sample[:1])
    single = single_post_ms(model, sample)
    return {
        "posts": len(sample),
        "single_mean_ms": round(float(single.mean()), 2),
        "single_p50_ms": round(float(np.percentile(single, 50)), 2),
        "single_p95_ms": round(float(np.percentile(single, 95)), 2),
        "batch_size": batch_size,
        "batched_ms_per_post": round(batched_ms_per_post(model, sample, batch_size), 2),
    }
