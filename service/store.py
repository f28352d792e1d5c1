"""The store: knowledge-base answers with their embeddings and feedback; the triage log, incidents,
threads and experts keep their tables here too (written through `Store.transaction`).

`Store(url_or_path)` opens a SQLite file (a bare path or `sqlite:///path`) or a PostgreSQL database
(`postgresql://...`, shared by replicas); service/db/backends.py has the two. Every write commits
before the API acknowledges it (SQLite: synchronous=FULL; PostgreSQL: synchronous_commit=on), so an
acknowledged write survives a crash (kill -9) of the server. The schema is the Alembic history in
service/db/migrations, brought to its head when the store opens.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from service.db import changes, migrate
from service.db.backends import open_backend
from service.db.url import SQLITE, StoreUrl, parse_store_url

ANSWER_FIELDS = ("id", "title", "question", "answer", "topic", "product", "url", "updated_at")
_ANSWER_COLUMNS = (*ANSWER_FIELDS, "extra", "embedding", "model_sha256")
_SELECT_COLUMNS = ",".join(_ANSWER_COLUMNS)  # every read of answers with their embeddings
UPSERT_ANSWER = (f"INSERT INTO answers ({','.join(_ANSWER_COLUMNS)}) VALUES ({','.join('?' * len(_ANSWER_COLUMNS))}) "
                 f"ON CONFLICT (id) DO UPDATE SET {', '.join(f'{c}=excluded.{c}' for c in _ANSWER_COLUMNS[1:])}")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Store:
    def __init__(self, location: str | Path | StoreUrl) -> None:
        self.url = location if isinstance(location, StoreUrl) else parse_store_url(location)
        self.path = self.url.path  # the SQLite file (None on PostgreSQL)
        self.dialect = self.url.dialect
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.revision = migrate.upgrade(self.url)
        self._db = open_backend(self.url)

    @property
    def schema_version(self) -> int:
        """The number of the newest applied migration (service/db/migrations/versions/NNNN_*.py)."""
        return int(self.revision)

    def migrate(self) -> None:
        self.revision = migrate.upgrade(self.url)

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """One write transaction (committed on exit, rolled back on error); the commit happens before
        the caller acknowledges anything. Feature modules (triage log, incidents, experts) keep their
        own tables in this store and write through this. The yielded connection takes `?` parameters."""
        with self._db.transaction() as conn:
            yield conn

    def advisory_lock(self, key: int) -> AbstractContextManager[None]:
        """Held by one process of all replicas on PostgreSQL; nothing on SQLite (one process owns the file)."""
        return self._db.advisory_lock(key)

    def record_change(self, conn: Any, kind: str, keys: list[str]) -> None:
        """Tell the other replicas (service/db/changes.py); call inside the write's transaction."""
        changes.record(conn, self.dialect, kind, keys)

    @property
    def shared(self) -> bool:
        """Whether other processes may write the same store (PostgreSQL)."""
        return self.dialect != SQLITE

    # answers -----------------------------------------------------------------
    def upsert_answers(self, answers: list[dict[str, Any]], embeddings: np.ndarray, model_sha: str) -> None:
        rows = []
        for a, e in zip(answers, embeddings, strict=True):
            extra = {k: v for k, v in a.items() if k not in ANSWER_FIELDS}
            rows.append((a["id"], a["title"], a.get("question"), a["answer"], a.get("topic"), a.get("product"),
                         a.get("url"), a.get("updated_at") or now_iso(), json.dumps(extra, ensure_ascii=False),
                         np.asarray(e, dtype=np.float32).tobytes(), model_sha))
        with self.transaction() as c:
            c.executemany(UPSERT_ANSWER, rows)
            self.record_change(c, changes.ANSWER, [r[0] for r in rows])

    def get_answer(self, answer_id: str) -> dict[str, Any] | None:
        rows = self.query(f"SELECT {','.join(ANSWER_FIELDS)}, extra FROM answers WHERE id=?", (answer_id,))
        return _answer_row(rows[0]) if rows else None

    def delete_answer(self, answer_id: str) -> bool:
        with self.transaction() as c:
            deleted = c.execute("DELETE FROM answers WHERE id=?", (answer_id,)).rowcount > 0
            if deleted:
                self.record_change(c, changes.ANSWER, [answer_id])
            return deleted

    def all_answers(self) -> tuple[list[dict[str, Any]], np.ndarray, set[str]]:
        """Answers, their embedding matrix and the model hashes they were embedded with."""
        return self._answers_with_embeddings(
            self.query(f"SELECT {_SELECT_COLUMNS} FROM answers ORDER BY id"))

    def answer_pages(self, size: int = 5_000) -> Iterator[tuple[list[dict[str, Any]], np.ndarray, list[str]]]:
        """All answers in pages of `size` by id (keyset: a page's rows may be rewritten while later pages
        are read): each page's answers, their embedding matrix and each row's model hash. Holds one page
        of rows at a time instead of every row at once (all_answers)."""
        last = ""
        page = f"SELECT {_SELECT_COLUMNS} FROM answers WHERE id > ? ORDER BY id LIMIT ?"
        while rows := self.query(page, (last, size)):
            answers, emb, _ = self._answers_with_embeddings(rows)
            yield answers, emb, [r[-1] for r in rows]
            last = answers[-1]["id"]

    def answers_by_id(self, ids: list[str]) -> tuple[list[dict[str, Any]], np.ndarray, set[str]]:
        """Like all_answers, for these ids (those that exist)."""
        rows: list[tuple] = []
        for i in range(0, len(ids), 500):
            part = ids[i:i + 500]
            rows += self.query(f"SELECT {_SELECT_COLUMNS} FROM answers "
                               f"WHERE id IN ({','.join('?' * len(part))}) ORDER BY id", tuple(part))
        return self._answers_with_embeddings(rows)

    @staticmethod
    def _answers_with_embeddings(rows: list[tuple]) -> tuple[list[dict[str, Any]], np.ndarray, set[str]]:
        answers = [_answer_row(r[:-2]) for r in rows]
        emb = np.stack([np.frombuffer(r[-2], dtype=np.float32) for r in rows]) if rows else None
        return answers, emb if emb is not None else np.zeros((0, 0), np.float32), {r[-1] for r in rows}

    def count_answers(self) -> int:
        return int(self.query("SELECT COUNT(*) FROM answers")[0][0])

    # feedback ----------------------------------------------------------------
    def add_feedback(self, post_id: str | None, role: str, payload: dict[str, Any]) -> int:
        with self.transaction() as c:
            cur = c.execute("INSERT INTO feedback (post_id, role, created_at, payload) VALUES (?,?,?,?) RETURNING id",
                            (post_id, role, now_iso(), json.dumps(payload, ensure_ascii=False)))
            return int(cur.fetchone()[0])

    def feedback(self) -> list[dict[str, Any]]:
        rows = self.query("SELECT id, post_id, role, created_at, payload FROM feedback ORDER BY id")
        return [{"id": r[0], "post_id": r[1], "role": r[2], "created_at": r[3], **json.loads(r[4])} for r in rows]

    def feedback_of(self, post_id: str, limit: int = 50) -> list[dict[str, Any]]:
        """The newest feedback rows about one post, newest first."""
        rows = self.query("SELECT id, post_id, role, created_at, payload FROM feedback WHERE post_id=? "
                          "ORDER BY id DESC LIMIT ?", (post_id, limit))
        return [{"id": r[0], "post_id": r[1], "role": r[2], "created_at": r[3], **json.loads(r[4])} for r in rows]

    def query(self, sql: str, params: tuple | dict = ()) -> list[tuple]:
        """Rows of a read-only statement (`?` parameters; readers never block the writer)."""
        return self._db.query(sql, params)

    def change_watermark(self) -> int:
        return changes.watermark(self.query)

    def close(self) -> None:
        self._db.close()


def _answer_row(row: tuple) -> dict[str, Any]:
    out = {k: v for k, v in zip(ANSWER_FIELDS, row[:len(ANSWER_FIELDS)], strict=True) if v is not None}
    out.update(json.loads(row[len(ANSWER_FIELDS)] or "{}"))
    return out
