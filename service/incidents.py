"""Incidents: online grouping of triaged posts into live incidents, kept in the store.

The detector (service.incident_detector) decides in memory; this module logs every triaged
post (service.triage_log), keeps the `incidents` table in step, builds the summaries and
answers the API. State survives a restart: at start the window and the open incidents are
rebuilt from the store. One lock serialises detection, routing and the write of a post, so
concurrent requests see a consistent window; the write commits before the answer is sent. On a
shared PostgreSQL store that lock is also an advisory lock across replicas, and each replica first
catches up with the posts and incidents the others wrote: one detector's decisions, whichever
replica runs them.

Time is stream time: `created_at` of the posts. Between posts the clock advances with the
wall clock, so the periodic maintenance closes quiet incidents in live traffic while a replay
(posts far older than now) still behaves like live traffic.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel

from models.redact import redact
from service import observability as obs
from service import triage_log
from service.incident_detector import Assignment, IncidentDetector, IncidentParams, OpenIncident
from service.incident_schemas import IncidentDetail, IncidentOut, IncidentPost, IncidentRef
from service.incident_summary import Background, summarize
from service.policy import Decision, PostFacts
from service.store import Store
from service.triage_log import LoggedPost, iso

log = logging.getLogger("wegwijzer.incidents")
SUMMARY_MEMBERS = 200  # most recent members a summary is built from
# On a shared (PostgreSQL) store the replicas detect incidents one at a time under this advisory lock,
# each first catching up with the posts and incident rows the others wrote (see IncidentService._section).
INCIDENT_LOCK = 0x5765_6777_0003


class IncidentNotFound(KeyError):
    pass


class IncidentClosed(ValueError):
    pass


@dataclass
class Row:
    """An incident as stored (open ones are also kept in memory)."""
    id: str
    status: str
    opened_ts: float
    last_seen_ts: float
    post_count: int
    author_count: int
    summary: str = ""
    terms: list[str] | None = None
    topic: str | None = None
    product: str | None = None
    representative: str | None = None
    status_message: str | None = None
    status_ts: float | None = None
    closed_ts: float | None = None
    closed_reason: str | None = None

    def ref(self) -> IncidentRef:
        return IncidentRef(id=self.id, summary=self.summary, post_count=self.post_count, opened_at=iso(self.opened_ts),
                           status_message=self.status_message)

    def out(self) -> IncidentOut:
        return IncidentOut(
            id=self.id, status=self.status, opened_at=iso(self.opened_ts),
            last_seen=iso(self.last_seen_ts), closed_at=iso(self.closed_ts) if self.closed_ts is not None else None,
            closed_reason=self.closed_reason, post_count=self.post_count,
            author_count=self.author_count, topic=self.topic, product=self.product, summary=self.summary,
            terms=self.terms or [], representative_post_id=self.representative, status_message=self.status_message,
            status_updated_at=iso(self.status_ts) if self.status_ts is not None else None)


COLUMNS = ("id, status, opened_ts, last_seen_ts, post_count, author_count, summary, terms, topic, product, "
           "representative, status_message, status_ts, closed_ts, closed_reason")


_COLS = [c.strip() for c in COLUMNS.split(",")] + ["updated_ts"]
SAVE = (f"INSERT INTO incidents ({', '.join(_COLS)}) VALUES ({','.join('?' * len(_COLS))}) "
        f"ON CONFLICT (id) DO UPDATE SET {', '.join(f'{c}=excluded.{c}' for c in _COLS[1:])}")


def _row(r: tuple) -> Row:
    return Row(r[0], r[1], r[2], r[3], r[4], r[5], r[6], json.loads(r[7] or "[]"), r[8], r[9], r[10], r[11], r[12],
               r[13], r[14])


def _save(conn: Any, row: Row) -> None:
    conn.execute(SAVE,
                 (row.id, row.status, row.opened_ts, row.last_seen_ts, row.post_count, row.author_count, row.summary,
                  json.dumps(row.terms or [], ensure_ascii=False), row.topic, row.product, row.representative,
                  row.status_message, row.status_ts, row.closed_ts, row.closed_reason, time.time()))


class IncidentService:
    def __init__(self, store: Store, dim: int, params: IncidentParams, salt: bytes, retention_days: float = 30,
                 recent_hours: float = 24) -> None:
        self.store, self.params, self.salt = store, params, salt
        self.retention_days, self.recent_hours = retention_days, recent_hours
        self.detector = IncidentDetector(dim, params, lambda: f"inc-{uuid.uuid4().hex[:12]}")
        self.background = Background()
        self.rows: dict[str, Row] = {}
        self._lock = threading.RLock()
        self._wall_at_clock = time.time()
        self._restore()

    # start -------------------------------------------------------------------
    def _restore(self) -> None:
        self._seen_seq = triage_log.latest_seq(self.store)
        latest = triage_log.latest_created(self.store)
        open_rows = [_row(r) for r in self.store.query(f"SELECT {COLUMNS} FROM incidents WHERE status='open'")]
        self.rows = {r.id: r for r in open_rows}
        incidents = [self._open_incident(r) for r in open_rows]
        posts = triage_log.since(self.store, latest - self.params.window_s) if latest is not None else []
        self.detector.restore(((p.post_id, p.created_ts, p.author_key, p.embedding, p.incident_id) for p in posts),
                              incidents)
        for p in posts:
            self._keep_payload(p)
        obs.INCIDENTS_OPEN.set(len(self.detector.open))
        if posts or open_rows:
            log.info("incidents: %d posts in the window, %d open incidents restored", len(posts), len(open_rows))

    def _open_incident(self, r: Row) -> OpenIncident:
        members = self.store.query("SELECT post_id, author_key FROM triage_log WHERE incident_id=? "
                                   "ORDER BY created_ts", (r.id,))
        return OpenIncident(r.id, r.opened_ts, r.last_seen_ts, [m[0] for m in members], {m[1] for m in members if m[1]})

    @contextmanager
    def _section(self) -> Iterator[None]:
        """Detection and incident edits, one at a time: in this process (the lock) and, on a shared store,
        across replicas (an advisory lock, after catching up with what the other replicas wrote)."""
        with self._lock, self.store.advisory_lock(INCIDENT_LOCK):
            if self.store.shared:
                self._catch_up()
            yield

    def _catch_up(self) -> None:
        """Posts logged by other replicas into the window (with the incident they were given), and the
        open incidents as stored: opened, closed, joined or given a status message elsewhere."""
        for seq, p in triage_log.after_seq(self.store, self._seen_seq):
            self.detector.absorb(p.post_id, p.created_ts, p.author_key, p.embedding, p.incident_id)
            self._keep_payload(p)
            self._seen_seq = seq
        stored = {r.id: r for r in (_row(x) for x in
                                    self.store.query(f"SELECT {COLUMNS} FROM incidents WHERE status='open'"))}
        for gone in [i for i in self.detector.open if i not in stored]:
            self.detector.close(gone)
        for r in stored.values():
            if r.id not in self.detector.open:
                self.detector.adopt(self._open_incident(r))
        self.rows = stored
        obs.INCIDENTS_OPEN.set(len(self.detector.open))

    def _keep_payload(self, p: LoggedPost) -> None:
        text = f"{p.title}\n{p.body}" if p.title else p.body
        self.detector.payload[p.post_id] = (text, p.labels.get("topic", {}).get("label"),
                                            p.labels.get("product", {}).get("label"))
        self.background.add(text)

    # triage ------------------------------------------------------------------
    def observe(self, post: Any, pred: dict, emb: np.ndarray, facts: PostFacts,
                decide: Callable[[PostFacts], Decision]) -> tuple[Decision, IncidentRef | None]:
        """Log one triaged post, assign it to an incident (or open one), route it with the incident
        known to the policy, and commit everything before returning."""
        decision, ref, _ = self.observe_and_respond(post, pred, emb, facts, decide)
        return decision, ref

    def observe_and_respond(self, post: Any, pred: dict, emb: np.ndarray, facts: PostFacts,
                            decide: Callable[[PostFacts], Decision],
                            respond: Callable[[Decision, IncidentRef | None], BaseModel] | None = None
                            ) -> tuple[Decision, IncidentRef | None, BaseModel | None]:
        """`observe`, and build the response with `respond(decision, incident)` before the write, so
        the log keeps the response as answered (without its `incident`, which the log holds apart)."""
        post_id = post.post_id or f"p-{uuid.uuid4().hex}"
        created_ts = triage_log.parse_time(post.created_at) if post.created_at else time.time()
        author = triage_log.author_key(self.salt, getattr(post.author, "id", None))
        labels = {h: {"label": p.label, "confidence": round(float(p.confidence), 4),
                      "uncertain": bool(getattr(p, "uncertain", False))} for h, p in pred.items()}
        logged = LoggedPost.of(post_id, created_ts, post.thread_id, author, post.title or "", post.body, labels,
                               "", [], emb)
        with self._section():
            stored = triage_log.get(self.store, post_id) if post.post_id else None
            if stored is not None and self.detector.embedding(post_id) is None:
                a = Assignment(stored.incident_id if stored.incident_id in self.detector.open else None)
            else:
                a = self.detector.add(post_id, created_ts, author, logged.embedding)
                if stored is None:
                    self._keep_payload(logged)
                else:
                    text = f"{logged.title}\n{logged.body}" if logged.title else logged.body
                    self.detector.payload[post_id] = (text, labels.get("topic", {}).get("label"),
                                                      labels.get("product", {}).get("label"))
            self._wall_at_clock = time.time()
            row = self._update_row(a) if a.incident_id else None
            facts.in_incident = row is not None
            facts.incident_has_status = bool(row and row.status_message)
            decision = decide(facts)
            ref = row.ref() if row else None
            response = respond(decision, ref) if respond is not None else None
            logged.route, logged.reasons, logged.incident_id = decision.target, decision.reasons, a.incident_id
            if response is not None:
                logged.result = response.model_dump(mode="json", exclude={"incident"})
            closed = [self._closed_row(i, "quiet") for i in a.closed]
            with self.store.transaction() as c:
                self._seen_seq = max(self._seen_seq, triage_log.write(c, logged))
                if a.incident_id and a.added:
                    triage_log.assign_incident(c, a.added, a.incident_id)
                for r in ([row] if row else []) + closed:
                    _save(c, r)
            for r in closed:
                self.rows.pop(r.id, None)
            if a.added:
                obs.INCIDENT_POSTS.inc(len(a.added))
            obs.INCIDENTS_OPEN.set(len(self.detector.open))
            return decision, ref, response

    def _update_row(self, a: Assignment) -> Row:
        inc = self.detector.open[a.incident_id]  # type: ignore[index]
        row = self.rows.get(inc.id)
        if row is None:
            row = self.rows[inc.id] = Row(inc.id, "open", inc.opened_ts, inc.last_seen_ts, 0, 0)
        row.last_seen_ts, row.opened_ts = inc.last_seen_ts, inc.opened_ts
        row.post_count, row.author_count = len(inc.members), len(inc.authors)
        if a.opened or (a.added and (row.post_count <= 10 or row.post_count % 10 == 0)):
            self._summarize(row, inc)
        return row

    def _summarize(self, row: Row, inc: OpenIncident) -> None:
        ids = [m for m in inc.members[-SUMMARY_MEMBERS:] if m in self.detector.payload]
        if not ids:
            return
        payload = [self.detector.payload[m] for m in ids]
        emb = np.stack([self.detector.embedding(m) for m in ids])  # type: ignore[misc]
        s = summarize(ids, [p[0] for p in payload], emb, [p[1] for p in payload], [p[2] for p in payload],
                      row.author_count, self.background)
        row.summary, row.terms, row.representative = s.text, s.terms, s.representative
        row.topic, row.product = s.topic, s.product

    def _closed_row(self, incident_id: str, reason: str) -> Row:
        row = self.rows.get(incident_id) or self.get_row(incident_id)
        row.status, row.closed_reason = "closed", reason
        row.closed_ts = row.last_seen_ts + self.params.quiet_s if reason == "quiet" else self.stream_now()
        return row

    # maintenance -------------------------------------------------------------
    def stream_now(self, wall: float | None = None) -> float:
        """The latest `created_at` seen, advanced by the wall time since it was seen."""
        clock = self.detector.clock
        if not np.isfinite(clock):
            return wall or time.time()
        return float(clock) + max(0.0, (wall or time.time()) - self._wall_at_clock)

    def maintain(self, wall: float | None = None) -> dict[str, int]:
        """Close quiet incidents and purge everything older than the retention period."""
        with self._section():
            closed = [self._closed_row(i, "quiet") for i in self.detector.close_quiet(self.stream_now(wall))]
            cutoff = (wall or time.time()) - self.retention_days * 86400
            with self.store.transaction() as c:
                for r in closed:
                    _save(c, r)
                incidents = c.execute("DELETE FROM incidents WHERE status='closed' AND updated_ts<?",
                                      (cutoff,)).rowcount
            for r in closed:
                self.rows.pop(r.id, None)
            posts = triage_log.purge(self.store, self.retention_days, wall)
            obs.INCIDENTS_OPEN.set(len(self.detector.open))
        return {"closed": len(closed), "purged_posts": posts, "purged_incidents": int(incidents)}

    # API ---------------------------------------------------------------------
    def get_row(self, incident_id: str) -> Row:
        rows = self.store.query(f"SELECT {COLUMNS} FROM incidents WHERE id=?", (incident_id,))
        if not rows:
            raise IncidentNotFound(incident_id)
        return _row(rows[0])

    def list(self, status: str | None = None, limit: int = 100) -> list[IncidentOut]:
        params: tuple[float, ...] = ()
        if status == "open":
            sql = "status='open'"
        elif status == "closed":
            sql = "status='closed'"
        else:  # open and recently closed
            sql, params = "status='open' OR closed_ts>=?", (self.stream_now() - self.recent_hours * 3600,)
        rows = self.store.query(f"SELECT {COLUMNS} FROM incidents WHERE {sql} ORDER BY opened_ts DESC, id LIMIT ?",
                                (*params, limit))
        return [_row(r).out() for r in rows]

    def detail(self, incident_id: str) -> IncidentDetail:
        row = self.get_row(incident_id)
        posts = [IncidentPost(post_id=p.post_id, created_at=iso(p.created_ts), thread_id=p.thread_id, title=p.title,
                              body=p.body, labels={h: v["label"] for h, v in p.labels.items()}, route=p.route)
                 for p in triage_log.of_incident(self.store, incident_id)]
        return IncidentDetail(**row.out().model_dump(), posts=posts)

    def set_status(self, incident_id: str, text: str) -> IncidentOut:
        with self._section():
            row = self.rows.get(incident_id) or self.get_row(incident_id)
            if row.status != "open":
                raise IncidentClosed(incident_id)
            row.status_message, row.status_ts = redact(text), time.time()
            with self.store.transaction() as c:
                _save(c, row)
            return row.out()

    def close(self, incident_id: str) -> IncidentOut:
        with self._section():
            row = self.rows.get(incident_id) or self.get_row(incident_id)
            if row.status == "open":
                self.detector.close(incident_id)
                row = self._closed_row(incident_id, "manual")
                with self.store.transaction() as c:
                    _save(c, row)
                self.rows.pop(incident_id, None)
                obs.INCIDENTS_OPEN.set(len(self.detector.open))
            return row.out()


async def maintenance_loop(service: IncidentService, interval_s: float) -> None:
    """Run `maintain` every `interval_s` seconds (in a worker thread) until cancelled."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            result = await asyncio.to_thread(service.maintain)
            if any(result.values()):
                log.info("incident maintenance: %s", result)
        except Exception:  # noqa: BLE001 - keep the loop alive; the error is logged
            log.exception("incident maintenance failed")


def build_incident_service(store: Store, settings: Any, dim: int) -> IncidentService:
    """The service's incident tracking from the settings (thresholds, retention, author salt)."""
    params = IncidentParams(similarity=settings.incident_similarity,
                            join_similarity=settings.incident_join_similarity,
                            min_authors=settings.incident_min_authors,
                            window_s=settings.incident_window_minutes * 60,
                            quiet_s=settings.incident_quiet_minutes * 60)
    configured = settings.author_salt.get_secret_value() if settings.author_salt is not None else None
    return IncidentService(store, dim, params, triage_log.author_salt(store, configured),
                           settings.post_retention_days, settings.incident_recent_hours)
