"""What-if rows: the same single-post Engine.triage with runtime knobs changed by the benchmark
(no service code is changed): OpenBLAS limited to one thread (threadpoolctl), and the model on
onnxruntime's int8 graph instead of the runtime the service picked (when that is another one).
The variants are interleaved post by post, so background load hits them alike."""

from __future__ import annotations

import contextlib
import time
from typing import Any

from bench.stats import summary_ms
from models.runtime.onnxruntime_runtime import OnnxRuntime
from models.runtime.select import ONNX_FILE
from service.schemas import PostIn
from service.triage import Engine

VARIANTS = [
    ("as configured (baseline, interleaved)", None, False),
    ("OpenBLAS limited to 1 thread", 1, False),
    ("onnxruntime int8 instead of the chosen runtime", None, True),
]


def run(engine: Engine, posts: list[PostIn], n: int, intra: int, inter: int) -> list[dict[str, Any]]:
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return []
    controller = ThreadpoolController()
    original = engine.model.runtime
    variants = VARIANTS if original.name != "onnxruntime" else VARIANTS[:2]
    runtimes = {False: original}
    if len(variants) > 2:
        runtimes[True] = OnnxRuntime(engine.model.directory / ONNX_FILE, intra, inter)
    samples: list[list[float]] = [[] for _ in variants]
    try:
        for i in range(n + 10):
            post = posts[i % len(posts)]
            for j in range(len(variants)):
                v = (i + j) % len(variants)  # rotate the order
                _, blas, other = variants[v]
                engine.model.runtime = runtimes[other]
                limit = controller.limit(limits=blas, user_api="blas") if blas else contextlib.nullcontext()
                with limit:
                    t0 = time.perf_counter()
                    engine.triage([post])
                    dt = time.perf_counter() - t0
                if i >= 10:
                    samples[v].append(dt)
    finally:
        engine.model.runtime = original
    return [
        {"variant": label, "blas_threads": blas, "onnxruntime_int8": other, **summary_ms(s)}
        for (label, blas, other), s in zip(variants, samples, strict=True)
    ]
