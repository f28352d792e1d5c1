"""The two connection backends behind `service.store.Store`.

Both take the same SQL: `?` placeholders and the SQL both engines share (ON CONFLICT ... DO UPDATE,
RETURNING). PostgreSQL gets `?` rewritten to `%s` and a literal `%` to `%%` (the store's SQL has no `?` in literals).

* SQLite: one connection in WAL mode with synchronous=FULL, writes serialised by a lock
  (BEGIN IMMEDIATE ... COMMIT): a commit is on disk before the caller acknowledges it.
* PostgreSQL: a psycopg pool; each transaction commits with synchronous_commit=on (the commit
  is flushed to the WAL before COMMIT returns) before the caller acknowledges it.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, Protocol

from service.db.url import SQLITE, StoreUrl


class Backend(Protocol):
    dialect: str

    def transaction(self) -> Any: ...  # context manager yielding an object with execute/executemany

    def query(self, sql: str, params: tuple | dict = ()) -> list[tuple]: ...

    def advisory_lock(self, key: int) -> Any: ...  # context manager

    def close(self) -> None: ...


class SqliteBackend:
    dialect = SQLITE

    def __init__(self, url: StoreUrl) -> None:
        assert url.path is not None
        url.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(url.path), check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute("PRAGMA foreign_keys=ON")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def query(self, sql: str, params: tuple | dict = ()) -> list[tuple]:
        return self._conn.execute(sql, params).fetchall()

    @contextmanager
    def advisory_lock(self, key: int) -> Iterator[None]:
        yield  # one process owns the file: the caller's own lock is enough

    def close(self) -> None:
        self._conn.close()


@lru_cache(maxsize=512)
def pg_sql(sql: str) -> str:
    return sql.replace("%", "%%").replace("?", "%s")


class PgConnection:
    """A psycopg connection inside a transaction, with the sqlite3-style calls the store's modules use."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def execute(self, sql: str, params: tuple | list = ()) -> Any:
        return self._conn.execute(pg_sql(sql), tuple(params))

    def executemany(self, sql: str, rows: list) -> Any:
        cur = self._conn.cursor()
        cur.executemany(pg_sql(sql), rows)
        return cur


class PostgresBackend:
    dialect = "postgresql"

    def __init__(self, url: StoreUrl, max_connections: int = 8) -> None:
        from psycopg_pool import ConnectionPool

        def configure(conn: Any) -> None:
            conn.execute("SET synchronous_commit = on")  # an acknowledged commit is on the primary's disk

        self.url = url
        # timeout: a request waits at most this long for a connection (then PoolTimeout: a 503, see service/app.py)
        self._pool = ConnectionPool(url.conninfo, min_size=1, max_size=max_connections, open=False, timeout=10,
                                    kwargs={"autocommit": True, "application_name": "wegwijzer"},
                                    configure=configure)
        self._pool.open(wait=True, timeout=30)

    @contextmanager
    def transaction(self) -> Iterator[PgConnection]:
        with self._pool.connection() as conn, conn.transaction():
            yield PgConnection(conn)

    def query(self, sql: str, params: tuple | dict = ()) -> list[tuple]:
        if isinstance(params, dict):
            raise TypeError("the PostgreSQL store takes positional ? parameters")
        with self._pool.connection() as conn:
            return conn.execute(pg_sql(sql), tuple(params)).fetchall()

    @contextmanager
    def advisory_lock(self, key: int) -> Iterator[None]:
        """A cluster-wide lock (session-level pg_advisory_lock, released on exit or if the process dies)."""
        with self._pool.connection() as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (key,))
            try:
                yield
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (key,))

    def close(self) -> None:
        self._pool.close()


def open_backend(url: StoreUrl) -> SqliteBackend | PostgresBackend:
    return SqliteBackend(url) if url.dialect == SQLITE else PostgresBackend(url)
