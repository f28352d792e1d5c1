"""Load a data directory (posts.jsonl, kb.jsonl, queries.jsonl), validate it and split it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.data_io import load_answers, load_posts, load_queries, write_jsonl
from models.schema import DEFAULT_LABELS, LabelConfig
from training.splits import SPLITS, SplitResult, split_rows


@dataclass
class Corpus:
    labels: LabelConfig
    posts: SplitResult
    kb: list[dict[str, Any]]
    queries: SplitResult

    def write_splits(self, out: Path) -> None:
        for s in SPLITS:
            write_jsonl(out / s / "posts.jsonl", self.posts.splits[s])
            if self.queries.splits[s]:
                write_jsonl(out / s / "queries.jsonl", self.queries.splits[s])


def load_corpus(data_dir: str | Path, labels: LabelConfig | None = None) -> Corpus:
    data_dir = Path(data_dir)
    labels = labels or labels_for(data_dir)
    posts = load_posts(data_dir / "posts.jsonl", labels)
    kb_path, q_path = data_dir / "kb.jsonl", data_dir / "queries.jsonl"
    kb = load_answers(kb_path, labels) if kb_path.exists() else []
    queries = load_queries(q_path, {a["id"] for a in kb}) if q_path.exists() else []
    return Corpus(labels, split_rows(posts), kb, split_rows(queries))


def labels_for(data_dir: Path) -> LabelConfig:
    """A `labels.yaml` beside the data wins; else the project's default label sets."""
    own = data_dir / "labels.yaml"
    return LabelConfig.from_file(own if own.exists() else DEFAULT_LABELS)
