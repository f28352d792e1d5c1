"""The language detector's tables, cut to the served languages, kept as plain `.npy` files.

py3langid ships its model as an LZMA-compressed npz. Building the detector from it (decompress,
then cut the naive-Bayes table to the served languages) takes about 0.6 s CPU at every start and
holds ~50 MB of anonymous memory (measured), 39 MB of it the byte-level DFA's transition table. Here the
restricted tables are written once to a cache folder as uncompressed `.npy` files; later starts map
them read-only, so the start pays a few milliseconds, and the pages a post touches are clean page
cache the kernel can drop and replicas on one host share.

The DFA walk reads the transition table one entry at a time, so the mapped arrays are handed to
py3langid as memoryviews (indexing one gives a Python int, as py3langid's own `array` does); the
naive-Bayes table stays a numpy array. Scores are the same as the identifier built in memory
(tests/test_langid.py).

A folder is named `langid-<16 hex digits>` from the sha256 of py3langid's model file, the served
languages and FORMAT, so a new py3langid release or another language list never reads old tables.
It is written under a temporary name and renamed, so a crash or a replica starting beside it never
leaves a half-written folder in use. Each use marks the folder; other `langid-*` folders unused for
7 days are removed (models/runtime/cache.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from models.runtime.cache import mark_used_and_prune

if TYPE_CHECKING:
    from py3langid.langid import LanguageIdentifier

FORMAT = 1
_SHAPE = re.compile(r"^langid-[0-9a-f]{16}$")
_ARRAYS = ("nextmove", "row", "output", "ptc", "pc")


def model_file() -> Path:
    from py3langid.langid import MODEL_DIR, MODEL_FILE

    return Path(MODEL_DIR) / MODEL_FILE


def cache_key(languages: Sequence[str]) -> str:
    digest = hashlib.sha256(model_file().read_bytes())
    digest.update(json.dumps([FORMAT, list(languages)]).encode("utf-8"))
    return digest.hexdigest()[:16]


def build(languages: Sequence[str]) -> LanguageIdentifier:
    """The identifier over `languages`, built from py3langid's packaged model: its tables cut to
    those languages' columns (what `set_languages` computes), without the full table beside them."""
    from py3langid.langid import LanguageIdentifier

    full = LanguageIdentifier.from_model_file(str(model_file()), norm_probs=True)
    keep = [i for i, c in enumerate(full.nb_classes) if c in languages]
    return LanguageIdentifier(np.ascontiguousarray(full.nb_ptc[:, keep]), full.nb_pc[keep],
                              [full.nb_classes[i] for i in keep], full.tk_nextmove, full.tk_output,
                              norm_probs=True, tk_row=full.tk_row)


def save(identifier: LanguageIdentifier, folder: Path) -> Path:
    """Write the identifier's tables to `folder` (atomically: written beside it, then renamed).
    When another process has written it meanwhile, theirs is kept."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        arrays = {
            "nextmove": np.frombuffer(identifier.tk_nextmove, dtype=np.dtype(identifier.tk_nextmove.typecode)),
            "row": np.frombuffer(identifier.tk_row, dtype=np.dtype(identifier.tk_row.typecode)),
            "output": np.asarray(identifier.tk_output, dtype=np.int32),
            "ptc": np.ascontiguousarray(identifier.nb_ptc),
            "pc": np.asarray(identifier.nb_pc, dtype=np.float32),
        }
        for name, arr in arrays.items():
            with open(tmp / f"{name}.npy", "wb") as f:
                np.save(f, arr, allow_pickle=False)
                f.flush()
                os.fsync(f.fileno())
        (tmp / "classes.json").write_text(json.dumps(list(identifier.nb_classes)), encoding="utf-8")
        try:
            os.rename(tmp, folder)
        except OSError:  # another process renamed its copy first: keep theirs
            if not (folder / "classes.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def load(folder: Path) -> LanguageIdentifier:
    """The identifier over the tables in `folder`, mapped read-only."""
    from py3langid.langid import LanguageIdentifier

    folder = Path(folder)
    arrays = {name: np.load(folder / f"{name}.npy", mmap_mode="r", allow_pickle=False) for name in _ARRAYS}
    classes = json.loads((folder / "classes.json").read_text(encoding="utf-8"))
    if arrays["ptc"].ndim != 2 or arrays["ptc"].shape[1] != len(classes) or arrays["pc"].shape != (len(classes),) \
            or len(arrays["row"]) != len(arrays["output"]):
        raise ValueError(f"{folder}: language tables do not fit together")
    # memoryviews, not numpy arrays: indexing them gives Python ints, as py3langid's own arrays do
    # (numpy uint16 scalars would overflow in its `row << 8`)
    return LanguageIdentifier(arrays["ptc"], np.array(arrays["pc"]), classes, memoryview(arrays["nextmove"]),
                              memoryview(arrays["output"]), norm_probs=True, tk_row=memoryview(arrays["row"]))


def cached(languages: Sequence[str], root: Path) -> LanguageIdentifier:
    """The identifier over `languages` from the tables under `root`, written there first when absent
    (or unreadable: then rebuilt and written again)."""
    folder = Path(root) / f"langid-{cache_key(languages)}"
    if (folder / "classes.json").is_file():
        try:
            identifier = load(folder)
            _prune(folder)
            return identifier
        except Exception:  # noqa: BLE001 - any damage (truncated, EOF, bad header) means: write them again
            shutil.rmtree(folder, ignore_errors=True)
    identifier = build(languages)
    try:
        save(identifier, folder)
    except OSError:
        return identifier  # a read-only cache root: serve from memory, as without a cache
    _prune(folder)
    return load(folder)


def _prune(folder: Path) -> None:
    """Mark the folder in use; remove other `langid-*` folders (an older py3langid, another language
    list) unused for KEEP_DAYS, as the compiled-model cache does with other models' folders."""
    try:
        mark_used_and_prune(folder, _SHAPE)
    except OSError:
        pass  # a read-only cache: nothing to mark
