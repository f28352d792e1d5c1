"""Filling the answer index at start: from its snapshot plus the store's later changes, or rebuilt
from the store a page at a time (then snapshotted and mapped back, and the heap trimmed)."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from models.inference import passage_text
from models.lexical import LexicalIndex, Packer
from service import snapshot
from service.db import changes
from service.db.errors import store_errors
from service.memory import release_free_memory
from service.replication import apply_changes
from service.triage import Engine

log = logging.getLogger("wegwijzer")


def load_index(engine: Engine, watermark: int = 0, snapshots: Path | None = None) -> int:
    """Fill the in-memory index: from the snapshot in `snapshots` plus the store's changes after it, or
    (no usable snapshot) rebuilt from the store, then snapshotted. `watermark`: the store's change
    watermark read before this call. Returns the change up to which the index is known to be current."""
    current = engine.model.embedding_sha
    if snapshots is not None:
        t0 = time.perf_counter()
        seen = snapshot.load(engine.index, snapshots, current, snapshot.store_identity(engine.store))
        if seen is not None and seen > watermark:
            log.info("index snapshot is ahead of the store's change feed (another store?); rebuilding")
        elif seen is not None:
            applied, seen = apply_changes_since(engine, seen)
            if len(engine.index) == engine.store.count_answers():
                log.info("index loaded from its snapshot: %d answers, %d changes applied, %.2f s",
                         len(engine.index), applied, time.perf_counter() - t0)
                if applied:
                    save_snapshot(engine, snapshots, seen, exclusive=True)
                else:
                    engine.snapshot_mark = (engine.index.revision, seen)
                return seen
            log.warning("index snapshot disagrees with the store after its changes; rebuilding")
    t0 = time.perf_counter()
    rebuild_index(engine)
    log.info("index rebuilt from the store: %d answers in %.2f s", len(engine.index), time.perf_counter() - t0)
    if snapshots is not None and save_snapshot(engine, snapshots, watermark, exclusive=True):
        # serve from the snapshot just written, mapped: the rebuilt arrays (100k answers: ~1 GB at the
        # peak) are let go, and a first start then holds what a restart holds
        if snapshot.load(engine.index, snapshots, current, snapshot.store_identity(engine.store)) is None:
            log.warning("the index snapshot just written could not be read back; rebuilding it in memory")
            engine.snapshot_mark = None
            rebuild_index(engine)  # a failed load leaves the index empty: never serve that
        else:
            engine.snapshot_mark = (engine.index.revision, watermark)
    release_free_memory()  # the rebuild's rows and texts are freed; hand their pages back
    return watermark


def save_snapshot(engine: Engine, folder: Path, watermark: int, exclusive: bool = False) -> bool:
    """A snapshot is a cache: failing to write one costs the next start a rebuild, nothing else.
    `exclusive`: called at start-up, before requests and the follower, so nothing writes beside it."""
    revision = engine.index.revision  # read first: a write during the save makes the next save run
    try:
        snapshot.save(engine.index, folder, watermark, engine.model.embedding_sha,
                      snapshot.store_identity(engine.store), exclusive=exclusive)
        engine.snapshot_mark = (revision, watermark)
        return True
    except (OSError, *store_errors()) as exc:
        log.warning("index snapshot not saved: %s", exc)
        return False


def save_snapshot_at_shutdown(engine: Engine, folder: Path) -> None:
    """The shutdown snapshot, skipped when neither the index nor its watermark moved since the one on
    disk (an idle replica's restart rewrote 250 MB at 100k answers for nothing)."""
    if engine.snapshot_mark == (engine.index.revision, engine.index_watermark):
        log.info("index unchanged since its snapshot at change %d: not written again", engine.index_watermark)
        return
    save_snapshot(engine, folder, engine.index_watermark)


def apply_changes_since(engine: Engine, seq: int) -> tuple[int, int]:
    """Apply the store's answer changes after `seq` to the index; (changes applied, last seq)."""
    applied = 0
    while rows := changes.since(engine.store.query, seq):
        apply_changes(engine, [r for r in rows if r[1] == changes.ANSWER])
        applied += len(rows)
        seq = rows[-1][0]
    return applied, seq


def rebuild_index(engine: Engine, page: int = 5_000) -> None:
    """Rebuild the in-memory index from the store, a page of answers at a time (only ids, filter values,
    vectors and the passages' BM25 postings are kept, never every passage text); answers embedded by
    another model are re-embedded and stored."""
    current = engine.model.embedding_sha
    ids: list[str] = []
    values: list[dict[str, Any]] = []
    parts: list[np.ndarray] = []
    packer = Packer(LexicalIndex()) if engine.index.lexical_weight else None  # BM25 page by page: no list of texts
    stale = 0
    for rows, emb, shas in engine.store.answer_pages(page):
        page_texts = [passage_text(a) for a in rows]
        old = [i for i, sha in enumerate(shas) if not engine.model.embedding_current(sha)]
        if old:
            fresh = engine.model.embed_passages([page_texts[i] for i in old])
            engine.store.upsert_answers([rows[i] for i in old], fresh, current)
            emb[old] = fresh  # emb is this page's own array (np.stack)
            stale += len(old)
        if packer is not None:
            packer.add(np.arange(len(ids), len(ids) + len(rows)), page_texts)  # slot i = the i-th answer
        ids += [a["id"] for a in rows]
        values += [{"product": a.get("product"), "topic": a.get("topic")} for a in rows]
        parts.append(emb)
    if stale:
        log.info("re-embedded %d answers for the current model", stale)
    matrix = np.empty((sum(map(len, parts)), engine.index.dim), np.float32)
    at = 0
    while parts:  # each page is let go once copied: one copy of the vectors at a time, not two
        part = parts.pop(0)
        matrix[at:at + len(part)] = part
        at += len(part)
    # matrix is ours alone: adopted, not copied
    engine.index.rebuild(ids, matrix, values, adopt=True, lexical=packer.finish() if packer is not None else None)
