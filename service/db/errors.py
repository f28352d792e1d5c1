"""The exceptions a store operation can raise, without importing the PostgreSQL driver.

psycopg costs about 0.1 s of start-up (import service.app -0.115 s, median of 10 pairs); a SQLite
deployment never needs it. A psycopg exception can only
exist once psycopg has been imported (by the PostgreSQL backend), so looking it up in `sys.modules`
is exact.
"""

from __future__ import annotations

import sqlite3
import sys


def store_errors() -> tuple[type[BaseException], ...]:
    """The store drivers' base errors: sqlite3's and, where the PostgreSQL driver is loaded, psycopg's."""
    psycopg = sys.modules.get("psycopg")
    return (sqlite3.Error,) + ((psycopg.Error,) if psycopg is not None else ())
