"""Bring a store's schema to the newest revision at start (Alembic over SQLAlchemy Core).

SQLite files made before Alembic carry their version in `PRAGMA user_version` (1-4, one per step
of the old `MIGRATIONS` list); revisions 0001-0003 are exactly steps 1-3, so such a file is stamped
at its revision first and then upgraded. Step 4 (the console's triage-log `result` column and
`feedback.post_id` index) is revision 0005, after the change feed (0004): a file at user_version 4
is stamped at 0003 and 0005 adds only what is missing. On PostgreSQL the upgrade runs under an advisory
lock: replicas starting together migrate once.

The usual start finds the store at HEAD: that is read with the database's own driver, without
importing SQLAlchemy and Alembic (0.2 s of start-up and 21 MB of RSS); they are imported only to
migrate. HEAD is the newest revision's id (a test checks it against Alembic's script directory).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from service.db.errors import store_errors
from service.db.url import POSTGRESQL, SQLITE, StoreUrl

if TYPE_CHECKING:
    import sqlalchemy as sa
    from alembic.config import Config

HEAD = "0005"  # the newest revision in migrations/versions (tests/test_store_index.py checks it)
MIGRATIONS_DIR = Path(__file__).with_name("migrations")
MIGRATE_LOCK = 0x5765_6777_0001  # pg_advisory_lock key: one migrating process at a time
LEGACY_CONSOLE = 4  # user_version of a pre-Alembic file with the console's step (service/db/migrations 0005)


def _config(connection: sa.Connection) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


def current_revision(connection: sa.Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def stored_revision(url: StoreUrl) -> str | None:
    """The store's revision read with its own driver (None: no store or no Alembic table yet)."""
    try:
        if url.dialect == SQLITE:
            if url.path is None or not url.path.is_file():
                return None
            conn = sqlite3.connect(f"file:{url.path}?mode=ro", uri=True)
            try:
                row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
            finally:
                conn.close()
        else:
            import psycopg  # PostgreSQL only: a SQLite deployment never loads the driver

            with psycopg.connect(url.conninfo) as pg:
                row = pg.execute("SELECT version_num FROM alembic_version").fetchone()
    except store_errors():  # the migration path below says what is wrong, as before
        return None
    return None if row is None else str(row[0])


def upgrade(url: StoreUrl) -> str:
    """Apply every missing revision; returns the revision the store is at."""
    if stored_revision(url) == HEAD:  # the usual start: nothing to do, and no SQLAlchemy
        return HEAD
    import sqlalchemy as sa
    from alembic import command

    engine = sa.create_engine(url.sqlalchemy_url, poolclass=sa.pool.NullPool)
    head = head_revision()
    try:
        with engine.connect() as conn:
            if _stored_revision(conn) == head:  # the usual start: nothing to do (and nothing to log)
                return head
            if url.dialect == POSTGRESQL:
                conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATE_LOCK})
                conn.commit()
            try:
                if url.dialect == SQLITE:
                    _stamp_legacy(conn)
                command.upgrade(_config(conn), "head")
                conn.commit()
                revision = current_revision(conn)
                if url.dialect == SQLITE and revision is not None:
                    conn.exec_driver_sql(f"PRAGMA user_version={int(revision)}")
                    conn.commit()
            finally:
                if url.dialect == POSTGRESQL:
                    conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATE_LOCK})
                    conn.commit()
    finally:
        engine.dispose()
    assert revision is not None
    return revision


def _stored_revision(conn: sa.Connection) -> str | None:
    import sqlalchemy as sa

    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    revision = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    conn.rollback()
    return None if revision is None else str(revision)


def _stamp_legacy(conn: sa.Connection) -> None:
    """A pre-Alembic SQLite file: record the revision its user_version stands for."""
    if current_revision(conn) is not None:
        return
    version = int(conn.exec_driver_sql("PRAGMA user_version").scalar() or 0)
    if version == LEGACY_CONSOLE:
        # the console's step (result column, feedback index) is revision 0005 now, after the change feed
        # (0004): stamp 0003; 0004 adds the change feed and 0005 finds the console's column and index
        version = 3
    if version:
        from alembic import command

        command.stamp(_config(conn), f"{version:04d}")
        conn.commit()
