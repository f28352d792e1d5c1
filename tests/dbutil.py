"""Reading a store from a test, whichever database it is (SQLite file or PostgreSQL)."""

from __future__ import annotations

from typing import Any

from service.store import Store


def db_rows(url: Any, sql: str, params: tuple = ()) -> list[tuple]:
    """Rows of `sql` (`?` parameters) from the store at `url` (a store URL, path or Settings.store)."""
    store = Store(url)
    try:
        return store.query(sql, params)
    finally:
        store.close()


def columns(url: Any, table: str) -> list[str]:
    """Column names of a table, through the information schema both databases answer."""
    store = Store(url)
    try:
        if store.dialect == "sqlite":
            return [r[1] for r in store.query(f"PRAGMA table_info({table})")]
        return [r[0] for r in store.query("SELECT column_name FROM information_schema.columns WHERE table_name=? "
                                          "ORDER BY ordinal_position", (table,))]
    finally:
        store.close()
