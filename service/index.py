"""In-memory answer index: exact dense search as one matrix product over normalised
float32 embeddings, optionally fused with BM25 (service/lexical.py), optional filters on
product/topic, updated on every write.

Rows are stable slots: a delete empties its slot (reused by the next insert), so the dense
matrix and the lexical postings stay aligned without renumbering.

Ranking is by dense cosine + lexical_weight x BM25 over the `lexical_candidates` best dense
hits (so the lexical part costs the same at any knowledge-base size); "nothing fits" is
decided on the dense cosine alone (a hit is kept only when its cosine reaches the threshold), because the dense
score is the one comparable across queries. Both settings come from the model manifest.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from service.lexical import LexicalIndex


@dataclass
class Hit:
    answer_id: str
    score: float  # dense cosine similarity
    lexical: float = 0.0  # BM25 of the answer for the query text (0 without the lexical part)
    product: str | None = None
    topic: str | None = None


class VectorIndex:
    def __init__(self, dim: int, lexical_weight: float = 0.0, lexical_candidates: int = 100) -> None:
        self.dim = dim
        self.lexical_weight = lexical_weight
        self.lexical_candidates = lexical_candidates
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self._ids: list[str | None] = []
        self._pos: dict[str, int] = {}
        self._free: list[int] = []
        self._meta: dict[str, dict[str, str | None]] = {}
        self._matrix = np.zeros((0, self.dim), dtype=np.float32)
        self._lexical = LexicalIndex() if self.lexical_weight else None

    def __len__(self) -> int:
        return len(self._pos)

    def rebuild(self, ids: list[str], vectors: np.ndarray, meta: list[dict[str, str | None]],
                texts: list[str] | None = None) -> None:
        with self._lock:
            self._reset()
            self._put(ids, vectors, meta, texts)

    def upsert(self, ids: list[str], vectors: np.ndarray, meta: list[dict[str, str | None]],
               texts: list[str] | None = None) -> None:
        with self._lock:
            self._put(ids, vectors, meta, texts)

    def _put(self, ids: list[str], vectors: np.ndarray, meta: list[dict[str, str | None]],
             texts: list[str] | None) -> None:
        vectors = np.asarray(vectors, dtype=np.float32).reshape(len(ids), self.dim)
        if self._lexical is not None and (texts is None or len(texts) != len(ids)):
            raise ValueError("a lexical index needs one passage text per answer")
        slots = [self._slot_for(a) for a in ids]
        if slots and max(slots) >= len(self._matrix):
            grown = np.zeros((max(max(slots) + 1, 2 * len(self._matrix)), self.dim), dtype=np.float32)
            grown[:len(self._matrix)] = self._matrix
            self._matrix = grown
        self._matrix[slots] = vectors
        for i, (a, m) in enumerate(zip(ids, meta, strict=True)):
            self._meta[a] = m
            if self._lexical is not None and texts is not None:
                self._lexical.set(slots[i], texts[i])

    def _slot_for(self, answer_id: str) -> int:
        slot = self._pos.get(answer_id)
        if slot is None:
            slot = self._free.pop() if self._free else len(self._ids)
            if slot == len(self._ids):
                self._ids.append(answer_id)
            else:
                self._ids[slot] = answer_id
            self._pos[answer_id] = slot
        return slot

    def delete(self, answer_id: str) -> None:
        with self._lock:
            slot = self._pos.pop(answer_id, None)
            if slot is None:
                return
            self._ids[slot] = None
            self._matrix[slot] = 0.0
            self._meta.pop(answer_id, None)
            self._free.append(slot)
            if self._lexical is not None:
                self._lexical.remove(slot)

    def search(self, queries: np.ndarray, k: int, filters: dict[str, str] | None = None,
               texts: list[str] | None = None) -> list[list[Hit]]:
        """Top-k per query, best first. `texts` (the query texts) switch on the lexical part."""
        with self._lock:
            return self._search(np.asarray(queries, dtype=np.float32), k, filters, texts)

    def _search(self, queries: np.ndarray, k: int, filters: dict[str, str] | None,
                texts: list[str] | None) -> list[list[Hit]]:
        size = len(self._ids)
        if not self._pos:
            return [[] for _ in range(len(queries))]
        dense = queries @ self._matrix[:size].T
        allowed = self._allowed(filters, size)
        if allowed is not None:
            dense = np.where(allowed, dense, -np.inf)
        live = len(self._pos) if allowed is None else int(allowed.sum())
        if not live:
            return [[] for _ in range(len(queries))]
        lexical = self._lexical if texts is not None else None
        width = min(k if lexical is None else max(k, self.lexical_candidates), live)
        out = []
        for i, row in enumerate(dense):
            cand = np.argpartition(-row, width - 1)[:width]
            rank = row[cand]
            bm25 = np.zeros(len(cand), np.float32)
            if lexical is not None and texts is not None:
                bm25 = lexical.scores_for(texts[i], cand)
                rank = rank + np.float32(self.lexical_weight) * bm25
            best = np.argsort(-rank, kind="stable")[:k]
            out.append([self._hit(int(cand[b]), float(row[cand[b]]), float(bm25[b])) for b in best
                        if np.isfinite(row[cand[b]])])
        return out

    def _hit(self, slot: int, score: float, lexical: float) -> Hit:
        answer_id = self._ids[slot] or ""
        meta = self._meta.get(answer_id, {})
        return Hit(answer_id, score, lexical, meta.get("product"), meta.get("topic"))

    def _allowed(self, filters: dict[str, str] | None, size: int) -> np.ndarray | None:
        if not filters and len(self._pos) == size:
            return None
        return np.array([a is not None and (not filters or all(self._meta[a].get(f) == v for f, v in filters.items()))
                         for a in self._ids])
