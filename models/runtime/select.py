"""Which runtime runs the model here: `auto` tries the fastest first and keeps the first that
loads and passes the start-up parity check on this CPU; a named runtime must work or fails."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from models.runtime.base import Runtime, RuntimeError_
from models.runtime.cpu import CpuFeatures, cpu_features
from models.runtime.onnxruntime_runtime import OnnxRuntime
from models.runtime.openvino_runtime import OpenVinoRuntime
from models.runtime.probe import IR_BIN, IR_XML, PROBE_FILE, START_GATE, Probe, compare, passes

RUNTIMES = ("auto", "openvino", "onnxruntime")
ONNX_FILE = "model.onnx"
# The start-up probe runs in batches of this many posts: OpenVINO keeps its activation memory sized for
# the largest batch a compiled model ran (one batch of the probe's 32 posts: +75 MB RSS for good).
START_BATCH = 4
log = logging.getLogger(__name__)


@dataclass
class Selection:
    runtime: Runtime
    cpu: CpuFeatures
    tried: list[dict] = field(default_factory=list)  # every candidate: name, precision, ok, reason, probe

    def describe(self) -> dict:
        return {"name": self.runtime.name, "precision": self.runtime.precision,
                "pad_multiple": self.runtime.pad_multiple, "cpu": self.cpu.as_dict(), "tried": self.tried}


FILES = {"openvino": [IR_XML, IR_BIN], "onnxruntime": [ONNX_FILE]}


def _candidates(directory: Path, preference: str, precision: str, threads: int, inter_threads: int,
                spinning: bool, cpu: CpuFeatures, cache_dir: Path | None):
    ov_precision = precision if precision != "auto" else ("bf16" if cpu.bf16 else "f32")
    if preference in ("auto", "openvino"):
        yield "openvino", ov_precision, lambda: OpenVinoRuntime(directory / IR_XML, ov_precision, threads,
                                                                cache_dir=cache_dir)
    if preference in ("auto", "onnxruntime"):
        yield "onnxruntime", "int8+f32", lambda: OnnxRuntime(directory / ONNX_FILE, threads, inter_threads, spinning)


def select_runtime(directory: Path, heads: list[str], preference: str = "auto", precision: str = "auto",
                   threads: int = 1, inter_threads: int = 1, spinning: bool = False,
                   cpu: CpuFeatures | None = None, export_parity: dict | None = None,
                   cache_dir: Path | None = None, check_files: Callable[[list[str]], None] | None = None
                   ) -> Selection:
    """`export_parity`: the manifest's openvino_export report; a precision that failed the export
    gate on dev is not tried. `check_files(names)` runs before a runtime loads its files (the
    caller's hash check: a corrupted file fails loudly instead of falling back). `cache_dir`:
    OpenVINO's compiled-model cache (a restart compiles in a fraction of the time)."""
    if preference not in RUNTIMES:
        raise RuntimeError_(f"runtime must be one of {RUNTIMES}, got {preference!r}")
    cpu = cpu or cpu_features()
    probe = Probe.load(directory / PROBE_FILE) if (directory / PROBE_FILE).is_file() else None
    tried: list[dict] = []
    candidates = _candidates(directory, preference, precision, threads, inter_threads, spinning, cpu, cache_dir)
    for name, prec, build in candidates:
        entry: dict = {"name": name, "precision": prec}
        gate = (export_parity or {}).get(prec) if name == "openvino" else None
        if gate is not None and not gate.get("passes", True):
            tried.append({**entry, "ok": False, "reason": "failed the export parity gate on dev"})
            continue
        if check_files is not None and all((directory / f).is_file() for f in FILES[name]):
            check_files(FILES[name])
        try:
            runtime = build()
        except RuntimeError_ as exc:
            tried.append({**entry, "ok": False, "reason": str(exc)})
            continue
        if probe is not None:
            entry["probe"] = compare(probe, runtime, heads, START_BATCH)
            if not passes(entry["probe"], START_GATE):
                tried.append({**entry, "ok": False, "reason": "failed the start-up parity check"})
                log.warning("runtime %s (%s) failed the parity check: %s", name, prec, entry["probe"])
                continue
        else:
            entry["reason"] = f"no {PROBE_FILE}: parity not checked at start"
        tried.append({**entry, "ok": True})
        return Selection(runtime, cpu, tried)
    raise RuntimeError_(f"{directory}: no runtime could run the model ({preference}): "
                        + "; ".join(f"{t['name']}: {t['reason']}" for t in tried))
