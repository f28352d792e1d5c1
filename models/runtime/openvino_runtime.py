"""OpenVINO on the IR (openvino/model.xml): bf16 on CPUs with AMX or AVX512-BF16, else fp32.

One compiled model per output set: the full graph, compiled from the IR's path (with a cache
folder, a restart then maps the compiled blob without reading the IR: the model step of start-up
2.2 -> 1.6 s on the default model, same RSS), and on first use a graph with only the
embedding output (passages need no heads, so OpenVINO drops the head branch; the IR is read for
it then and let go once it is compiled). Infer requests come from a small pool (one request must
not run twice at once, and each holds its own buffers, so one per server thread would cost memory
for nothing: with one stream the runs queue anyway).
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
        self._xml = xml
        self._config = {"INFERENCE_PRECISION_HINT": precision, "PERFORMANCE_HINT": "LATENCY",
                        "NUM_STREAMS": "1"}
        if threads:
            self._config["INFERENCE_NUM_THREADS"] = str(threads)
        self._lock = threading.Lock()
        self._pool_size = max(1, requests)
        self._pools: dict[tuple[str, ...], tuple[object, queue.LifoQueue, list[int]]] = {}
        full = self._core.compile_model(str(xml), "CPU", self._config)
        self._names = [o.get_any_name() for o in full.outputs]
        self._widths = {o.get_any_name(): o.get_partial_shape()[-1] for o in full.outputs}
        self._compiled: dict[tuple[str, ...], object] = {tuple(self._names): full}

    def _compile(self, outputs: tuple[str, ...]):
        import openvino as ov

        with self._lock:
            compiled = self._compiled.get(outputs)
            if compiled is None:  # a subset of the outputs: built from the IR, read for this and let go
                model = self._core.read_model(str(self._xml))
                subset = ov.Model([model.output(n) for n in outputs], model.get_parameters(), "subset")
                compiled = self._core.compile_model(subset, "CPU", self._config)
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
