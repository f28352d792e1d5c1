"""Give freed heap memory back to the operating system after a large, one-off allocation.

Rebuilding the answer index at start holds every answer's row, text and vector at once (100k
answers: ~1.3 GB at the peak). When it is done those objects are freed, but glibc's allocator keeps
the freed pages in its arenas, so the process stays that large. `release_free_memory` runs a
garbage collection and glibc's `malloc_trim(0)`, which returns the free pages; on other C libraries
(musl, macOS) it only collects.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging

log = logging.getLogger("wegwijzer.memory")


def release_free_memory() -> bool:
    """Collect garbage and trim the C heap; whether a trim ran."""
    gc.collect()
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc
        return False
    trim.argtypes = [ctypes.c_size_t]
    trim(0)
    return True
