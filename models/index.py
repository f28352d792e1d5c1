"""In-memory answer index: dense search over normalised embeddings, optionally fused with
BM25 (models/lexical.py), optional filters on product/topic, updated on every write.

Two dense modes, chosen by size (`AnnConfig.min_answers` live answers):
- exact: one float32 matrix product over every live answer (small knowledge bases: exact,
  deterministic and already fast);
- approximate: an HNSW graph (usearch, int8 vectors by default) proposes candidates, which are
  then re-scored exactly against the float32 vectors, so scores (and ties) are exactly those of
  exact search. (Float16 copies would halve that memory, but on the 10k benchmark knowledge base 84%
  of queries have two of their top-4 answers within 1e-3 cosine, near-variants of one answer, and
  float16 rounding reorders the top-3 of 2.3% of the dev+test posts' queries.) Filters letting few
  answers through are searched exactly; others over-fetch from the graph, with an exact fallback
  when too few candidates pass.
Once approximate, an index stays so until it is rebuilt (no flapping around the boundary).

Rows are stable slots: a delete empties its slot (reused by the next insert), so the dense
matrix, the graph keys (= slots) and the lexical postings stay aligned without renumbering.

Ranking is by dense cosine + lexical_weight x BM25 over the `lexical_candidates` best dense
hits (so the lexical part costs the same at any knowledge-base size); "nothing fits" is
decided on the dense cosine alone (a hit is kept only when its cosine reaches the threshold), because the dense
score is the one comparable across queries. Both settings come from the model manifest.

`state()`/`restore()` expose everything (service/snapshot.py saves and loads it).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from models.lexical import LexicalIndex
from models.native import usearch_index

FILTER_FIELDS = ("product", "topic")


@dataclass
class Hit:
    answer_id: str
    score: float  # dense cosine similarity
    lexical: float = 0.0  # BM25 of the answer for the query text (0 without the lexical part)
    product: str | None = None
    topic: str | None = None


@dataclass(frozen=True)
class AnnConfig:
    """When and how the approximate mode runs (service settings ann_*)."""
    min_answers: int = 10_000  # approximate from this many live answers; exact below
    expansion_search: int = 128  # HNSW ef at query time (bench/ann.py on real queries)
    # links per node and ef while building: 32 / 256 against 16 / 128 at 100k benchmark answers (real
    # embeddings, 643 queries): served top-3 same as exact 0.905 -> 0.961, +12 MB graph (bench/ann.py)
    connectivity: int = 32
    expansion_add: int = 256
    dtype: str = "i8"  # the graph's vectors (usearch scalar kind); re-scoring uses the float32 ones
    rerank: float = 4.0  # the graph proposes this many times the candidates needed; exact re-scoring keeps the best
    # with the lexical part: the graph proposes this many times the `lexical_candidates` that BM25 re-scores
    # (None: `rerank` times, like the answers served)
    lexical_fetch: float | None = None
    min_fetch: int = 32  # and at least this many (int8 distances misorder close neighbours)
    exact_share: float = 0.25  # a filter letting at most this share of the answers through is searched exactly
    build_threads: int = 2


def _dot(queries: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """[queries, rows] inner products in float32. einsum, not `@`: a matrix-vector product through the
    multi-threaded BLAS waits for a second thread, which on a busy machine cost 10x at the median
    (bench/ann.py's notes); einsum's own loop stays on the calling thread."""
    return np.einsum("qd,nd->qn", queries, matrix.astype(np.float32, copy=False))


class VectorIndex:
    def __init__(self, dim: int, lexical_weight: float = 0.0, lexical_candidates: int = 100,
                 ann: AnnConfig | None = None) -> None:
        self.dim = dim
        self.lexical_weight = lexical_weight
        self.lexical_candidates = lexical_candidates
        self.ann = ann or AnnConfig()
        self._lock = threading.Lock()
        self.revision = 0  # counts the changes to the contents (rebuild, upsert, delete, restore)
        self._reset()

    def _reset(self) -> None:
        self._ids: list[str | None] = []
        self._pos: dict[str, int] = {}
        self._free: list[int] = []
        self._matrix = np.zeros((0, self.dim), dtype=np.float32)
        self._live = np.zeros(0, dtype=bool)
        self._codes = {f: np.zeros(0, dtype=np.int32) for f in FILTER_FIELDS}  # per slot; 0 = None
        self._values: dict[str, list[str | None]] = {f: [None] for f in FILTER_FIELDS}
        self._value_code: dict[str, dict[str | None, int]] = {f: {None: 0} for f in FILTER_FIELDS}
        self._graph: Any = None  # usearch Index in the approximate mode
        self._graph_view = False  # the graph is a read-only map of a snapshot file until the first write
        self._lexical = LexicalIndex() if self.lexical_weight else None

    def __len__(self) -> int:
        return len(self._pos)

    @property
    def approximate(self) -> bool:
        return self._graph is not None

    def rebuild(self, ids: list[str], vectors: np.ndarray, meta: list[dict[str, str | None]],
                texts: list[str] | None = None, adopt: bool = False, lexical: LexicalIndex | None = None) -> None:
        """Replace the contents. `adopt`: keep `vectors` itself as the index's matrix instead of a copy
        (a float32, C-contiguous row per distinct id, which the caller then leaves alone: the index
        writes into it). `lexical`: the passages' BM25 index already built, document i in slot i (the
        service's rebuild packs it page by page: `models.lexical.Packer`), instead of `texts`. The
        service's start-up rebuild passes both, saving 146 MB of vectors and 110 MB of texts at 100k answers."""
        distinct = len(set(ids)) == len(ids)
        if lexical is not None and (not self.lexical_weight or texts is not None or len(lexical) != len(ids)
                                    or not distinct):
            raise ValueError("a prebuilt lexical index replaces the texts: one document per distinct id, "
                             "on an index with a lexical part")
        with self._lock:
            self._reset()
            owned = (adopt and isinstance(vectors, np.ndarray) and vectors.dtype == np.float32
                     and vectors.flags.c_contiguous and vectors.shape == (len(ids), self.dim) and distinct)
            if owned:
                self._matrix = vectors
                self._live = np.zeros(len(ids), dtype=bool)
                self._codes = {f: np.zeros(len(ids), dtype=np.int32) for f in FILTER_FIELDS}
            if lexical is not None:
                self._lexical = lexical
            self._put(ids, vectors, meta, texts, in_place=owned, lexical_ready=lexical is not None)

    def upsert(self, ids: list[str], vectors: np.ndarray, meta: list[dict[str, str | None]],
               texts: list[str] | None = None) -> None:
        with self._lock:
            self._put(ids, vectors, meta, texts)

    def _put(self, ids: list[str], vectors: np.ndarray, meta: list[dict[str, str | None]],
             texts: list[str] | None, in_place: bool = False, lexical_ready: bool = False) -> None:
        self.revision += 1
        vectors = np.asarray(vectors, dtype=np.float32).reshape(len(ids), self.dim)
        if self._lexical is not None and not lexical_ready and (texts is None or len(texts) != len(ids)):
            raise ValueError("a lexical index needs one passage text per answer")
        slots = [self._slot_for(a) for a in ids]
        if slots and max(slots) >= len(self._matrix):
            self._grow(max(max(slots) + 1, 2 * len(self._matrix)))
        if not in_place:  # in place: the matrix is `vectors`, and slots are its rows 0..n-1
            self._matrix[slots] = vectors
        self._live[slots] = True
        for f in FILTER_FIELDS:
            self._codes[f][slots] = [self._code(f, m.get(f)) for m in meta]
        if self._lexical is not None and texts is not None and not lexical_ready:
            self._lexical.set_many(slots, texts)
        if self._graph is not None:
            self._writable_graph()
            keys = np.asarray(slots, dtype=np.uint64)
            present = [k for k in keys if self._graph.contains(int(k))]
            if present:
                self._graph.remove(np.asarray(present, dtype=np.uint64))
            self._graph.add(keys, vectors, threads=1)
        elif len(self._pos) >= self.ann.min_answers:
            self._go_approximate()

    def _grow(self, rows: int) -> None:
        grown = np.zeros((rows, self.dim), dtype=self._matrix.dtype)
        grown[:len(self._matrix)] = self._matrix
        self._matrix = grown
        self._live = np.concatenate([self._live, np.zeros(rows - len(self._live), dtype=bool)])
        for f in FILTER_FIELDS:
            self._codes[f] = np.concatenate([self._codes[f], np.zeros(rows - len(self._codes[f]), dtype=np.int32)])

    def _code(self, field: str, value: str | None) -> int:
        code = self._value_code[field].get(value)
        if code is None:
            code = self._value_code[field][value] = len(self._values[field])
            self._values[field].append(value)
        return code

    def _new_graph(self) -> Any:
        Index = usearch_index()  # noqa: N806 - the class, loaded after OpenVINO (models/native.py)

        return Index(ndim=self.dim, metric="ip", dtype=self.ann.dtype, connectivity=self.ann.connectivity,
                     expansion_add=self.ann.expansion_add, expansion_search=self.ann.expansion_search)

    def _go_approximate(self) -> None:
        graph = self._new_graph()
        live = np.flatnonzero(self._live[:len(self._ids)])
        # rows 0..n-1 all live (a rebuild): a view, not a copy of the matrix (100k answers: 146 MB)
        rows = self._matrix[:len(live)] if len(live) and live[-1] == len(live) - 1 else self._matrix[live]
        graph.add(live.astype(np.uint64), rows, threads=self.ann.build_threads)
        self._graph = graph

    def _writable_graph(self) -> None:
        """A graph mapped from a snapshot (read-only) becomes an in-memory copy before its first change."""
        if self._graph_view:
            self._graph = self._graph.copy()
            self._graph.expansion_search = self.ann.expansion_search
            self._graph_view = False

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
            self.revision += 1
            self._ids[slot] = None
            self._matrix[slot] = 0.0
            self._live[slot] = False
            for f in FILTER_FIELDS:
                self._codes[f][slot] = 0
            self._free.append(slot)
            if self._lexical is not None:
                self._lexical.remove(slot)
            if self._graph is not None and self._graph.contains(slot):
                self._writable_graph()
                self._graph.remove(slot)

    def search(self, queries: np.ndarray, k: int, filters: dict[str, str] | None = None,
               texts: list[str] | None = None, exact: bool = False) -> list[list[Hit]]:
        """Top-k per query, best first. `texts` (the query texts) switch on the lexical part;
        `exact` forces exact dense search in the approximate mode (benchmarks compare against it)."""
        with self._lock:
            return self._search(np.asarray(queries, dtype=np.float32).reshape(-1, self.dim), k, filters, texts,
                                exact)

    def _search(self, queries: np.ndarray, k: int, filters: dict[str, str] | None,
                texts: list[str] | None, exact: bool) -> list[list[Hit]]:
        size = len(self._ids)
        allowed = self._allowed(filters, size)
        live = len(self._pos) if allowed is None else int(allowed.sum())
        if not live:
            return [[] for _ in range(len(queries))]
        lexical = self._lexical if texts is not None else None
        width = min(k if lexical is None else max(k, self.lexical_candidates), live)
        if self._graph is None or exact:
            cands = self._exact(queries, allowed, width, size)
        else:
            cands = self._approximate(queries, allowed, width, size, k)
        out = []
        for i, (cand, dense) in enumerate(cands):
            rank = dense
            bm25 = np.zeros(len(cand), np.float32)
            if lexical is not None and texts is not None:
                bm25 = lexical.scores_for(texts[i], cand)
                rank = dense + np.float32(self.lexical_weight) * bm25
            best = np.argsort(-rank, kind="stable")[:k]
            out.append([self._hit(int(cand[b]), float(dense[b]), float(bm25[b])) for b in best])
        return out

    def _exact(self, queries: np.ndarray, allowed: np.ndarray | None, width: int, size: int
               ) -> list[tuple[np.ndarray, np.ndarray]]:
        rows = np.flatnonzero(self._live[:size] if allowed is None else allowed)
        matrix = self._matrix[:size] if len(rows) == size else self._matrix[rows]
        dense = _dot(queries, matrix)
        out = []
        for row in dense:
            top = np.argpartition(-row, width - 1)[:width]
            out.append((rows[top] if len(rows) != size else top, row[top]))
        return out

    def _approximate(self, queries: np.ndarray, allowed: np.ndarray | None, width: int, size: int, k: int
                     ) -> list[tuple[np.ndarray, np.ndarray]]:
        live = len(self._pos)
        pool = width * (self.ann.rerank if self.ann.lexical_fetch is None or width <= k else self.ann.lexical_fetch)
        fetch = max(min(k, width) * self.ann.rerank, pool, self.ann.min_fetch)
        if allowed is not None:  # over-fetch in proportion to what the filter lets through
            passing = int(allowed.sum())
            if passing <= self.ann.exact_share * live:
                return self._exact(queries, allowed, width, size)
            fetch = fetch * live / passing
        found = self._graph.search(queries, min(live, int(np.ceil(fetch))), threads=1)
        keys = np.atleast_2d(found.keys)  # one query: Matches (no counts), several: BatchMatches
        counts = np.atleast_1d(found.counts) if hasattr(found, "counts") else np.array([len(found.keys)])
        out = []
        for i, q in enumerate(queries):
            cand = keys[i, :counts[i]].astype(np.int64)
            if allowed is not None:
                cand = cand[allowed[cand]]
            if len(cand) < width:  # the graph gave too few (a narrow filter): exact over the allowed answers
                out += self._exact(q[None], allowed, width, size)
                continue
            dense = _dot(q[None], self._matrix[cand])[0]
            top = np.argpartition(-dense, width - 1)[:width] if len(cand) > width else slice(None)
            out.append((cand[top], dense[top]))
        return out

    def _hit(self, slot: int, score: float, lexical: float) -> Hit:
        return Hit(self._ids[slot] or "", score, lexical, self._values["product"][self._codes["product"][slot]],
                   self._values["topic"][self._codes["topic"][slot]])

    def _allowed(self, filters: dict[str, str] | None, size: int) -> np.ndarray | None:
        if not filters:
            return None
        allowed = self._live[:size].copy()
        for field, value in filters.items():
            code = self._value_code.get(field, {}).get(value)
            if code is None:
                return np.zeros(size, dtype=bool)
            allowed &= self._codes[field][:size] == code
        return allowed

    # snapshots (service/snapshot.py) ----------------------------------------------------------------
    @property
    def memory_mapped(self) -> bool:
        """Whether the dense vectors are read from a mapped snapshot file rather than held in RAM."""
        base = self._matrix
        while base is not None:
            if isinstance(base, np.memmap):
                return True
            base = getattr(base, "base", None)
        return False

    def state(self, copy: bool = True) -> dict[str, Any]:
        """A consistent copy of everything the index holds (taken under the lock). `copy=False` hands out
        views of the vectors and filter codes instead: only for a caller nothing else writes beside
        (start-up, before requests and the replication follower), where a copy is 146 MB at 100k answers."""
        take = np.copy if copy else np.asarray
        with self._lock:
            size = len(self._ids)
            out: dict[str, Any] = {
                "dim": self.dim, "lexical_weight": self.lexical_weight,
                "lexical_candidates": self.lexical_candidates, "ids": list(self._ids),
                "matrix": take(self._matrix[:size]), "values": {f: list(v) for f, v in self._values.items()},
                "codes": {f: take(c[:size]) for f, c in self._codes.items()},
                "graph": self._graph.save() if self._graph is not None else None,
                "lexical": self._lexical.export() if self._lexical is not None else None,
            }
        return out

    def restore(self, state: dict[str, Any], graph: Any = None, graph_view: bool = False) -> None:
        """Replace the contents by a `state()` (graph: a loaded usearch Index, or None for exact; `graph_view`:
        it is a read-only view of a file, copied into memory at the first write). The arrays are kept as
        given (a memory map stays one), not copied."""
        if state["dim"] != self.dim or bool(state["lexical"] is not None) != bool(self.lexical_weight):
            raise ValueError("the snapshot was made for another index configuration")
        with self._lock:
            self._reset()
            self.revision += 1
            self._ids = list(state["ids"])
            self._pos = {a: i for i, a in enumerate(self._ids) if a is not None}
            self._free = [i for i, a in enumerate(self._ids) if a is None][::-1]
            self._matrix = np.asarray(state["matrix"], dtype=np.float32)
            self._live = np.array([a is not None for a in self._ids], dtype=bool)
            self._values = {f: list(state["values"][f]) for f in FILTER_FIELDS}
            self._value_code = {f: {v: i for i, v in enumerate(vals)} for f, vals in self._values.items()}
            self._codes = {f: np.asarray(state["codes"][f], dtype=np.int32) for f in FILTER_FIELDS}
            if graph is not None:
                graph.expansion_search = self.ann.expansion_search
            self._graph = graph
            self._graph_view = graph is not None and graph_view
            if self._lexical is not None:
                self._lexical = LexicalIndex.restore(state["lexical"])
            if graph is None and len(self._pos) >= self.ann.min_answers:
                self._go_approximate()
