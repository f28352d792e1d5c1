"""onnxruntime on model.onnx (dynamic int8 where the export's parity gate allowed it)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from models.runtime.base import RuntimeError_


class OnnxRuntime:
    name = "onnxruntime"

    def __init__(self, path: Path, threads: int = 1, inter_threads: int = 1, spinning: bool = False,
                 precision: str = "int8+f32") -> None:
        import onnxruntime as ort

        if not path.is_file():
            raise RuntimeError_(f"{path} does not exist")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = inter_threads
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
        opts.add_session_config_entry("session.inter_op.allow_spinning", "1" if spinning else "0")
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.precision = precision
        self.pad_multiple = 0  # onnxruntime gains nothing from fewer shapes; padding would only cost
        self._outputs = {o.name: o for o in self.session.get_outputs()}

    @property
    def output_names(self) -> list[str]:
        return list(self._outputs)

    def output_width(self, name: str) -> int | None:
        width = self._outputs[name].shape[-1]
        return width if isinstance(width, int) else None

    def run(self, outputs: list[str], input_ids: np.ndarray, attention_mask: np.ndarray) -> list[np.ndarray]:
        return self.session.run(outputs, {"input_ids": input_ids, "attention_mask": attention_mask})
