"""`python -m service.backfill --input PATH --output PATH [--address ADDR] [--workers N] [--batch-size N]`

Triage stored posts (JSONL or Parquet, a file or a directory) with the served model on Ray Data and
write Parquet partitions with the labels, confidences, route, top suggestions and the model version.
Local Ray by default; `--address` for a cluster. Rerunning with the same output resumes (done
partitions are skipped). Bad rows are written to OUTPUT/errors/ with their file and line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    from service.settings import Settings

    defaults = Settings(auth_enabled=False)  # WEGWIJZER_MODEL_DIR, WEGWIJZER_STORE_URL and the text limits
    ap = argparse.ArgumentParser(prog="python -m service.backfill", description=__doc__.split("\n\n")[1])
    ap.add_argument("--input", required=True, type=Path, help="a .jsonl/.parquet file or a directory of them")
    ap.add_argument("--output", required=True, type=Path, help="directory for part-NNNNN.parquet and errors/")
    ap.add_argument("--address", default=None, help="Ray cluster address (default: start Ray locally)")
    ap.add_argument("--workers", type=int, default=1, help="triage workers (one model each; default 1)")
    ap.add_argument("--batch-size", type=int, default=64, help="posts per model batch (default 64)")
    ap.add_argument("--partition-size", type=int, default=1000, help="input rows per output partition (default 1000)")
    ap.add_argument("--threads-per-worker", type=int, default=1, help="onnxruntime threads per worker (default 1)")
    ap.add_argument("--model", default=str(defaults.model_dir), help="model directory (default: the service's)")
    ap.add_argument("--store", default=defaults.store_url,
                    help="store with the knowledge base for suggestions (default: the service's WEGWIJZER_STORE_URL)")
    ap.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)
    for name in ("workers", "batch_size", "partition_size", "threads_per_worker"):
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be at least 1")
    if not (Path(args.model) / "manifest.json").is_file():
        ap.error(f"--model {args.model}: no model there (manifest.json missing); `make train` builds one")

    from service.backfill.inputs import input_files
    from service.backfill.run import backfill
    from service.db.url import parse_store_url

    try:
        input_files(args.input)
    except ValueError as exc:
        print(f"backfill: --input {exc}", file=sys.stderr)
        return 2
    from service.store import Store

    try:
        store = Store(parse_store_url(args.store))
    except ValueError as exc:
        ap.error(f"--store: {exc}")
    if store.count_answers() == 0:
        print(f"backfill: the knowledge base in {store.url.redacted()} is empty: no suggestions will be made",
              file=sys.stderr)
    store.close()

    try:
        summary = backfill(args.input, args.output, args.model, args.store, address=args.address,
                           workers=args.workers, batch_size=args.batch_size, partition_size=args.partition_size,
                           threads_per_worker=args.threads_per_worker, max_body_chars=defaults.max_body_chars,
                           max_title_chars=defaults.max_title_chars, progress=not args.no_progress)
    except ValueError as exc:
        print(f"backfill: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(summary.as_dict()))
    if summary.bad_rows:
        print(f"backfill: {summary.bad_rows} bad rows, with their file and line, in {args.output / 'errors'}",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
