"""What-if rows: the same single-post Engine.triage with runtime knobs changed from the benchmark
(no service code is changed): OpenBLAS limited to one thread (threadpoolctl), and/or a second
onnxruntime session with intra-op thread spinning off. They show what would move the figures."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import onnxruntime as ort

from bench.inprocess import single_post
from service.inference import ONNX_FILE
from service.schemas import PostIn
from service.triage import Engine


@contextlib.contextmanager
def blas_threads(n: int | None) -> Iterator[None]:
    if n is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=n, user_api="blas"):
        yield


@contextlib.contextmanager
def session_without_spinning(engine: Engine, intra: int, inter: int, off: bool) -> Iterator[None]:
    if not off:
        yield
        return
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = intra
    opts.inter_op_num_threads = inter
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    original = engine.model.session
    engine.model.session = ort.InferenceSession(
        str(engine.model.directory / ONNX_FILE), opts, providers=["CPUExecutionProvider"]
    )
    try:
        yield
    finally:
        engine.model.session = original


VARIANTS = [
    ("as configured (baseline, measured again)", None, False),
    ("OpenBLAS limited to 1 thread", 1, False),
    ("onnxruntime intra-op spinning off", None, True),
    ("OpenBLAS 1 thread + onnxruntime spinning off", 1, True),
]


def run(engine: Engine, posts: list[PostIn], n: int, intra: int, inter: int) -> list[dict[str, Any]]:
    out = []
    for label, blas, no_spin in VARIANTS:
        with blas_threads(blas), session_without_spinning(engine, intra, inter, no_spin):
            res = single_post(engine, posts, n)
        out.append({"variant": label, "blas_threads": blas, "ort_spinning_off": no_spin, **res})
    return out
