"""BM25 over knowledge-base passages, exact under every write.

Documents live in integer slots (the vector index's rows). Postings are kept per term and
turned into numpy arrays lazily, so a query costs one vectorised pass per query term over
that term's postings. Document frequencies, lengths and the average length are updated on
every insert and delete, so scores always equal a fresh BM25 over the live documents.

The same code scores in training (choosing the lexical weight on dev), in `eval` and in the
service, so the served ranking is the measured one.
"""

from __future__ import annotations

import math
import re
from collections import Counter

import numpy as np

_TOKEN = re.compile(r"\w+")


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


class LexicalIndex:
    """Okapi BM25 with the always-positive idf ln(1 + (N - df + 0.5) / (df + 0.5))."""

    def __init__(self, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self._postings: dict[str, dict[int, int]] = {}
        self._arrays: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._doc_terms: dict[int, Counter[str]] = {}
        self._doc_len = np.zeros(0, dtype=np.float32)
        self._total_len = 0

    def __len__(self) -> int:
        return len(self._doc_terms)

    def set(self, slot: int, text: str) -> None:
        """Index `text` in `slot`, replacing what the slot held."""
        self.remove(slot)
        terms = Counter(tokenize(text))
        if slot >= len(self._doc_len):
            grown = np.zeros(max(slot + 1, 2 * len(self._doc_len)), dtype=np.float32)
            grown[:len(self._doc_len)] = self._doc_len
            self._doc_len = grown
        self._doc_terms[slot] = terms
        length = sum(terms.values())
        self._doc_len[slot] = length
        self._total_len += length
        for term, tf in terms.items():
            self._postings.setdefault(term, {})[slot] = tf
            self._arrays.pop(term, None)

    def remove(self, slot: int) -> None:
        terms = self._doc_terms.pop(slot, None)
        if terms is None:
            return
        self._total_len -= int(self._doc_len[slot])
        self._doc_len[slot] = 0
        for term in terms:
            posting = self._postings[term]
            del posting[slot]
            if not posting:
                del self._postings[term]
            self._arrays.pop(term, None)

    def _term_arrays(self, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        posting = self._postings.get(term)
        if posting is None:
            return None
        cached = self._arrays.get(term)
        if cached is None:
            slots = np.fromiter(posting.keys(), dtype=np.int64, count=len(posting))
            tfs = np.fromiter(posting.values(), dtype=np.float32, count=len(posting))
            cached = self._arrays[term] = (slots, tfs)
        return cached

    def scores_for(self, text: str, slots: np.ndarray) -> np.ndarray:
        """BM25 of the documents in `slots` only: the served path, which re-scores the dense
        candidates, so its cost does not grow with the knowledge base."""
        n = len(self._doc_terms)
        query = Counter(tokenize(text))
        terms = [t for t in query if t in self._postings]
        if not n or not terms or not len(slots):
            return np.zeros(len(slots), dtype=np.float32)
        df = np.array([len(self._postings[t]) for t in terms], dtype=np.float64)
        weight = np.array([query[t] for t in terms]) * np.log(1.0 + (n - df + 0.5) / (df + 0.5))
        empty: Counter[str] = Counter()
        docs = [self._doc_terms.get(int(s), empty) for s in slots]
        tf = np.array([[d.get(t, 0) for t in terms] for d in docs], dtype=np.float64)
        norm = self.k1 * (1.0 - self.b + self.b * self._doc_len[slots].astype(np.float64) / (self._total_len / n))
        return ((tf * (self.k1 + 1.0) / (tf + norm[:, None])) @ weight).astype(np.float32)

    def scores(self, text: str, size: int) -> np.ndarray:
        """BM25 score of every slot below `size` for the query `text` (0 for empty slots)."""
        out = np.zeros(size, dtype=np.float32)
        n = len(self._doc_terms)
        if not n:
            return out
        avgdl = self._total_len / n or 1.0
        for term, qtf in Counter(tokenize(text)).items():
            arrays = self._term_arrays(term)
            if arrays is None:
                continue
            slots, tfs = arrays
            keep = slots < size
            slots, tfs = slots[keep], tfs[keep]
            df = len(self._postings[term])
            idf = math.log(1.0 + (n - df + 0.5) / (df + 0.5))
            norm = self.k1 * (1.0 - self.b + self.b * self._doc_len[slots] / avgdl)
            out[slots] += qtf * idf * tfs * (self.k1 + 1.0) / (tfs + norm)
        return out


def fuse(dense: np.ndarray, lexical: np.ndarray, weight: float, candidates: int) -> np.ndarray:
    """The served ranking score [queries, docs] from full score matrices: dense + weight x BM25
    on each query's `candidates` best dense documents, -inf elsewhere (what VectorIndex does)."""
    if not weight or dense.size == 0:
        return dense
    c = min(candidates, dense.shape[1])
    top = np.argpartition(-dense, c - 1, axis=1)[:, :c]
    out = np.full(dense.shape, -np.inf, dtype=np.float64)
    rows = np.arange(len(dense))[:, None]
    out[rows, top] = dense[rows, top] + weight * lexical[rows, top]
    return out


def bm25_matrix(passages: list[str], queries: list[str]) -> np.ndarray:
    """Scores [queries, passages] from a fresh index: the offline (training, eval) path."""
    index = LexicalIndex()
    for slot, text in enumerate(passages):
        index.set(slot, text)
    return np.stack([index.scores(q, len(passages)) for q in queries]) if queries else np.zeros((0, len(passages)))
