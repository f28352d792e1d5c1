"""Load evaluation input files (JSONL, CSV, Parquet or a datasets directory) with the
project's validation, so a bad file ends in `file:line: reason` lines, not a traceback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from models.data_io import load_answers, load_posts, load_queries, read_rows
from models.schema import DataValidationError, LabelConfig
from training.corpus import Corpus, load_corpus

T = TypeVar("T")


class EvalInputError(ValueError):
    """An input file or directory cannot be used for evaluation (the message says why)."""


def _guarded(path: str | Path, load: Callable[[], T]) -> T:
    """Run a loader; validation problems and missing files pass through, any reader
    failure (a broken CSV or Parquet file) becomes one readable EvalInputError."""
    try:
        return load()
    except (DataValidationError, FileNotFoundError, EvalInputError):
        raise
    except ValueError as exc:  # unsupported format and similar, already worded for users
        raise EvalInputError(str(exc)) from exc
    except Exception as exc:  # noqa: BLE001 - pyarrow/datasets reader errors
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise EvalInputError(f"{path}: cannot read the file ({type(exc).__name__}: {first})") from exc


def heads_in_file(path: str | Path, label_sets: dict[str, list[str]]) -> LabelConfig:
    """The model's label sets restricted to the heads that appear in at least one row."""
    rows, _ = _guarded(path, lambda: read_rows(path))
    present = {k for _, row in rows for k in row}
    heads = {h: labels for h, labels in label_sets.items() if h in present}
    if rows and not heads:
        raise EvalInputError(f"{path}: no column for any of the model's heads ({', '.join(label_sets)})")
    return LabelConfig(heads)


def load_labelled_posts(path: str | Path, label_sets: dict[str, list[str]]) -> tuple[list[dict[str, Any]],
                                                                                     LabelConfig]:
    labels = heads_in_file(path, label_sets)
    rows = _guarded(path, lambda: load_posts(path, labels))
    if not rows:
        raise EvalInputError(f"{path}: no posts to evaluate")
    return rows, labels


def load_kb_and_queries(kb_path: str | Path, queries_path: str | Path) -> tuple[list[dict[str, Any]],
                                                                                list[dict[str, Any]]]:
    kb = _guarded(kb_path, lambda: load_answers(kb_path, None))
    if not kb:
        raise EvalInputError(f"{kb_path}: the knowledge base is empty")
    queries = _guarded(queries_path, lambda: load_queries(queries_path, {a["id"] for a in kb}))
    if not queries:
        raise EvalInputError(f"{queries_path}: no queries to evaluate")
    return kb, queries


def load_data_dir(data_dir: str | Path) -> Corpus:
    """A data directory (posts.jsonl, optional kb.jsonl, queries.jsonl, labels.yaml), split."""
    if not Path(data_dir).is_dir():
        raise FileNotFoundError(f"{data_dir}: no such data directory")
    return _guarded(data_dir, lambda: load_corpus(data_dir))
