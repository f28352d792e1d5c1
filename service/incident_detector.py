"""Online incident detection over a sliding window of post embeddings (pure, no I/O).

Posts arrive with a time (`created_at`, so a replayed history behaves like live traffic), an
author key and a normalised retrieval embedding. The window keeps the last `window_s` seconds
of posts as one float32 matrix, so checking a new post is one matrix-vector product:

* near = posts in the window (|Δt| ≤ window) with cosine ≥ `similarity`;
* if a near post (cosine ≥ `join_similarity`) belongs to an open incident, the post joins the
  incident of its most similar such post;
* otherwise, if the near posts not yet in an incident plus the new post come from at least
  `min_authors` distinct authors, an incident opens with all of them as members (posts without
  an author count for no author: a lone or anonymous poster never opens one);
* an open incident closes when no post joined it for `quiet_s` seconds of stream time.

Thresholds are chosen on a labelled stream (`python -m eval incidents-tune`), not here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from threadpoolctl import ThreadpoolController

# One BLAS thread for the window product: measured under load, a 2-thread sgemv over 10,000 x 384
# took 27-37 ms wall against 6 ms for one thread (`python -m bench.incidents`), and the service's
# onnxruntime threads already use the cores.
_BLAS = ThreadpoolController()


@dataclass(frozen=True)
class IncidentParams:
    similarity: float = 0.9
    join_similarity: float = 0.9
    min_authors: int = 3
    window_s: float = 3600.0
    quiet_s: float = 7200.0

    def __post_init__(self) -> None:
        if self.min_authors < 2:
            raise ValueError("min_authors must be at least 2 (one author is never an incident)")
        if self.window_s <= 0 or self.quiet_s <= 0:
            raise ValueError("window_s and quiet_s must be positive")
        if not -1 <= self.join_similarity <= 1 or not -1 <= self.similarity <= 1:
            raise ValueError("similarities are cosines in [-1, 1]")


@dataclass
class OpenIncident:
    id: str
    opened_ts: float
    last_seen_ts: float
    members: list[str] = field(default_factory=list)
    authors: set[str] = field(default_factory=set)


@dataclass
class Assignment:
    """What adding one post did: the incident it belongs to (or None), whether that incident
    was opened by this post, the posts newly assigned (the post itself and, on opening, its
    near neighbours) and the incidents closed by the clock moving on."""
    incident_id: str | None
    opened: bool = False
    added: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)


class IncidentDetector:
    def __init__(self, dim: int, params: IncidentParams, new_id: Callable[[], str], capacity: int = 1024,
                 blas_threads: int | None = 1) -> None:
        self.dim, self.params, self.new_id = dim, params, new_id
        self.blas_threads = blas_threads
        self._emb = np.zeros((capacity, dim), np.float32)
        self._ts = np.full(capacity, -np.inf)
        self._n = 0
        self._post: list[str] = []
        self._author: list[str | None] = []
        self._incident: list[str | None] = []
        self.payload: dict[str, Any] = {}  # post id -> what the caller keeps for a window post (text, labels)
        self._slot: dict[str, int] = {}
        self.open: dict[str, OpenIncident] = {}
        self.clock = -np.inf

    def __len__(self) -> int:
        return len(self._slot)

    # window ------------------------------------------------------------------
    def _append(self, post_id: str, ts: float, author: str | None, emb: np.ndarray, incident: str | None) -> None:
        if self._n == len(self._emb):
            self._compact()
        if self._n == len(self._emb):
            grown = np.zeros((2 * len(self._emb), self.dim), np.float32)
            grown[:self._n] = self._emb[:self._n]
            times = np.full(2 * len(self._emb), -np.inf)
            times[:self._n] = self._ts[:self._n]
            self._emb, self._ts = grown, times
        i = self._n
        self._emb[i], self._ts[i] = emb, ts
        self._post.append(post_id)
        self._author.append(author)
        self._incident.append(incident)
        self._slot[post_id] = i
        self._n += 1

    def _compact(self) -> None:
        """Drop posts that fell out of the window (amortised: only when the matrix is full)."""
        keep = np.flatnonzero(self._ts[:self._n] >= self.clock - self.params.window_s)
        if len(keep) == self._n:
            return
        for i in np.flatnonzero(self._ts[:self._n] < self.clock - self.params.window_s):
            pid = self._post[i]
            self._slot.pop(pid, None)
            self.payload.pop(pid, None)
        m = len(keep)
        self._emb[:m], self._ts[:m] = self._emb[keep], self._ts[keep]
        self._ts[m:] = -np.inf
        self._post = [self._post[i] for i in keep]
        self._author = [self._author[i] for i in keep]
        self._incident = [self._incident[i] for i in keep]
        self._slot = {p: j for j, p in enumerate(self._post)}
        self._n = m

    def window_posts(self) -> list[str]:
        lo = self.clock - self.params.window_s
        return [p for p, i in self._slot.items() if self._ts[i] >= lo]

    def embedding(self, post_id: str) -> np.ndarray | None:
        i = self._slot.get(post_id)
        return None if i is None else self._emb[i]

    def incident_of(self, post_id: str) -> str | None:
        i = self._slot.get(post_id)
        return None if i is None else self._incident[i]

    # detection ---------------------------------------------------------------
    def add(self, post_id: str, ts: float, author: str | None, emb: np.ndarray) -> Assignment:
        p = self.params
        emb = np.asarray(emb, np.float32).reshape(-1)
        if post_id in self._slot:  # re-sent post: new text and time, same membership
            i = self._slot[post_id]
            self._emb[i], self._ts[i], self._author[i] = emb, ts, author
            inc = self._incident[i]
            if inc in self.open:
                self.open[inc].last_seen_ts = max(self.open[inc].last_seen_ts, ts)
            return Assignment(inc if inc in self.open else None)
        self.clock = max(self.clock, ts)
        closed = self.close_quiet(self.clock)
        n = self._n
        if self.blas_threads is None:
            sims = self._emb[:n] @ emb
        else:
            with _BLAS.limit(limits=self.blas_threads, user_api="blas"):
                sims = self._emb[:n] @ emb
        in_time = np.abs(self._ts[:n] - ts) <= p.window_s
        joinable = np.flatnonzero(in_time & (sims >= p.join_similarity))
        best = None
        for k in joinable[np.argsort(-sims[joinable], kind="stable")].tolist():  # most similar first
            if self._incident[k] in self.open:
                best = self._incident[k]
                break
        if best is not None:
            self._append(post_id, ts, author, emb, best)
            o = self.open[best]
            o.members.append(post_id)
            if author is not None:
                o.authors.add(author)
            o.last_seen_ts = max(o.last_seen_ts, ts)
            return Assignment(best, added=[post_id], closed=closed)
        near = [k for k in np.flatnonzero(in_time & (sims >= p.similarity)).tolist() if self._incident[k] is None]
        authors = {self._author[i] for i in near} | {author}
        authors.discard(None)
        if len(authors) < p.min_authors:
            self._append(post_id, ts, author, emb, None)
            return Assignment(None, closed=closed)
        inc_id = self.new_id()
        members = [self._post[i] for i in near] + [post_id]
        for j in near:
            self._incident[j] = inc_id
        self._append(post_id, ts, author, emb, inc_id)
        first = min([float(self._ts[i]) for i in near] + [ts])
        self.open[inc_id] = OpenIncident(inc_id, first, max([float(self._ts[i]) for i in near] + [ts]), members,
                                         {a for a in authors if a is not None})
        return Assignment(inc_id, opened=True, added=members, closed=closed)

    def close_quiet(self, now: float) -> list[str]:
        quiet = [i for i, o in self.open.items() if o.last_seen_ts < now - self.params.quiet_s]
        for i in quiet:
            del self.open[i]
        return quiet

    def close(self, incident_id: str) -> bool:
        return self.open.pop(incident_id, None) is not None

    # replicas ----------------------------------------------------------------
    def absorb(self, post_id: str, ts: float, author: str | None, emb: np.ndarray, incident: str | None) -> None:
        """A post another process already decided (with the incident it was given): into the window, no detection."""
        emb = np.asarray(emb, np.float32).reshape(-1)
        self.clock = max(self.clock, ts)
        i = self._slot.get(post_id)
        if i is None:
            self._append(post_id, ts, author, emb, incident)
        else:
            self._emb[i], self._ts[i], self._author[i] = emb, ts, author
            self._incident[i] = incident or self._incident[i]
        o = self.open.get(incident) if incident is not None else None
        if o is not None:
            if post_id not in o.members:
                o.members.append(post_id)
            if author is not None:
                o.authors.add(author)
            o.last_seen_ts = max(o.last_seen_ts, ts)

    def adopt(self, incident: OpenIncident) -> None:
        """An incident another process opened: open here too, its members in the window marked."""
        self.open[incident.id] = incident
        for post_id in incident.members:
            i = self._slot.get(post_id)
            if i is not None:
                self._incident[i] = incident.id

    # restart -----------------------------------------------------------------
    def restore(self, posts: Iterable[tuple[str, float, str | None, np.ndarray, str | None]],
                incidents: Iterable[OpenIncident]) -> None:
        """Rebuild from stored posts (post id, time, author, embedding, incident) and open incidents."""
        for inc in incidents:
            self.open[inc.id] = inc
        for post_id, ts, author, emb, incident in sorted(posts, key=lambda r: r[1]):
            self.clock = max(self.clock, ts)
            self._append(post_id, ts, author, np.asarray(emb, np.float32), incident)
