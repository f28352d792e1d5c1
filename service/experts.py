"""Expert records: one per author of accepted solutions (klantexperts, and members whose answers keep
getting accepted), aggregated from the imported threads (service/threads.py), plus what only
people know, set through `PUT /v1/experts/{id}` (display name, availability, open-question limit,
extra specialities). Only the forum's author id and display name are stored.

The embeddings of what each expert solved are the knowledge-base embeddings of their solved threads
(`thread:<id>` answers), held in memory for matching (service/matching.py).
"""

from __future__ import annotations

import json
import math
import statistics
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from models.threads import parse_time
from service import matching
from service.db import changes
from service.store import Store, now_iso

# members (not klantexperts) with at least this many accepted solutions are suggested too: the
# community's future klantexperts. Webcare and moderators are staff, never suggested as klantexpert.
MIN_MEMBER_SOLVED = 3
MATCHED_ROLES = ("klantexpert", "member")


@dataclass
class ExpertRecord:
    id: str
    name: str | None
    role: str
    available: bool = True
    max_open: int | None = None
    open_questions: int = 0
    specialities: list[str] = field(default_factory=list)
    solved: int = 0
    by_topic: dict[str, int] = field(default_factory=dict)
    by_product: dict[str, int] = field(default_factory=dict)
    median_answer_s: float | None = None
    last_active: str | None = None
    last_active_ts: float = math.nan  # POSIX seconds of last_active, for matching

    @property
    def matchable(self) -> bool:
        if self.role == "klantexpert":
            return True
        return self.role == "member" and self.solved >= MIN_MEMBER_SOLVED

    @property
    def under_limit(self) -> bool:
        return self.max_open is None or self.open_questions < self.max_open

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "role": self.role, "available": self.available,
                "max_open": self.max_open, "open_questions": self.open_questions,
                "specialities": self.specialities, "solved": self.solved, "by_topic": self.by_topic,
                "by_product": self.by_product, "median_answer_s": self.median_answer_s,
                "last_active": self.last_active, "matchable": self.matchable}


class ExpertDirectory:
    """Expert records and the in-memory embeddings of their solutions; thread-safe."""

    def __init__(self, store: Store, dim: int) -> None:
        self.store = store
        self.dim = dim
        self._lock = threading.Lock()
        self._records: dict[str, ExpertRecord] = {}
        self._solutions: dict[str, tuple[str, str, np.ndarray]] = {}  # thread_id -> (owner, title, embedding)
        self._matrix = np.zeros((0, dim), np.float32)
        self._pad = np.full((1, 1), -1, dtype=np.int64)  # expert row -> solution rows in _matrix, -1 padded
        self._owner_row: dict[str, int] = {}
        self._owner_titles: dict[str, list[str]] = {}
        self._dirty = False

    # loading ---------------------------------------------------------------------------------------
    def load(self) -> None:
        """Solutions from the store (the answers' current embeddings), then the records."""
        rows = self.store.query("SELECT t.thread_id, t.solver_id, a.title, a.embedding FROM threads t "
                                "JOIN answers a ON a.id = t.answer_id WHERE t.solver_id IS NOT NULL")
        with self._lock:
            self._solutions = {r[0]: (r[1], r[2], np.frombuffer(r[3], dtype=np.float32)) for r in rows}
            self._dirty = True
        self.refresh()

    def set_solutions(self, thread_ids: list[str], owners: list[str], titles: list[str], emb: np.ndarray) -> None:
        with self._lock:
            for tid, owner, title, e in zip(thread_ids, owners, titles, emb, strict=True):
                self._solutions[tid] = (owner, title, np.asarray(e, np.float32))
            self._dirty = True

    def remove_solutions(self, thread_ids: list[str]) -> None:
        with self._lock:
            for tid in thread_ids:
                self._solutions.pop(tid, None)
            self._dirty = True

    def _rebuild(self) -> None:
        """Stack the solution embeddings grouped by expert, with a padded row-index matrix per expert
        (-1 past their last solution; the last row is all -1 for experts with no solution yet)."""
        by_owner: dict[str, list[tuple[str, np.ndarray]]] = {}
        for owner, title, e in self._solutions.values():
            by_owner.setdefault(owner, []).append((title, e))
        items = [(o, t, e) for o, sols in by_owner.items() for t, e in sols]
        self._matrix = (np.stack([e for _, _, e in items]).astype(np.float32) if items
                        else np.zeros((0, self.dim), np.float32))
        width = max((len(v) for v in by_owner.values()), default=0)
        self._pad = np.full((len(by_owner) + 1, max(width, 1)), -1, dtype=np.int64)
        self._owner_row, self._owner_titles = {}, {}
        start = 0
        for row, (owner, sols) in enumerate(by_owner.items()):
            self._pad[row, :len(sols)] = np.arange(start, start + len(sols))
            self._owner_row[owner] = row
            self._owner_titles[owner] = [t for t, _ in sols]
            start += len(sols)
        self._dirty = False

    def refresh(self) -> None:
        """Re-aggregate every record from the threads and experts tables (after an import or an edit)."""
        solved = self.store.query("SELECT solver_id, topic, product, solver_reply_s, solver_last_at "
                                  "FROM threads WHERE solver_id IS NOT NULL")
        people = self.store.query("SELECT id, name, role, available, max_open, open_questions, specialities "
                                  "FROM experts")
        agg: dict[str, list[tuple]] = {}
        for r in solved:
            agg.setdefault(r[0], []).append(r)
        records = {}
        for pid, name, role, available, max_open, open_q, specs in people:
            rows = agg.get(pid, [])
            replies = [r[3] for r in rows if r[3] is not None]
            last = max((r[4] for r in rows if r[4]), default=None, key=lambda s: parse_time(s) or datetime.min)
            records[pid] = ExpertRecord(
                id=pid, name=name, role=role, available=bool(available), max_open=max_open,
                open_questions=open_q, specialities=json.loads(specs), solved=len(rows),
                by_topic=dict(Counter(r[1] for r in rows if r[1]).most_common()),
                by_product=dict(Counter(r[2] for r in rows if r[2]).most_common()),
                median_answer_s=float(statistics.median(replies)) if replies else None, last_active=last,
                last_active_ts=t.timestamp() if last and (t := parse_time(last)) else math.nan)
        with self._lock:
            self._records = records

    # records ---------------------------------------------------------------------------------------
    def all(self) -> list[ExpertRecord]:
        with self._lock:
            return sorted(self._records.values(), key=lambda r: (-r.solved, r.id))

    def get(self, expert_id: str) -> ExpertRecord | None:
        with self._lock:
            return self._records.get(expert_id)

    def update(self, expert_id: str, fields: dict[str, Any]) -> ExpertRecord:
        """Set what only people know; creates the record (role klantexpert) for someone not imported yet."""
        available = fields.get("available")
        values = {"name": fields.get("name"), "available": None if available is None else int(available),  # 0/1 column
                  "max_open": fields.get("max_open"), "open_questions": fields.get("open_questions"),
                  "specialities": json.dumps(fields["specialities"]) if "specialities" in fields else None}
        with self.store.transaction() as c:
            c.execute("INSERT INTO experts (id, name, name_by_hand, role, updated_at) VALUES (?, ?, ?, "
                      "'klantexpert', ?) ON CONFLICT(id) DO NOTHING",
                      (expert_id, values["name"], int(values["name"] is not None), now_iso()))
            if "max_open" in fields:  # explicit null removes the limit
                c.execute("UPDATE experts SET max_open=? WHERE id=?", (values["max_open"], expert_id))
            for col in ("available", "open_questions", "specialities"):
                if values[col] is not None:
                    c.execute(f"UPDATE experts SET {col}=? WHERE id=?", (values[col], expert_id))
            if values["name"] is not None:
                c.execute("UPDATE experts SET name=?, name_by_hand=1 WHERE id=?", (values["name"], expert_id))
            c.execute("UPDATE experts SET updated_at=? WHERE id=?", (now_iso(), expert_id))
            self.store.record_change(c, changes.EXPERTS, [expert_id])
        self.refresh()
        record = self.get(expert_id)
        assert record is not None
        return record

    # matching --------------------------------------------------------------------------------------
    def match(self, embedding: np.ndarray, labels: dict[str, str], k: int = 3, now: datetime | None = None,
              weights: matching.Weights | None = None) -> list[matching.Match]:
        """Up to k fitting experts for a post (its retrieval embedding and predicted labels), best first.
        Unavailable experts, experts at their limit, staff and members with few solutions are left out."""
        now = now or datetime.now(UTC)
        with self._lock:
            if self._dirty:
                self._rebuild()
            people = [r for r in self._records.values() if r.matchable and r.available and r.under_limit
                      and (r.id in self._owner_row or r.specialities)]
            none_row = len(self._pad) - 1
            idx = self._pad[[self._owner_row.get(r.id, none_row) for r in people]]
            # einsum, not BLAS: a matrix-vector product through OpenBLAS took ~18 ms on the loaded 2-core
            # machine (thread hand-off), einsum 0.8 ms at 7,911 x 64 (bench.threads)
            cos = (np.einsum("ij,j->i", self._matrix, np.asarray(embedding, np.float32)) if len(self._matrix)
                   else np.zeros(1, np.float32))
            pool = matching.Pool(
                ids=[r.id for r in people], names=[r.name or r.id for r in people], roles=[r.role for r in people],
                solved=np.array([r.solved for r in people], dtype=np.float64),
                by_topic=[r.by_topic for r in people], by_product=[r.by_product for r in people],
                specialities=[r.specialities for r in people],
                last_active=np.array([r.last_active_ts for r in people], dtype=np.float64),
                cosines=np.where(idx >= 0, cos[np.maximum(idx, 0)], -np.inf) if len(people) else np.zeros((0, 1)),
                titles=[self._owner_titles.get(r.id, []) for r in people],
                open_questions=[r.open_questions for r in people], max_open=[r.max_open for r in people])
        return matching.rank(pool, labels.get("topic"), labels.get("product"), now, k, weights)
