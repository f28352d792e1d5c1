"""The workload: test posts, and knowledge bases of 10k / 100k answers in SQLite stores, from the
realistic benchmark knowledge base (bench/kb_corpus.py: varied answers generated from the shipped ones)."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models.inference import TriageModel
from service.schemas import PostIn
from service.store import Store

POSTS = Path("training/data/splits/test/posts.jsonl")
KB = Path("training/data/kb.jsonl")
SEED = 20240611


def load_posts(path: Path = POSTS) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if (r.get("body") or "").strip()]


def cycle(rows: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    return list(itertools.islice(itertools.cycle(rows), n))


def as_post(row: dict[str, Any]) -> PostIn:
    return PostIn.model_validate({"title": row.get("title") or "", "body": row["body"]})


@dataclass
class KnowledgeBase:
    size: int
    store_path: Path
    matrix: np.ndarray  # [size, dim] float32, L2-normalised, row order = ids
    ids: list[str]


@dataclass
class BenchmarkKB:
    shipped: int  # answers in training/data/kb.jsonl (the first rows of every size)
    info: dict[str, Any]  # bench/kb_corpus.benchmark_kb's description
    kbs: dict[int, KnowledgeBase]

    def describe(self) -> dict[str, Any]:
        return {"shipped_answers": self.shipped, "sizes": sorted(self.kbs), **self.info}


def build_kbs(model: TriageModel, sizes: list[int], workdir: Path, kb_path: Path = KB) -> BenchmarkKB:
    """One SQLite store per size from the realistic benchmark knowledge base (bench/kb_corpus.py:
    varied answers generated from the shipped ones, embedded with this model and cached), stamped
    with the current model's hash so neither the in-process engine nor the server re-embeds at start."""
    from bench import kb_corpus

    sha = model.embedding_sha
    rows, matrix, info = kb_corpus.benchmark_kb(sha, max(sizes))
    kbs = {}
    for size in sorted(sizes):
        path = workdir / f"kb-{size}.sqlite3"
        store = Store(path)
        for i in range(0, size, 10_000):
            store.upsert_answers(rows[i : min(i + 10_000, size)], matrix[i : min(i + 10_000, size)], sha)
        store.close()
        kbs[size] = KnowledgeBase(size, path, matrix[:size], [r["id"] for r in rows[:size]])
    return BenchmarkKB(len(kb_corpus.load_shipped(kb_path)), info, kbs)
