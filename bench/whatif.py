"""What-if rows: the same single-post Engine.triage with runtime knobs changed by the benchmark
(no service code is changed): OpenBLAS limited to one thread (threadpoolctl), and/or a second
onnxruntime session with intra-op thread spinning on (the service turns it off by default).
The variants are interleaved post by post, so background load hits them alike."""

from __future__ import annotations

import contextlib
import time
from typing import Any

import onnxruntime as ort

from bench.stats import summary_ms
from service.inference import ONNX_FILE
from service.schemas import PostIn
from service.triage import Engine

VARIANTS = [
    ("as configured (baseline, interleaved)", None, False),
    ("OpenBLAS limited to 1 thread", 1, False),
    ("onnxruntime spinning ON (the old default)", None, True),
    ("OpenBLAS 1 thread + onnxruntime spinning ON", 1, True),
]


def _session_with_spinning(engine: Engine, intra: int, inter: int) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = intra
    opts.inter_op_num_threads = inter
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.add_session_config_entry("session.intra_op.allow_spinning", "1")
    return ort.InferenceSession(str(engine.model.directory / ONNX_FILE), opts, providers=["CPUExecutionProvider"])


def run(engine: Engine, posts: list[PostIn], n: int, intra: int, inter: int) -> list[dict[str, Any]]:
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return []
    controller = ThreadpoolController()
    original = engine.model.session
    sessions = {False: original, True: _session_with_spinning(engine, intra, inter)}
    samples: list[list[float]] = [[] for _ in VARIANTS]
    try:
        for i in range(n + 10):
            post = posts[i % len(posts)]
            for j in range(len(VARIANTS)):
                v = (i + j) % len(VARIANTS)  # rotate the order
                _, blas, spin = VARIANTS[v]
                engine.model.session = sessions[spin]
                limit = controller.limit(limits=blas, user_api="blas") if blas else contextlib.nullcontext()
                with limit:
                    t0 = time.perf_counter()
                    engine.triage([post])
                    dt = time.perf_counter() - t0
                if i >= 10:
                    samples[v].append(dt)
    finally:
        engine.model.session = original
    return [
        {"variant": label, "blas_threads": blas, "ort_spinning_on": spin, **summary_ms(s)}
        for (label, blas, spin), s in zip(VARIANTS, samples, strict=True)
    ]
