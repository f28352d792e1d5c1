"""SQLite store (WAL mode) for knowledge-base answers with their embeddings and for feedback.

Every write commits before the API acknowledges it, with `synchronous=FULL`,
so an acknowledged write survives a crash (kill -9) of the server.
The schema is versioned; `MIGRATIONS[i]` upgrades version i to i+1.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

MIGRATIONS: list[str] = [
    """
    CREATE TABLE answers (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        question TEXT,
        answer TEXT NOT NULL,
        topic TEXT,
        product TEXT,
        url TEXT,
        updated_at TEXT NOT NULL,
        extra TEXT NOT NULL DEFAULT '{}',
        embedding BLOB NOT NULL,
        model_sha256 TEXT NOT NULL
    );
    CREATE TABLE feedback (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        post_id TEXT,
        role TEXT NOT NULL,
        created_at TEXT NOT NULL,
        payload TEXT NOT NULL
    );
    """,
    # issue 14: imported forum threads (service/threads.py) and expert records (service/experts.py)
    """
    CREATE TABLE threads (
        thread_id TEXT PRIMARY KEY,
        content_sha256 TEXT NOT NULL,
        created_at TEXT NOT NULL,
        route TEXT,
        topic TEXT,
        product TEXT,
        labelled INTEGER NOT NULL,
        first_answer_s REAL,
        solution_s REAL,
        answer_id TEXT,
        solver_id TEXT,
        solver_role TEXT,
        solver_reply_s REAL,
        solver_last_at TEXT,
        imported_at TEXT NOT NULL
    );
    CREATE INDEX threads_solver ON threads (solver_id);
    CREATE TABLE experts (
        id TEXT PRIMARY KEY,
        name TEXT,
        name_by_hand INTEGER NOT NULL DEFAULT 0,
        role TEXT NOT NULL,
        available INTEGER NOT NULL DEFAULT 1,
        max_open INTEGER,
        open_questions INTEGER NOT NULL DEFAULT 0,
        specialities TEXT NOT NULL DEFAULT '[]',
        updated_at TEXT NOT NULL
    );
    """,
    # issue 13: the triage log (service/triage_log.py) and incidents (service/incidents.py)
    """
    CREATE TABLE triage_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE triage_log (
        post_id TEXT PRIMARY KEY,
        created_ts REAL NOT NULL,
        stored_ts REAL NOT NULL,
        thread_id TEXT,
        author_key TEXT,
        title TEXT NOT NULL,
        body TEXT NOT NULL,
        labels TEXT NOT NULL,
        route TEXT NOT NULL,
        reasons TEXT NOT NULL,
        embedding BLOB NOT NULL,
        incident_id TEXT
    );
    CREATE INDEX triage_log_created ON triage_log (created_ts);
    CREATE INDEX triage_log_stored ON triage_log (stored_ts);
    CREATE INDEX triage_log_incident ON triage_log (incident_id);
    CREATE TABLE incidents (
        id TEXT PRIMARY KEY,
        status TEXT NOT NULL CHECK (status IN ('open', 'closed')),
        opened_ts REAL NOT NULL,
        last_seen_ts REAL NOT NULL,
        post_count INTEGER NOT NULL,
        author_count INTEGER NOT NULL,
        summary TEXT NOT NULL,
        terms TEXT NOT NULL DEFAULT '[]',
        topic TEXT,
        product TEXT,
        representative TEXT,
        status_message TEXT,
        status_ts REAL,
        closed_ts REAL,
        closed_reason TEXT,
        updated_ts REAL NOT NULL
    );
    CREATE INDEX incidents_opened ON incidents (opened_ts);
    """,
    # issue 15: the console shows a logged post as it was answered (every head's alternatives, the rules
    # that fired, the suggestions and experts): the triage response without the incident, as JSON; and a
    # post's earlier corrections
    """
    ALTER TABLE triage_log ADD COLUMN result TEXT;
    CREATE INDEX feedback_post ON feedback (post_id);
    """,
]
ANSWER_FIELDS = ("id", "title", "question", "answer", "topic", "product", "url", "updated_at")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Store:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self.migrate()

    @property
    def schema_version(self) -> int:
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self) -> None:
        with self._lock:
            version = self.schema_version
            for target in range(version, len(MIGRATIONS)):
                self._conn.executescript("BEGIN;" + MIGRATIONS[target] + f"PRAGMA user_version={target + 1};COMMIT;")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE ... COMMIT, rolled back on error); the commit
        happens before the caller acknowledges anything. Feature modules (triage log, incidents,
        experts) keep their own tables in this store and write through this."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    # answers -----------------------------------------------------------------
    def upsert_answers(self, answers: list[dict[str, Any]], embeddings: np.ndarray, model_sha: str) -> None:
        rows = []
        for a, e in zip(answers, embeddings, strict=True):
            extra = {k: v for k, v in a.items() if k not in ANSWER_FIELDS}
            rows.append((a["id"], a["title"], a.get("question"), a["answer"], a.get("topic"), a.get("product"),
                         a.get("url"), a.get("updated_at") or now_iso(), json.dumps(extra, ensure_ascii=False),
                         np.asarray(e, dtype=np.float32).tobytes(), model_sha))
        with self.transaction() as c:
            c.executemany("INSERT OR REPLACE INTO answers VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)

    def get_answer(self, answer_id: str) -> dict[str, Any] | None:
        row = self._conn.execute(f"SELECT {','.join(ANSWER_FIELDS)}, extra FROM answers WHERE id=?",
                                 (answer_id,)).fetchone()
        return None if row is None else _answer_row(row)

    def delete_answer(self, answer_id: str) -> bool:
        with self.transaction() as c:
            return c.execute("DELETE FROM answers WHERE id=?", (answer_id,)).rowcount > 0

    def all_answers(self) -> tuple[list[dict[str, Any]], np.ndarray, set[str]]:
        """Answers, their embedding matrix and the model hashes they were embedded with."""
        rows = self._conn.execute(
            f"SELECT {','.join(ANSWER_FIELDS)}, extra, embedding, model_sha256 FROM answers ORDER BY id").fetchall()
        answers = [_answer_row(r[:-2]) for r in rows]
        emb = np.stack([np.frombuffer(r[-2], dtype=np.float32) for r in rows]) if rows else None
        return answers, emb if emb is not None else np.zeros((0, 0), np.float32), {r[-1] for r in rows}

    def count_answers(self) -> int:
        return int(self._conn.execute("SELECT COUNT(*) FROM answers").fetchone()[0])

    # feedback ----------------------------------------------------------------
    def add_feedback(self, post_id: str | None, role: str, payload: dict[str, Any]) -> int:
        with self.transaction() as c:
            cur = c.execute("INSERT INTO feedback (post_id, role, created_at, payload) VALUES (?,?,?,?)",
                            (post_id, role, now_iso(), json.dumps(payload, ensure_ascii=False)))
            return int(cur.lastrowid or 0)

    def feedback(self) -> list[dict[str, Any]]:
        rows = self._conn.execute("SELECT id, post_id, role, created_at, payload FROM feedback ORDER BY id")
        return [{"id": r[0], "post_id": r[1], "role": r[2], "created_at": r[3], **json.loads(r[4])} for r in rows]

    def feedback_of(self, post_id: str, limit: int = 50) -> list[dict[str, Any]]:
        """The newest feedback rows about one post, newest first."""
        rows = self._conn.execute("SELECT id, post_id, role, created_at, payload FROM feedback WHERE post_id=? "
                                  "ORDER BY id DESC LIMIT ?", (post_id, limit))
        return [{"id": r[0], "post_id": r[1], "role": r[2], "created_at": r[3], **json.loads(r[4])} for r in rows]

    def query(self, sql: str, params: tuple | dict = ()) -> list[tuple]:
        """Rows of a read-only statement (WAL: readers never block the writer)."""
        return self._conn.execute(sql, params).fetchall()

    def close(self) -> None:
        self._conn.close()


def _answer_row(row: tuple) -> dict[str, Any]:
    out = {k: v for k, v in zip(ANSWER_FIELDS, row[:len(ANSWER_FIELDS)], strict=True) if v is not None}
    out.update(json.loads(row[len(ANSWER_FIELDS)] or "{}"))
    return out
