"""OpenVINO on the IR (openvino/model.xml): bf16 on CPUs with AMX or AVX512-BF16, else fp32.

One compiled model per output set: the full graph, and on first use a graph with only the
embedding output (passages need no heads, so OpenVINO drops the head branch). Infer requests
come from a small pool (one request must not run twice at once, and each holds its own buffers,
so one per server thread would cost memory for nothing: with one stream the runs queue anyway).
"""

from __future__ import annotations

import queue
import threading
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from models.runtime.base import RuntimeError_

PRECISIONS = ("bf16", "f32")


class OpenVinoRuntime:
    name = "openvino"

    def __init__(self, xml: Path, precision: str = "f32", threads: int = 1, pad_multiple: int = 32,
                 cache_dir: Path | None = None, requests: int = 2) -> None:
        try:
            import openvino as ov
        except ImportError as exc:
            raise RuntimeError_(f"openvino is not installed ({exc})") from exc
        if precision not in PRECISIONS:
            raise RuntimeError_(f"precision must be one of {PRECISIONS}, got {precision!r}")
        if not xml.is_file():
            raise RuntimeError_(f"{xml} does not exist (export it: python -m training export-openvino)")
        self.precision = precision
        self.pad_multiple = pad_multiple
        self._core = ov.Core()
        if cache_dir is not None:
            self._core.set_property({"CACHE_DIR": str(cache_dir)})
        self._model = self._core.read_model(str(xml))
        self._config = {"INFERENCE_PRECISION_HINT": precision, "PERFORMANCE_HINT": "LATENCY",
                        "NUM_STREAMS": "1"}
        if threads:
            self._config["INFERENCE_NUM_THREADS"] = str(threads)
        self._compiled: dict[tuple[str, ...], object] = {}
        self._names = [o.get_any_name() for o in self._model.outputs]
        self._widths = {o.get_any_name(): o.get_partial_shape()[-1] for o in self._model.outputs}
        self._lock = threading.Lock()
        self._pool_size = max(1, requests)
        self._pools: dict[tuple[str, ...], tuple[object, queue.LifoQueue, list[int]]] = {}
        self._compile(tuple(self._names))

    def _compile(self, outputs: tuple[str, ...]):
        import openvino as ov

        with self._lock:
            compiled = self._compiled.get(outputs)
            if compiled is None:
                model = self._model
                if set(outputs) != set(self._names):
                    model = ov.Model([self._model.output(n) for n in outputs], self._model.get_parameters(),
                                     "subset")
                compiled = self._core.compile_model(model, "CPU", self._config)
                self._compiled[outputs] = compiled
            return compiled

    @property
    def output_names(self) -> list[str]:
        return list(self._names)

    def output_width(self, name: str) -> int | None:
        dim = self._widths[name]
        return dim.get_length() if dim.is_static else None

    @contextmanager
    def _request(self, key: tuple[str, ...]):
        compiled = self._compile(key)
        with self._lock:
            pool = self._pools.setdefault(key, (compiled, queue.LifoQueue(), [0]))
            _, free, made = pool
            if free.empty() and made[0] < self._pool_size:
                made[0] += 1
                free.put(compiled.create_infer_request())
        request = free.get()  # waits while every request of the pool is running
        try:
            yield compiled, request
        finally:
            free.put(request)

    def run(self, outputs: list[str], input_ids: np.ndarray, attention_mask: np.ndarray) -> list[np.ndarray]:
        key = ("embedding",) if list(outputs) == ["embedding"] else tuple(self._names)
        with self._request(key) as (compiled, request):
            request.infer({"input_ids": input_ids, "attention_mask": attention_mask})
            return [np.array(request.get_tensor(compiled.output(n)).data, copy=True) for n in outputs]
