"""The CPU features that decide the runtime's precision (read from /proc/cpuinfo on Linux)."""

from __future__ import annotations

import platform
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8", "amx_tile")


@dataclass(frozen=True)
class CpuFeatures:
    model: str
    flags: tuple[str, ...]  # those of FLAGS this CPU has

    @property
    def bf16(self) -> bool:
        """Native bf16 matrix products (AMX or AVX512-BF16): OpenVINO's bf16 is fast here."""
        return "amx_bf16" in self.flags or "avx512_bf16" in self.flags

    def as_dict(self) -> dict:
        return {**asdict(self), "flags": list(self.flags), "bf16": self.bf16}


def parse_cpuinfo(text: str) -> CpuFeatures:
    flags: set[str] = set()
    model = ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "flags" and not flags:
            flags = set(value.split())
        elif key == "model name" and not model:
            model = value.strip()
    return CpuFeatures(model or platform.processor() or platform.machine(), tuple(f for f in FLAGS if f in flags))


@lru_cache(maxsize=1)
def cpu_features() -> CpuFeatures:
    path = Path("/proc/cpuinfo")
    if path.is_file():
        return parse_cpuinfo(path.read_text(errors="replace"))
    return CpuFeatures(platform.processor() or platform.machine(), ())
