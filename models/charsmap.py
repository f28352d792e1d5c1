"""Build a SentencePiece `precompiled_charsmap` from a per-codepoint map.

The `tokenizers` library's `Precompiled` normaliser reads SentencePiece's
binary format: a little-endian u32 with the byte size of a darts-clone
double-array trie, the trie's units, then the replacement strings, each
terminated by a NUL byte. Trie keys are UTF-8 byte strings; values are byte
offsets of the replacement in that blob.
"""

from __future__ import annotations

import struct

import dartsclone


def build_precompiled_charsmap(norm_map: dict[int, str]) -> bytes:
    """Encode `norm_map` (codepoint -> replacement text) as a precompiled charsmap."""
    blob = bytearray()
    offsets: dict[str, int] = {}
    keys: list[bytes] = []
    values: list[int] = []
    for key, cp in sorted((chr(cp).encode("utf-8"), cp) for cp in norm_map):
        replacement = norm_map[cp]
        if replacement not in offsets:
            offsets[replacement] = len(blob)
            blob += replacement.encode("utf-8") + b"\0"
        keys.append(key)
        values.append(offsets[replacement])
    trie = dartsclone.DoubleArray()
    trie.build(keys, values=values)
    units = bytes(trie.array())
    return struct.pack("<I", len(units)) + units + bytes(blob)
