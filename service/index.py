"""In-memory vector index over normalised float32 embeddings: exact search as one
matrix product, optional filters on product/topic, updated on every write."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np


@dataclass
class Hit:
    answer_id: str
    score: float


class VectorIndex:
    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._lock = threading.Lock()
        self._ids: list[str] = []
        self._pos: dict[str, int] = {}
        self._meta: dict[str, dict[str, str | None]] = {}
        self._matrix = np.zeros((0, dim), dtype=np.float32)

    def __len__(self) -> int:
        return len(self._ids)

    def rebuild(self, ids: list[str], vectors: np.ndarray, meta: list[dict[str, str | None]]) -> None:
        with self._lock:
            self._ids = list(ids)
            self._pos = {a: i for i, a in enumerate(self._ids)}
            self._matrix = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(ids), self.dim)
            self._meta = dict(zip(ids, meta, strict=True))

    def upsert(self, ids: list[str], vectors: np.ndarray, meta: list[dict[str, str | None]]) -> None:
        with self._lock:
            vectors = np.asarray(vectors, dtype=np.float32)
            new_rows: list[np.ndarray] = []
            for a, v, m in zip(ids, vectors, meta, strict=True):
                self._meta[a] = m
                if a in self._pos:
                    self._matrix[self._pos[a]] = v
                else:
                    self._pos[a] = len(self._ids) + len(new_rows)
                    new_rows.append(v)
                    self._ids.append(a)
            if new_rows:
                self._matrix = np.vstack([self._matrix, np.stack(new_rows)])

    def delete(self, answer_id: str) -> None:
        with self._lock:
            i = self._pos.pop(answer_id, None)
            if i is None:
                return
            self._matrix = np.delete(self._matrix, i, axis=0)
            del self._ids[i]
            self._meta.pop(answer_id, None)
            self._pos = {a: j for j, a in enumerate(self._ids)}

    def search(self, queries: np.ndarray, k: int, filters: dict[str, str] | None = None) -> list[list[Hit]]:
        with self._lock:
            matrix, ids, meta = self._matrix, self._ids, self._meta
        if not ids:
            return [[] for _ in range(len(queries))]
        scores = np.asarray(queries, dtype=np.float32) @ matrix.T
        if filters:
            allowed = np.array([all(meta[a].get(f) == v for f, v in filters.items()) for a in ids])
            scores = np.where(allowed, scores, -np.inf)
        k = min(k, len(ids))
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        out = []
        for row, cand in zip(scores, top, strict=True):
            cand = cand[np.argsort(-row[cand])]
            out.append([Hit(ids[j], float(row[j])) for j in cand if np.isfinite(row[j])])
        return out
