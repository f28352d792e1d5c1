"""What a replica does with other replicas' changes (service/db/sync.py follows the feed): answers
into or out of the in-memory index, expert records and response history reloaded. Applying is
idempotent (it reads the current rows), so a change seen twice, or a replica's own write, is harmless."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from models.inference import passage_text
from service.db import changes
from service.db.sync import Change, ChangeFollower

if TYPE_CHECKING:
    from service.triage import Engine

log = logging.getLogger("wegwijzer.sync")


def apply_changes(engine: Engine, rows: list[Change]) -> None:
    kinds = {kind for _, kind, _ in rows}
    ids = sorted({key for _, kind, key in rows if kind == changes.ANSWER})
    if ids:
        found, emb, shas = engine.store.answers_by_id(ids)
        if found and not all(map(engine.model.embedding_current, shas)):  # a replica with another embedding
            emb = engine.model.embed_passages([passage_text(a) for a in found])
        if found:
            engine.index.upsert([a["id"] for a in found], emb,
                                [{"product": a.get("product"), "topic": a.get("topic")} for a in found],
                                [passage_text(a) for a in found])
        for gone in set(ids) - {a["id"] for a in found}:
            engine.index.delete(gone)
    if changes.THREADS in kinds:
        if engine.experts is not None:
            engine.experts.load()
        if engine.history is not None:
            engine.history.refresh()
    elif changes.EXPERTS in kinds and engine.experts is not None:
        engine.experts.refresh()


def start_follower(engine: Engine, watermark: int, poll_s: float) -> ChangeFollower | None:
    """On a shared store: follow the other replicas' writes from `watermark` (read before the index was loaded)."""
    if not engine.store.shared:
        return None
    follower = ChangeFollower(engine.store, lambda rows: apply_changes(engine, rows), watermark, poll_s)
    follower.catch_up()  # what changed while this replica was loading
    return follower.start()
