"""BM25 over knowledge-base passages, exact under every write.

Documents live in integer slots (the vector index's rows). Each document is two small arrays
(sorted term ids, term counts): those of a restored index are slices of its exported postings
(one array each for every document's term ids and counts, memory-mapped from a snapshot: no
per-document objects, 40 MB less at 100k answers), those written since sit in a dict that wins
over them; document frequencies, lengths and the average
length are updated on every insert and delete, so scores always equal a fresh BM25 over
the live documents. The service scores only the dense candidates of a query, so a query
costs the same at any knowledge-base size and the index costs ~8 bytes per term occurrence.

The same code scores in training (choosing the lexical weight on dev), in `eval` and in the
service, so the served ranking is the measured one.
"""

from __future__ import annotations

import itertools
import re

import numpy as np

_TOKEN = re.compile(r"\w+")
_EMPTY = (np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32))


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


class LexicalIndex:
    """Okapi BM25 with the always-positive idf ln(1 + (N - df + 0.5) / (df + 0.5))."""

    def __init__(self, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self._vocab: dict[str, int] = {}
        self._df = np.zeros(0, dtype=np.int64)
        self._docs: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # slot -> (sorted term ids, counts)
        # restored postings: slot -> row of offsets (-1: none or overridden), row i = terms[offsets[i]:offsets[i + 1]]
        self._base_row = np.zeros(0, dtype=np.int64)
        self._base: tuple[np.ndarray, np.ndarray, np.ndarray] = (np.zeros(1, np.int64), *_EMPTY)
        self._n = 0
        self._doc_len = np.zeros(0, dtype=np.float32)
        self._total_len = 0

    def __len__(self) -> int:
        return self._n

    def _doc(self, slot: int) -> tuple[np.ndarray, np.ndarray] | None:
        doc = self._docs.get(slot)
        if doc is None and slot < len(self._base_row) and (row := self._base_row[slot]) >= 0:
            offsets, terms, counts = self._base
            start, end = offsets[row], offsets[row + 1]
            return terms[start:end], counts[start:end]
        return doc

    def _slots(self) -> list[int]:
        return sorted({*self._docs, *np.flatnonzero(self._base_row >= 0).tolist()})

    def _term_ids(self, terms: list[str]) -> np.ndarray:
        for t in terms:
            if t not in self._vocab:
                self._vocab[t] = len(self._vocab)
        if len(self._vocab) > len(self._df):
            self._df = np.concatenate([self._df, np.zeros(max(len(self._vocab) - len(self._df), len(self._df)),
                                                          dtype=np.int64)])
        return np.fromiter((self._vocab[t] for t in terms), dtype=np.int32, count=len(terms))

    def set(self, slot: int, text: str) -> None:
        """Index `text` in `slot`, replacing what the slot held."""
        self.remove(slot)
        ids, counts = np.unique(self._term_ids(tokenize(text)), return_counts=True)
        if slot >= len(self._doc_len):
            grown = np.zeros(max(slot + 1, 2 * len(self._doc_len)), dtype=np.float32)
            grown[:len(self._doc_len)] = self._doc_len
            self._doc_len = grown
        self._docs[slot] = (ids.astype(np.int32), counts.astype(np.float32))
        self._n += 1
        self._df[ids] += 1
        length = int(counts.sum())
        self._doc_len[slot] = length
        self._total_len += length

    def set_many(self, slots: np.ndarray | list[int], texts: list[str], page: int = 4096) -> None:
        """Index `texts` in `slots`. Into an empty index they are packed straight into the layout a
        restored index has (`Packer`): no per-document arrays, and `export` need not copy them."""
        slots = np.asarray(slots, dtype=np.int64)
        if len(slots) != len(texts):
            raise ValueError("one text per slot")
        if self._n or self._docs or len(np.unique(slots)) != len(slots) or (len(slots) and slots.min() < 0):
            for slot, text in zip(slots.tolist(), texts, strict=True):
                self.set(slot, text)
            return
        order = np.argsort(slots, kind="stable")
        packer = Packer(self)
        for start in range(0, len(order), page):
            rows = order[start:start + page]
            packer.add(slots[rows], [texts[r] for r in rows.tolist()])
        packer.finish()

    def remove(self, slot: int) -> None:
        doc = self._doc(slot)
        if doc is None:
            return
        self._docs.pop(slot, None)
        if slot < len(self._base_row):
            self._base_row[slot] = -1
        self._n -= 1
        self._df[doc[0]] -= 1
        self._total_len -= int(self._doc_len[slot])
        self._doc_len[slot] = 0

    def export(self) -> dict[str, np.ndarray]:
        """Arrays that `restore` turns back into this index (service/snapshot.py persists them)."""
        slots = np.array(self._slots(), dtype=np.int64)
        offsets, terms, counts = self._base
        vocab = "\n".join(self._vocab).encode("utf-8")  # \w+ tokens hold no newline; ids are insertion order
        common = {"k1_b": np.array([self.k1, self.b]), "vocab": np.frombuffer(vocab, dtype=np.uint8),
                  "df": self._df[:len(self._vocab)].copy(), "doc_len": self._doc_len.copy(),
                  "total_len": np.array([self._total_len], dtype=np.int64), "slots": slots}
        if not self._docs and len(offsets) - 1 == len(slots) and np.array_equal(self._base_row[slots],
                                                                                 np.arange(len(slots))):
            # every live document is a packed row, in slot order: the packed arrays are the export
            return {**common, "offsets": offsets, "terms": terms, "counts": counts}
        docs = [self._doc(int(s)) or _EMPTY for s in slots]
        lengths = np.fromiter((len(d[0]) for d in docs), dtype=np.int64, count=len(docs))
        return {**common, "offsets": np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
                "terms": np.concatenate([d[0] for d in docs]) if docs else np.zeros(0, np.int32),
                "counts": np.concatenate([d[1] for d in docs]) if docs else np.zeros(0, np.float32)}

    @classmethod
    def restore(cls, state: dict[str, np.ndarray]) -> LexicalIndex:
        k1, b = (float(x) for x in state["k1_b"])
        index = cls(k1, b)
        text = bytes(np.asarray(state["vocab"], dtype=np.uint8)).decode("utf-8")
        index._vocab = {t: i for i, t in enumerate(text.split("\n"))} if text else {}
        index._df = np.asarray(state["df"], dtype=np.int64).copy()
        index._doc_len = np.asarray(state["doc_len"], dtype=np.float32).copy()
        index._total_len = int(state["total_len"][0])
        slots = np.asarray(state["slots"], dtype=np.int64)
        index._base = (np.asarray(state["offsets"], dtype=np.int64), np.asarray(state["terms"], dtype=np.int32),
                       np.asarray(state["counts"], dtype=np.float32))  # as given: a memory map stays one
        index._base_row = np.full(int(slots.max(initial=-1)) + 1, -1, dtype=np.int64)
        index._base_row[slots] = np.arange(len(slots))
        index._n = len(slots)
        return index

    def scores_for(self, text: str, slots: np.ndarray) -> np.ndarray:
        """BM25 of the documents in `slots` (0 for empty slots) for the query `text`."""
        out = np.zeros(len(slots), dtype=np.float32)
        n = self._n
        terms = [t for t in tokenize(text) if t in self._vocab]
        if not n or not terms:
            return out
        q_ids, q_counts = np.unique(np.array([self._vocab[t] for t in terms], dtype=np.int32), return_counts=True)
        df = self._df[q_ids].astype(np.float64)
        weight = q_counts * np.log(1.0 + (n - df + 0.5) / (df + 0.5))
        avgdl = self._total_len / n or 1.0
        slots = np.asarray(slots, dtype=np.int64)
        ids, tf, owner = self._postings_of(slots)
        if not len(ids):
            return out
        lookup = np.full(len(self._vocab), -1, dtype=np.int32)  # term id -> its place among the query's
        lookup[q_ids] = np.arange(len(q_ids), dtype=np.int32)
        pos = lookup[ids]
        hit = pos >= 0
        pos, tf, owner = pos[hit], tf[hit].astype(np.float64), owner[hit]
        norm = self.k1 * (1.0 - self.b + self.b * self._doc_len[slots] / avgdl)
        part = weight[pos] * tf * (self.k1 + 1.0) / (tf + norm[owner])
        return np.bincount(owner, weights=part, minlength=len(slots)).astype(np.float32)

    def _postings_of(self, slots: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(term ids, counts, position in `slots`) of the documents in `slots`: packed rows gathered in
        one vectorised step (a search re-scores 100 candidates: 0.6 ms in a Python loop), rows written
        since from the dict."""
        rows = np.full(len(slots), -1, dtype=np.int64)
        known = slots < len(self._base_row)
        rows[known] = self._base_row[slots[known]]
        packed = np.flatnonzero(rows >= 0)
        offsets, terms, counts = self._base
        starts, lengths = offsets[rows[packed]], offsets[rows[packed] + 1] - offsets[rows[packed]]
        # the concatenated ranges start..start+length of every packed row
        index = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(int(lengths.sum()))
        ids, tf, owner = [terms[index]], [counts[index]], [np.repeat(packed, lengths)]
        if self._docs:
            for i in np.flatnonzero(rows < 0).tolist():
                doc = self._docs.get(int(slots[i]))
                if doc is not None:
                    ids.append(doc[0])
                    tf.append(doc[1])
                    owner.append(np.full(len(doc[0]), i, dtype=np.int64))
        return np.concatenate(ids), np.concatenate(tf), np.concatenate(owner)


class Packer:
    """Fills an empty LexicalIndex a page of documents at a time, straight into the packed layout of a
    restored index (one array of term ids and one of counts for every document, rows in the order
    added). The service's rebuild feeds it one page of the store at a time, so no list of every
    passage is held; 100k answers: 77 MB of postings, where one small array pair per document took 110."""

    def __init__(self, index: LexicalIndex) -> None:
        if len(index) or index._docs:
            raise ValueError("a Packer fills an empty index")
        self.index = index
        self._slots: list[np.ndarray] = []
        self._terms: list[np.ndarray] = []
        self._counts: list[np.ndarray] = []
        self._unique: list[np.ndarray] = []  # distinct terms per document
        self._tokens: list[np.ndarray] = []  # tokens per document (its BM25 length)

    def add(self, slots: np.ndarray | list[int], texts: list[str]) -> None:
        slots = np.asarray(slots, dtype=np.int64)
        if len(slots) != len(texts):
            raise ValueError("one text per slot")
        vocab = self.index._vocab
        # setdefault(t, len(vocab)): a new term gets the next id, in order of first use (as in set)
        ids = [[vocab.setdefault(t, len(vocab)) for t in tokenize(text)] for text in texts]
        n_tok = np.fromiter(map(len, ids), dtype=np.int64, count=len(texts))
        flat = np.fromiter(itertools.chain.from_iterable(ids), dtype=np.int64, count=int(n_tok.sum()))
        owner = np.repeat(np.arange(len(texts), dtype=np.int64), n_tok)
        keys, cnt = np.unique((owner << 32) | flat, return_counts=True)  # sorted by document, then term
        self._slots.append(slots)
        self._terms.append((keys & 0xFFFFFFFF).astype(np.int32))
        self._counts.append(cnt.astype(np.float32))
        self._unique.append(np.bincount(keys >> 32, minlength=len(texts)))
        self._tokens.append(n_tok)

    def finish(self) -> LexicalIndex:
        """Install the pages into the index (every slot once, none negative) and return it."""
        def whole(parts: list[np.ndarray], dtype: type) -> np.ndarray:
            out = np.concatenate(parts) if parts else np.zeros(0, dtype)
            parts.clear()  # one array's pages and its whole at a time, not every array twice
            return out

        slots = whole(self._slots, np.int64)
        if len(np.unique(slots)) != len(slots) or (len(slots) and slots.min() < 0):
            raise ValueError("each slot once, none negative")
        index, terms = self.index, whole(self._terms, np.int32)
        counts, lengths = whole(self._counts, np.float32), whole(self._unique, np.int64)
        tokens = whole(self._tokens, np.int64)
        index._base = (np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64), terms, counts)
        size = int(slots.max(initial=-1)) + 1
        index._base_row = np.full(size, -1, dtype=np.int64)
        index._base_row[slots] = np.arange(len(slots))
        index._doc_len = np.zeros(max(size, len(index._doc_len)), dtype=np.float32)
        index._doc_len[slots] = tokens
        index._total_len = int(tokens.sum())
        index._df = np.bincount(terms, minlength=len(index._vocab)).astype(np.int64)
        index._n = len(slots)
        return index


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
    index.set_many(np.arange(len(passages)), passages)
    every = np.arange(len(passages))
    return np.stack([index.scores_for(q, every) for q in queries]) if queries else np.zeros((0, len(passages)))
