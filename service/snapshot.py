"""Index snapshots: a restart loads the answer index from disk instead of rebuilding it.

The store stays the source of truth; a snapshot is a cache of the in-memory index (ids, filter
fields, vectors, the HNSW graph when there is one, the BM25 postings) plus the model hash and the
store's change watermark it reflects. At start the service loads it and applies only the store's
changes after that watermark (service/index_loading.py); a missing, unreadable or foreign snapshot (another
model, another index configuration, a store with fewer changes than it claims) means a rebuild.

Layout in the snapshot folder: `snapshot.json` (written last, by rename: the commit point) names
the data files of its generation (`<token>.npz` for the small arrays, `<token>-<name>.npy` for the
large ones, `<token>.usearch`); a save writes new files, then
renames the JSON over the old one, then removes files no snapshot names. A file lock serialises
savers (replicas on one host may share the folder); a reader that loses a race finds a named file
missing and rebuilds.

Loading maps the large arrays (the float32 vectors, the BM25 postings) copy-on-write and the HNSW graph
read-only instead of reading them into memory (models/index.py makes the graph writable at its first
write; a write to a mapped array copies only the pages it changes). Measured at 100k answers
(bench/server_memory.py): the load takes 0.06 s instead of 0.44 s and the index's private memory at
start 43 MB instead of 318 MB. Mapped pages count in RSS once a search touches them, and on Linux 6.18
a touch maps the page cache's whole large folio: after the first post almost every mapped page is
resident again (RSS about as before), but as clean page cache, which the kernel can drop under
pressure and replicas on one host share, not as private memory.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from models.index import FILTER_FIELDS, VectorIndex
from models.native import usearch_index

log = logging.getLogger("wegwijzer.snapshot")

FORMAT = 2
# arrays kept as their own .npy files and memory-mapped at load (`np.load` maps no member of an .npz)
MAPPED = ("matrix", "lex_terms", "lex_counts")
META = "snapshot.json"


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    with open(folder / ".lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _fsync_save(path: Path, write: Any) -> None:
    with open(path, "wb") as fh:
        write(fh)
        fh.flush()
        os.fsync(fh.fileno())


def _fsync_write(path: Path, data: bytes | bytearray) -> None:
    _fsync_save(path, lambda fh: fh.write(data))


STORE_ID_KEY = "index_store_id"


def store_identity(store: Any) -> str:
    """A random id kept in the store (triage_meta), so a snapshot is never applied to another database."""
    rows = store.query("SELECT value FROM triage_meta WHERE key=?", (STORE_ID_KEY,))
    if not rows:
        with store.transaction() as c:
            c.execute("INSERT INTO triage_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                      (STORE_ID_KEY, secrets.token_hex(16)))
        rows = store.query("SELECT value FROM triage_meta WHERE key=?", (STORE_ID_KEY,))
    return str(rows[0][0])


def save(index: VectorIndex, folder: Path, watermark: int, model_sha: str, store_id: str = "",
         exclusive: bool = False) -> dict[str, Any]:
    """Write a snapshot of `index` reflecting every store change up to `watermark`. `exclusive`: nothing
    else writes to the index meanwhile (start-up), so its arrays are written without a copy first."""
    t0 = time.perf_counter()
    state = index.state(copy=not exclusive)
    folder.mkdir(parents=True, exist_ok=True)
    token = f"{int(time.time())}-{secrets.token_hex(4)}"
    arrays: dict[str, np.ndarray] = {"matrix": state["matrix"]}
    for f in FILTER_FIELDS:
        arrays[f"codes_{f}"] = state["codes"][f]
    if state["lexical"] is not None:
        arrays.update({f"lex_{k}": v for k, v in state["lexical"].items()})
    arrays["ids"] = np.frombuffer(json.dumps(state["ids"]).encode("utf-8"), dtype=np.uint8)
    meta: dict[str, Any] = {
        "format": FORMAT, "model_sha": model_sha, "store_id": store_id, "watermark": int(watermark),
        "dim": state["dim"],
        "lexical_weight": state["lexical_weight"], "lexical_candidates": state["lexical_candidates"],
        "answers": sum(a is not None for a in state["ids"]), "slots": len(state["ids"]),
        "values": state["values"], "data": f"{token}.npz",
        "mapped": {k: f"{token}-{k}.npy" for k in MAPPED if k in arrays},
        "graph": f"{token}.usearch" if state["graph"] is not None else None, "saved_at": time.time(),
    }
    with _locked(folder):
        small = {k: v for k, v in arrays.items() if k not in meta["mapped"]}
        for name, file in meta["mapped"].items():
            _fsync_save(folder / file, lambda fh, name=name: np.save(fh, arrays[name]))
        _fsync_save(folder / meta["data"], lambda fh: np.savez(fh, **small))  # uncompressed: disk speed
        if state["graph"] is not None:
            _fsync_write(folder / meta["graph"], state["graph"])  # the serialised graph as it is, no copy
        tmp = folder / f".{META}.{token}"
        _fsync_write(tmp, json.dumps(meta).encode())
        tmp.replace(folder / META)  # the commit point
        keep = {META, meta["data"], meta["graph"], ".lock", *meta["mapped"].values()}
        for p in folder.iterdir():
            if p.name not in keep:
                p.unlink(missing_ok=True)
    meta["save_s"] = round(time.perf_counter() - t0, 3)
    log.info("index snapshot saved: %d answers at change %d in %.2f s", meta["answers"], watermark, meta["save_s"])
    return meta


def load(index: VectorIndex, folder: Path, model_sha: str, store_id: str = "") -> int | None:
    """Fill `index` from the snapshot in `folder`; its watermark, or None (nothing loaded) when there
    is no usable snapshot for this model, store and index configuration."""
    path = folder / META
    if not path.is_file():
        return None
    try:
        meta = json.loads(path.read_text())
        why = _unusable(meta, index, model_sha, store_id)
        if why:
            log.info("index snapshot not used: %s", why)
            return None
        with np.load(folder / meta["data"]) as z:
            arrays = {k: z[k] for k in z.files}
        for name, file in meta["mapped"].items():  # copy-on-write: writes stay in this process
            arrays[name] = np.asarray(np.load(folder / file, mmap_mode="c"))
        ids: list[str | None] = json.loads(bytes(arrays["ids"]).decode("utf-8"))
        if len(ids) != meta["slots"] or arrays["matrix"].shape != (meta["slots"], index.dim):
            raise ValueError("the snapshot's arrays disagree with its description")
        graph = None
        if meta["graph"]:
            graph = usearch_index().restore(str(folder / meta["graph"]), view=True)  # read-only, mapped
            if graph is None or len(graph) != meta["answers"] or graph.ndim != index.dim:
                raise ValueError("the snapshot's graph disagrees with its description")
            why = _other_graph(graph, index)
            if why:  # the operator changed the graph's settings: they take effect by a rebuild
                log.info("index snapshot not used: %s", why)
                return None
        state = {"dim": meta["dim"], "ids": ids, "matrix": arrays["matrix"], "values": meta["values"],
                 "codes": {f: arrays[f"codes_{f}"] for f in FILTER_FIELDS},
                 "lexical": {k[4:]: v for k, v in arrays.items() if k.startswith("lex_")} or None}
        index.restore(state, graph, graph_view=True)
    except Exception as exc:  # noqa: BLE001 - any damage means: rebuild from the store
        log.warning("index snapshot unreadable (%s: %s); rebuilding from the store", type(exc).__name__, exc)
        index.rebuild([], np.zeros((0, index.dim), np.float32), [], [] if index.lexical_weight else None)
        return None
    return int(meta["watermark"])


def _other_graph(graph: Any, index: VectorIndex) -> str | None:
    """Why a restored HNSW graph does not fit the index's settings (links per node, vector type)."""
    kind = getattr(graph.dtype, "name", str(graph.dtype)).lower()
    if graph.connectivity != index.ann.connectivity or kind != index.ann.dtype:
        return (f"its graph has connectivity {graph.connectivity} and {kind} vectors; the settings ask for "
                f"{index.ann.connectivity} and {index.ann.dtype}")
    return None


def _unusable(meta: dict[str, Any], index: VectorIndex, model_sha: str, store_id: str) -> str | None:
    if meta.get("format") != FORMAT:
        return f"format {meta.get('format')} (this service writes {FORMAT})"
    if meta.get("model_sha") != model_sha:
        return "made with another model"
    if meta.get("store_id") != store_id:
        return "made from another store"
    if meta.get("dim") != index.dim or meta.get("lexical_weight") != index.lexical_weight \
            or meta.get("lexical_candidates") != index.lexical_candidates:
        return "made for another index configuration"
    return None
