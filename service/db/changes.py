"""The change feed: what other replicas must apply to their in-memory state.

Every write of state that replicas hold in memory appends `(kind, key)` to `changes` in the same
transaction. Kinds: `answer` (key: answer id; the index), `experts` and `threads` (the expert
directory and response history). On PostgreSQL the append first takes a transaction-level advisory
lock, so `seq` values commit in order (a follower that has seen seq n has seen every change < n),
and NOTIFY tells the followers (delivered at commit, never before).
"""

from __future__ import annotations

import time
from typing import Any

CHANNEL = "wegwijzer_changes"
CHANGES_LOCK = 0x5765_6777_0002
ANSWER, EXPERTS, THREADS = "answer", "experts", "threads"


def record(conn: Any, dialect: str, kind: str, keys: list[str]) -> None:
    """Append one change per key; call inside the write's transaction."""
    if not keys:
        return
    if dialect == "postgresql":
        conn.execute("SELECT pg_advisory_xact_lock(?)", (CHANGES_LOCK,))
    now = time.time()
    conn.executemany("INSERT INTO changes (kind, key, ts) VALUES (?, ?, ?)", [(kind, k, now) for k in keys])
    if dialect == "postgresql":
        conn.execute("SELECT pg_notify(?, ?)", (CHANNEL, kind))


def watermark(query: Any) -> int:
    """The newest change's seq (0 when none); `query` is Store.query."""
    rows = query("SELECT MAX(seq) FROM changes")
    return int(rows[0][0] or 0) if rows else 0


def since(query: Any, seq: int, limit: int = 10_000) -> list[tuple[int, str, str]]:
    return [(int(r[0]), r[1], r[2]) for r in
            query("SELECT seq, kind, key FROM changes WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit))]
