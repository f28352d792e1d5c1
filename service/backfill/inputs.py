"""Reading backfill input: JSONL or Parquet posts (labels.md format, or the API's PostIn fields), from a
file or a directory of such files, in a fixed order, cut into numbered partitions of `partition_size`
rows. Every row keeps its file and line (JSONL: the line number; Parquet: the row number, from 1), and a
row that is not a valid post is returned as a problem with that line, never dropped silently."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from service.schemas import PostIn

SUFFIXES = (".jsonl", ".ndjson", ".parquet")


@dataclass
class Row:
    partition: int
    source: str
    line: int
    post_id: str | None
    post: str  # the validated post as JSON (PostIn fields)


@dataclass
class Problem:
    partition: int
    source: str
    line: int
    error: str

    def as_dict(self) -> dict[str, Any]:
        return {"partition": self.partition, "file": self.source, "line": self.line, "error": self.error}


def input_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in SUFFIXES)
        if not files:
            raise ValueError(f"{path}: no .jsonl or .parquet files")
        return files
    if not path.is_file():
        raise ValueError(f"{path}: no such file or directory")
    if path.suffix not in SUFFIXES:
        raise ValueError(f"{path}: not a .jsonl or .parquet file")
    return [path]


def _raw_rows(path: Path) -> Iterator[tuple[int, Any]]:
    """(line, parsed object or an error string) for every non-empty line / Parquet row."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        n = 0
        for batch in pq.ParquetFile(path).iter_batches(batch_size=4096):
            for obj in batch.to_pylist():
                n += 1
                yield n, obj
        return
    with path.open("rb") as f:
        for n, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            try:
                yield n, json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError as exc:
                yield n, f"not UTF-8: {exc.reason} at byte {exc.start}"
            except json.JSONDecodeError as exc:
                yield n, f"invalid JSON ({exc.msg} at column {exc.colno})"


def check_post(obj: Any, max_body_chars: int, max_title_chars: int) -> tuple[str | None, str] | str:
    """(post id, PostIn JSON) for a valid post, else the reason (the API's validation and text limits)."""
    if isinstance(obj, str):
        return obj
    if not isinstance(obj, dict):
        return "a row must hold one JSON object"
    try:
        post = PostIn.model_validate({k: v for k, v in obj.items() if v is not None})
    except ValidationError as exc:
        return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'row'}: {e['msg']}" for e in exc.errors())
    if len(post.body) > max_body_chars:
        return f"body has {len(post.body)} characters; the limit is {max_body_chars}"
    if len(post.title) > max_title_chars:
        return f"title has {len(post.title)} characters; the limit is {max_title_chars}"
    post_id = post.post_id or (str(obj["id"]) if obj.get("id") is not None else None)
    return post_id, post.model_dump_json()


def read_rows(path: Path, partition_size: int, max_body_chars: int, max_title_chars: int
              ) -> Iterator[Row | Problem]:
    """Every input row in order, valid or not; row i (counting both) is in partition i // partition_size."""
    i = 0
    for f in input_files(path):
        for line, obj in _raw_rows(f):
            part = i // partition_size
            i += 1
            checked = check_post(obj, max_body_chars, max_title_chars)
            if isinstance(checked, str):
                yield Problem(part, str(f), line, checked)
            else:
                yield Row(part, str(f), line, checked[0], checked[1])
