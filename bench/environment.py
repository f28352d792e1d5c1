"""What the figures were measured on: CPU, cores, thread settings, library versions."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

from models.artifact import library_versions

LIBRARIES = (
    "onnxruntime",
    "numpy",
    "tokenizers",
    "torch",
    "transformers",
    "fastapi",
    "starlette",
    "uvicorn",
    "pydantic",
    "httpx",
    "pyinstrument",
)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def cpu_flags() -> list[str]:
    """The SIMD flags that matter for onnxruntime's int8 and fp32 kernels."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                wanted = ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8")
                return [f for f in wanted if f in flags]
    except OSError:
        pass
    return []


def cgroup_cpu_limit() -> str | None:
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        return None if quota == "max" else f"{int(quota) / int(period):.2f} CPUs"
    except (OSError, ValueError):
        return None


def versions() -> dict[str, str]:
    return library_versions(LIBRARIES)


def blas_info() -> list[dict[str, Any]]:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    return [{k: p.get(k) for k in ("internal_api", "num_threads", "version")} for p in threadpool_info()]


def other_busy_processes() -> list[str]:
    """Other processes using noticeable CPU right now (e.g. a training run), from /proc."""
    busy = []
    me = os.getpid()
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) == me:
            continue
        try:
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            stat = (d / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if stat[0] == "R" and cmd and "python" in cmd:
            busy.append(cmd[:120])
    return busy


def describe(settings: Any, torch_threads: int | None = None) -> dict[str, Any]:
    return {
        "cpu_model": cpu_model(),
        "cpu_flags": cpu_flags(),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)),
        "cgroup_cpu_limit": cgroup_cpu_limit(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "other_busy_python_processes": other_busy_processes(),
        "onnxruntime_intra_op_threads": settings.intra_threads,
        "onnxruntime_inter_op_threads": settings.inter_threads,
        "torch_threads_reference": torch_threads,
        "blas": blas_info(),
        "versions": versions(),
        "platform": platform.platform(),
    }


def cpu_busy_s() -> float:
    """Busy CPU seconds of the whole machine since boot (all CPUs, from /proc/stat)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        user, nice, system, idle, iowait, irq, softirq, steal = (int(x) for x in fields[:8])
        return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        return 0.0


def own_cpu_s() -> float:
    """CPU seconds of this process and its waited-for children (the servers it started)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class BackgroundLoad:
    """Average CPU cores used by everything else on the machine while the benchmark ran."""

    def __init__(self) -> None:
        import time

        self._t0, self._busy0, self._own0 = time.perf_counter(), cpu_busy_s(), own_cpu_s()

    def cores(self) -> float:
        import time

        wall = time.perf_counter() - self._t0
        other = (cpu_busy_s() - self._busy0) - (own_cpu_s() - self._own0)
        return round(max(0.0, other) / max(wall, 1e-9), 2)
