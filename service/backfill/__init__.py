"""Backfills on Ray Data: re-triage stored posts (JSONL or Parquet) with the served model and write
Parquet (`python -m service.backfill`). Ray is imported only here (run.py), never by the service:
the serving lock has no ray."""
