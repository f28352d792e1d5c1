"""Percentiles and small timing helpers."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np


def summary_ms(samples_s: Sequence[float]) -> dict[str, Any]:
    """p50/p95/p99/mean/max in milliseconds for samples given in seconds."""
    a = np.asarray(samples_s, dtype=np.float64) * 1000.0
    if a.size == 0:
        return {"n": 0}
    return {
        "n": int(a.size),
        "p50_ms": _r(np.percentile(a, 50)),
        "p95_ms": _r(np.percentile(a, 95)),
        "p99_ms": _r(np.percentile(a, 99)),
        "mean_ms": _r(a.mean()),
        "max_ms": _r(a.max()),
    }


def _r(x: float) -> float:
    x = float(x)
    return round(x, 3) if x < 10 else round(x, 2)


def time_calls(fn: Callable[[int], Any], n: int, warmup: int = 10) -> list[float]:
    """Call fn(i) for i in range(n) after `warmup` calls; return seconds per call."""
    for i in range(warmup):
        fn(i)
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        fn(i)
        out.append(time.perf_counter() - t0)
    return out


def say(msg: str) -> None:
    print(msg, flush=True)


def write_json(path: Path | None, result: dict[str, Any]) -> None:
    """A script's figures as JSON (when a path was given)."""
    if path is not None:
        path.write_text(json.dumps(result, indent=2) + "\n")
        say(f"wrote {path}")
