"""Native libraries whose load order matters in one process.

usearch's extension module, loaded before OpenVINO's libraries, breaks OpenVINO in the same
process: `Core.read_model` then raises a RuntimeError with an empty message, or inference
segfaults (measured with usearch 2.26.6 and openvino 2026.4.1; loaded the other way round both
work). Every usearch import therefore goes through `usearch_index()`, which loads OpenVINO first
where it is installed.
"""

from __future__ import annotations

import contextlib
from typing import Any


def usearch_index() -> Any:
    """usearch.index.Index, imported after OpenVINO (see the module docstring)."""
    with contextlib.suppress(ImportError):
        import openvino  # noqa: F401
    from usearch.index import Index

    return Index
