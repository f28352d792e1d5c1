"""What a runtime offers the model: named outputs, one call per padded batch."""

from __future__ import annotations

from typing import Protocol

import numpy as np


class RuntimeError_(RuntimeError):  # noqa: N801 - not the builtin; a runtime that cannot load or run
    """A runtime is unavailable here (library missing, file missing, CPU unsupported)."""


class Runtime(Protocol):
    name: str        # "onnxruntime" | "openvino"
    precision: str   # what the matrix products run in: "int8+f32", "bf16", "f32"
    # Pad each batch to a multiple of this many tokens (0 = to the longest post): a runtime that
    # caches work per input shape (OpenVINO) then sees a handful of shapes instead of 128.
    pad_multiple: int

    @property
    def output_names(self) -> list[str]: ...

    def output_width(self, name: str) -> int | None: ...

    def run(self, outputs: list[str], input_ids: np.ndarray, attention_mask: np.ndarray) -> list[np.ndarray]:
        """The named outputs for int64 [batch, tokens] inputs."""
        ...
