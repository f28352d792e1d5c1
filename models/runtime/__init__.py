"""Runtimes that execute the exported triage graph: onnxruntime (model.onnx, int8) and
OpenVINO (openvino/model.xml, bf16 where the CPU has AMX or AVX512-BF16, fp32 elsewhere).

`select_runtime` picks one at start (`auto`: the fastest available that passes the parity
probe on this CPU), and says why. Nothing here imports torch.
"""

from models.runtime.base import Runtime, RuntimeError_
from models.runtime.cpu import CpuFeatures, cpu_features
from models.runtime.probe import IR_DIR, IR_XML, PROBE_FILE, Probe, compare, passes
from models.runtime.select import RUNTIMES, Selection, select_runtime

__all__ = ["IR_DIR", "IR_XML", "PROBE_FILE", "RUNTIMES", "CpuFeatures", "Probe", "Runtime", "RuntimeError_",
           "Selection", "compare", "cpu_features", "passes", "select_runtime"]
