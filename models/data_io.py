"""Read labelled data from JSONL, CSV, Parquet or a Hugging Face `datasets`
directory, validate every row and report every problem at once."""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from models.schema import (
    DataValidationError,
    LabelConfig,
    Problem,
    duplicate_id_problems,
    validate_answer,
    validate_post,
    validate_query,
)

Rows = list[tuple[int, dict[str, Any]]]  # (line or row number, row)


def read_rows(path: str | Path) -> tuple[Rows, list[Problem]]:
    """Rows with their line numbers (JSONL) or row numbers (CSV: header is line 1)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or directory")
    if path.is_dir():
        return _read_hf_dataset(path), []
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        return _read_jsonl(path)
    if suffix == ".csv":
        return _read_csv(path)
    if suffix == ".parquet":
        return _read_parquet(path), []
    raise ValueError(f"{path}: unsupported format {suffix!r} "
                     "(use .jsonl, .csv, .parquet or a datasets directory)")


def _read_jsonl(path: Path) -> tuple[Rows, list[Problem]]:
    rows: Rows = []
    problems: list[Problem] = []
    with open(path, "rb") as fh:
        for n, raw in enumerate(fh, start=1):
            try:  # decoded line by line, so a bad byte is one problem with its line, not a crash
                line = raw.decode("utf-8-sig" if n == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                problems.append(Problem(path.name, n, "", f"not valid UTF-8 (byte {exc.start + 1})"))
                continue
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append(Problem(path.name, n, "", f"invalid JSON ({exc.msg} at column {exc.colno})"))
                continue
            if not isinstance(obj, dict):
                problems.append(Problem(path.name, n, "", "a line must hold one JSON object"))
                continue
            rows.append((n, obj))
    return rows, problems


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    """CSV/Parquet cells: empty strings mean missing; JSON-looking list cells are decoded."""
    out: dict[str, Any] = {}
    for k, v in row.items():
        if v is None or (isinstance(v, str) and v == "" and k != "title"):
            continue
        if k == "relevant" and isinstance(v, str):
            try:
                v = json.loads(v)
            except json.JSONDecodeError:
                v = [x.strip() for x in v.replace(";", ",").split(",") if x.strip()]
        out[k] = v
    return out


def _read_csv(path: Path) -> tuple[Rows, list[Problem]]:
    """CSV with the csv module, not pandas: every cell stays text (ids like `0012`, labels
    like `NA` or `1` keep their value) and each row keeps the line it starts on, also when
    a quoted body spans several lines or blank lines sit between rows (header is line 1)."""
    rows: Rows = []
    problems: list[Problem] = []
    header: list[str] | None = None
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        start = 1
        try:
            for record in reader:
                line, start = start, reader.line_num + 1
                if not any(cell.strip() for cell in record):
                    continue
                if header is None:
                    header = [h.strip() for h in record]
                elif len(record) != len(header):
                    problems.append(Problem(path.name, line, "",
                                            f"row has {len(record)} fields, the header has {len(header)}"))
                else:
                    rows.append((line, _clean(dict(zip(header, record, strict=True)))))
        except csv.Error as exc:
            problems.append(Problem(path.name, start, "", f"invalid CSV ({exc})"))
    return rows, problems


def _read_parquet(path: Path) -> Rows:
    from datasets import load_dataset

    ds = load_dataset("parquet", data_files=str(path), split="train")
    return [(i + 1, _clean(dict(r))) for i, r in enumerate(ds)]


def _read_hf_dataset(path: Path) -> Rows:
    from datasets import DatasetDict, load_from_disk

    ds = load_from_disk(str(path))
    if isinstance(ds, DatasetDict):
        ds = ds["train"] if "train" in ds else next(iter(ds.values()))
    return [(i + 1, _clean(dict(r))) for i, r in enumerate(ds)]


def _load(path: str | Path, check: Callable[[dict, str, int], list[Problem]]) -> list[dict[str, Any]]:
    rows, problems = read_rows(path)
    name = Path(path).name
    for line, row in rows:
        problems.extend(check(row, name, line))
    problems.extend(duplicate_id_problems(rows, name))
    if problems:
        raise DataValidationError(sorted(problems, key=lambda p: p.line))
    return [row for _, row in rows]


def load_posts(path: str | Path, labels: LabelConfig | None = None) -> list[dict[str, Any]]:
    labels = labels or LabelConfig.from_file()
    return _load(path, lambda row, f, n: validate_post(row, labels, f, n))


def load_answers(path: str | Path, labels: LabelConfig | None = None) -> list[dict[str, Any]]:
    return _load(path, lambda row, f, n: validate_answer(row, labels, f, n))


def load_queries(path: str | Path, known_answers: set[str] | None = None) -> list[dict[str, Any]]:
    return _load(path, lambda row, f, n: validate_query(row, f, n, known_answers))


def write_jsonl(path: str | Path, rows: list[dict[str, Any]]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def rows_sha256(*row_lists: list[dict[str, Any]]) -> str:
    """Order-independent hash of the data, for the model manifest."""
    lines = sorted(json.dumps(r, ensure_ascii=False, sort_keys=True) for rows in row_lists for r in rows)
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def post_text(row: dict[str, Any]) -> str:
    title = (row.get("title") or "").strip()
    body = (row.get("body") or "").strip()
    return f"{title}\n{body}" if title else body
