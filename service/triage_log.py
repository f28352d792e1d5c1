"""The triage log: every triaged post, kept for `post_retention_days` in the store's
`triage_log` table (schema: the Alembic history in service/db/migrations).

Kept per post: the post id, `created_at` (from the request, else the server's time), the
thread id, the REDACTED title and body (models.redact), the predicted labels with their
confidences (and whether the head abstained), the route and its reasons, the retrieval
embedding, the incident it belongs to, an author key: HMAC-SHA256 of the author id under a
secret salt (never the id itself), and the triage response as answered (`result`: every
head's alternatives, rules fired, explanation, suggestions, experts; no post text).
Rows older than the retention period (by the time they were stored) are purged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from models.redact import redact
from service.db.url import POSTGRESQL, SQLITE
from service.store import Store

SALT_KEY = "author_salt"


def parse_time(value: str) -> float:
    """ISO 8601 → POSIX seconds; a time without an offset is taken as UTC."""
    dt = datetime.fromisoformat(value)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


MAX_FUTURE_S = 86400


def check_time(value: str) -> str:
    """Validate a request's `created_at`: ISO 8601, not more than a day in the future."""
    try:
        ts = parse_time(value)
    except ValueError as exc:
        raise ValueError(f"not an ISO 8601 date-time (e.g. 2026-11-20T09:14:00+01:00): {value!r}") from exc
    if ts > time.time() + MAX_FUTURE_S:
        raise ValueError("lies more than a day in the future")
    return value


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def author_salt(store: Store, configured: str | None) -> bytes:
    """The configured salt, else one generated once and kept in the store (stable across restarts)."""
    if configured:
        return configured.encode("utf-8")
    rows = store.query("SELECT value FROM triage_meta WHERE key=?", (SALT_KEY,))
    if rows:
        return str(rows[0][0]).encode("utf-8")
    salt = secrets.token_hex(32)
    with store.transaction() as c:
        c.execute("INSERT INTO triage_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING", (SALT_KEY, salt))
    return str(store.query("SELECT value FROM triage_meta WHERE key=?", (SALT_KEY,))[0][0]).encode("utf-8")


def author_key(salt: bytes, author_id: str | None) -> str | None:
    if not author_id:
        return None
    return hmac.new(salt, author_id.encode("utf-8"), hashlib.sha256).hexdigest()


@dataclass
class LoggedPost:
    post_id: str
    created_ts: float
    thread_id: str | None
    author_key: str | None
    title: str
    body: str
    labels: dict[str, dict[str, Any]]  # head -> {"label", "confidence", "uncertain"}
    route: str
    reasons: list[str]
    embedding: np.ndarray
    incident_id: str | None = None
    result: dict[str, Any] | None = None  # the triage response without the incident (None: not recorded)

    @classmethod
    def of(cls, post_id: str, created_ts: float, thread_id: str | None, author: str | None, title: str, body: str,
           labels: dict[str, dict[str, Any]], route: str, reasons: list[str], embedding: np.ndarray,
           incident_id: str | None = None) -> LoggedPost:
        """Redacts the text: nothing personal reaches the store."""
        return cls(post_id, created_ts, thread_id, author, redact(title), redact(body), labels, route, reasons,
                   np.asarray(embedding, np.float32), incident_id)


UPSERT = """
INSERT INTO triage_log (post_id, created_ts, stored_ts, thread_id, author_key, title, body, labels, route, reasons,
                        embedding, incident_id, result, seq)
VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM triage_log))
ON CONFLICT(post_id) DO UPDATE SET created_ts=excluded.created_ts, stored_ts=excluded.stored_ts,
    thread_id=excluded.thread_id, author_key=excluded.author_key, title=excluded.title, body=excluded.body,
    labels=excluded.labels, route=excluded.route, reasons=excluded.reasons, embedding=excluded.embedding,
    incident_id=COALESCE(excluded.incident_id, triage_log.incident_id), result=excluded.result, seq=excluded.seq
RETURNING seq
"""


def write(conn: Any, post: LoggedPost, stored_ts: float | None = None) -> int:
    """Insert or update (same post id: update, never a duplicate); run inside Store.transaction().
    Returns the post's `seq`: the order of writes, by which other replicas' incident detectors
    catch up (unique because every write runs under the incident lock, service/incidents.py)."""
    cur = conn.execute(UPSERT, (post.post_id, post.created_ts, stored_ts or time.time(), post.thread_id,
                                post.author_key, post.title, post.body, json.dumps(post.labels, ensure_ascii=False),
                                post.route, json.dumps(post.reasons), post.embedding.tobytes(), post.incident_id,
                                None if post.result is None else json.dumps(post.result, ensure_ascii=False)))
    return int(cur.fetchone()[0])


def assign_incident(conn: Any, post_ids: list[str], incident_id: str) -> None:
    conn.executemany("UPDATE triage_log SET incident_id=? WHERE post_id=?", [(incident_id, p) for p in post_ids])


COLUMNS = ("post_id, created_ts, thread_id, author_key, title, body, labels, route, reasons, embedding, incident_id, "
           "result")


def _row(r: tuple) -> LoggedPost:
    return LoggedPost(r[0], float(r[1]), r[2], r[3], r[4], r[5], json.loads(r[6]), r[7], json.loads(r[8]),
                      np.frombuffer(r[9], dtype=np.float32), r[10], json.loads(r[11]) if r[11] else None)


def get(store: Store, post_id: str) -> LoggedPost | None:
    rows = store.query(f"SELECT {COLUMNS} FROM triage_log WHERE post_id=?", (post_id,))
    return _row(rows[0]) if rows else None


def since(store: Store, created_ts: float) -> list[LoggedPost]:
    """Posts created at or after `created_ts` (the incident window at start)."""
    return [_row(r) for r in store.query(f"SELECT {COLUMNS} FROM triage_log WHERE created_ts>=? ORDER BY created_ts",
                                         (created_ts,))]


def of_incident(store: Store, incident_id: str) -> list[LoggedPost]:
    return [_row(r) for r in store.query(f"SELECT {COLUMNS} FROM triage_log WHERE incident_id=? "
                                         "ORDER BY created_ts", (incident_id,))]


def after_seq(store: Store, seq: int) -> list[tuple[int, LoggedPost]]:
    """Posts written after `seq` (by any replica), in write order."""
    return [(int(r[-1]), _row(r[:-1])) for r in
            store.query(f"SELECT {COLUMNS}, seq FROM triage_log WHERE seq>? ORDER BY seq", (seq,))]


def latest_seq(store: Store) -> int:
    rows = store.query("SELECT MAX(seq) FROM triage_log")
    return int(rows[0][0] or 0) if rows else 0


def latest_created(store: Store) -> float | None:
    rows = store.query("SELECT MAX(created_ts) FROM triage_log")
    return None if not rows or rows[0][0] is None else float(rows[0][0])


def purge(store: Store, retention_days: float, now: float | None = None) -> int:
    """Delete posts stored longer ago than the retention period; returns how many."""
    cutoff = (now or time.time()) - retention_days * 86400
    with store.transaction() as c:
        return int(c.execute("DELETE FROM triage_log WHERE stored_ts<?", (cutoff,)).rowcount)


# Listing for the console's inbox (newest triaged first, keyset pagination) ----------------------
@dataclass(frozen=True)
class Cursor:
    """A position in the newest-first order: (stored_ts, post_id); written as `<stored_ts>~<post_id>`."""
    stored_ts: float
    post_id: str

    def __str__(self) -> str:
        return f"{self.stored_ts!r}~{self.post_id}"

    @classmethod
    def parse(cls, text: str) -> Cursor:
        ts, sep, post_id = text.partition("~")
        if not sep or not post_id:
            raise ValueError("expected <stored_ts>~<post_id>")
        value = float(ts)
        if not np.isfinite(value):
            raise ValueError("stored_ts must be finite")
        return cls(value, post_id)


@dataclass
class LogFilter:
    route: str | None = None
    labels: dict[str, str] = field(default_factory=dict)  # head -> label, e.g. {"topic": "network"}
    uncertain_only: bool = False  # at least one head abstained (confidence below its threshold)
    in_incident: bool = False
    incident_id: str | None = None  # only the posts of this incident


@dataclass
class Listed:
    """A logged post as the inbox lists it (no embedding, the body cut to a preview)."""
    post_id: str
    created_ts: float
    stored_ts: float
    title: str
    preview: str
    labels: dict[str, dict[str, Any]]
    route: str
    reasons: list[str]
    incident_id: str | None

    @property
    def cursor(self) -> Cursor:
        return Cursor(self.stored_ts, self.post_id)


# `labels` is JSON as TEXT on both stores; the two filters that look inside it, per dialect
_LABEL_IS = {SQLITE: "json_extract(labels, ?)=?",  # ? = '$."<head>".label', ? = label
             POSTGRESQL: "(labels::jsonb -> (?::text) ->> 'label')=?"}  # ? = head, ? = label
_ANY_UNCERTAIN = {
    SQLITE: "EXISTS (SELECT 1 FROM json_each(triage_log.labels) AS h WHERE json_extract(h.value, '$.uncertain')=1)",
    POSTGRESQL: "EXISTS (SELECT 1 FROM jsonb_each(triage_log.labels::jsonb) AS h "
                "WHERE h.value -> 'uncertain' = 'true'::jsonb)",
}
# created_ts / bucket rounded down (CAST truncates in SQLite, rounds in PostgreSQL; created_ts >= 0)
_BUCKET = {SQLITE: "CAST(created_ts / ? AS INTEGER)", POSTGRESQL: "CAST(FLOOR(created_ts / ?) AS BIGINT)"}


def recent(store: Store, flt: LogFilter, before: Cursor | None = None, after: Cursor | None = None,
           limit: int = 50, preview_chars: int = 240) -> list[Listed]:
    """The newest triaged posts (by the time they were logged) matching `flt`: older than `before`
    (next page) or newer than `after` (live update), newest first, at most `limit`. Walks the
    stored_ts index, so a page costs the same with 10 or 10,000 posts in the log."""
    where: list[str] = []
    params: list[Any] = []
    if flt.route:
        where.append("route=?")
        params.append(flt.route)
    for head, label in sorted(flt.labels.items()):
        if not head.isidentifier():
            raise ValueError(f"head {head!r} is not a plain name")
        where.append(_LABEL_IS[store.dialect])
        params += [f'$."{head}".label' if store.dialect == SQLITE else head, label]
    if flt.uncertain_only:
        where.append(_ANY_UNCERTAIN[store.dialect])
    if flt.in_incident:
        where.append("incident_id IS NOT NULL")
    if flt.incident_id is not None:
        where.append("incident_id=?")
        params.append(flt.incident_id)
    if before is not None:
        where.append("(stored_ts<? OR (stored_ts=? AND post_id<?))")
        params += [before.stored_ts, before.stored_ts, before.post_id]
    if after is not None:
        where.append("(stored_ts>? OR (stored_ts=? AND post_id>?))")
        params += [after.stored_ts, after.stored_ts, after.post_id]
    sql = ("SELECT post_id, created_ts, stored_ts, title, substr(body, 1, ?), labels, route, reasons, incident_id "
           f"FROM triage_log {'WHERE ' + ' AND '.join(where) if where else ''} "
           "ORDER BY stored_ts DESC, post_id DESC LIMIT ?")
    rows = store.query(sql, (preview_chars, *params, limit))
    return [Listed(r[0], float(r[1]), float(r[2]), r[3], r[4], json.loads(r[5]), r[6], json.loads(r[7]), r[8])
            for r in rows]


def incident_histogram(store: Store, incident_ids: list[str], bucket_s: float = 600) -> dict[str, dict[int, int]]:
    """Posts per `bucket_s` (by created_at) of each incident: {incident_id: {bucket index: count}}."""
    if not incident_ids:
        return {}
    marks = ",".join("?" * len(incident_ids))
    rows = store.query(f"SELECT incident_id, {_BUCKET[store.dialect]} AS b, COUNT(*) FROM triage_log "
                       f"WHERE incident_id IN ({marks}) GROUP BY incident_id, b", (bucket_s, *incident_ids))
    out: dict[str, dict[int, int]] = {i: {} for i in incident_ids}
    for incident_id, bucket, count in rows:
        out[incident_id][int(bucket)] = int(count)
    return out
