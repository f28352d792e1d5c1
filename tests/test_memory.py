"""Freed heap memory goes back to the operating system after the index rebuild (service/memory.py)."""

from __future__ import annotations

import platform
from pathlib import Path

from service.memory import release_free_memory


def anon_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1])
    raise AssertionError("no RssAnon in /proc/self/status")


def test_release_free_memory_trims_the_heap_on_glibc() -> None:
    trimmed = release_free_memory()
    assert trimmed is (platform.libc_ver()[0] == "glibc")
    if not trimmed:
        return
    keep = []
    blocks = []
    for i in range(60_000):  # 1 KB blocks come from malloc's heap; every 50th stays, so the heap cannot shrink
        (keep if i % 50 == 0 else blocks).append(bytearray(1024))
    before = anon_kb()
    del blocks
    release_free_memory()
    assert before - anon_kb() > 20_000  # ~57 MB were freed; most of it is handed back
    assert len(keep) == 1200
