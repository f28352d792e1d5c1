"""The store's database layer: the store URL (url.py), the migration history applied at start
(migrate.py, Alembic over SQLAlchemy Core, migrations/), the two connection backends
(backends.py: SQLite file, PostgreSQL pool) and the replica change feed (changes.py, sync.py)."""
