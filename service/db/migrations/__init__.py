"""Alembic migration scripts of the store (applied by service/db/migrate.py)."""
