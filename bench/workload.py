"""The workload: test posts, and knowledge bases of 10k / 100k answers synthesised from the
shipped one (real embeddings + small random perturbations, renormalised) in SQLite stores."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from service.inference import TriageModel, passage_text
from service.schemas import PostIn
from service.store import Store

POSTS = Path("training/data/splits/test/posts.jsonl")
KB = Path("training/data/kb.jsonl")
# Per-dimension noise; its norm is NOISE_NORM, so a synthetic answer has cosine ≈ 1/sqrt(1 + NOISE_NORM²)
# (≈ 0.96) with the shipped answer it was derived from.
NOISE_NORM = 0.3
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
class SyntheticKB:
    shipped: int  # answers in training/data/kb.jsonl
    noise_norm: float
    mean_cosine_to_source: float
    kbs: dict[int, KnowledgeBase]

    def describe(self) -> dict[str, Any]:
        return {
            "shipped_answers": self.shipped,
            "sizes": sorted(self.kbs),
            "method": "shipped KB embedded with model.embed_passages (passage prefix); the shipped "
            "answers are kept as they are and the rest are copies of randomly chosen shipped "
            "answers (same text and metadata, new ids) whose embedding is the source embedding "
            f"plus Gaussian noise of norm ≈ {self.noise_norm}, renormalised to unit length",
            "mean_cosine_to_source": round(self.mean_cosine_to_source, 4),
        }


def build_kbs(model: TriageModel, sizes: list[int], workdir: Path, kb_path: Path = KB) -> SyntheticKB:
    """One SQLite store per size, pre-embedded with the current model's hash so neither the
    in-process engine nor the server re-embeds at start."""
    from training.data_io import load_answers

    shipped = load_answers(kb_path)
    base = model.embed_passages([passage_text(a) for a in shipped])
    n_max = max(sizes)
    rng = np.random.default_rng(SEED)
    extra = max(0, n_max - len(shipped))
    src = rng.integers(0, len(shipped), size=extra)
    noise = rng.normal(0.0, NOISE_NORM / np.sqrt(base.shape[1]), size=(extra, base.shape[1])).astype(np.float32)
    synth = base[src] + noise
    synth /= np.linalg.norm(synth, axis=1, keepdims=True)
    mean_cos = float((synth * base[src]).sum(1).mean()) if extra else 1.0
    matrix = np.concatenate([base, synth]).astype(np.float32)
    rows = list(shipped) + [{**shipped[s], "id": f"syn-{i:06d}"} for i, s in enumerate(src)]
    sha = model.manifest.files.get("model.onnx", "")
    kbs = {}
    for size in sorted(sizes):
        path = workdir / f"kb-{size}.sqlite3"
        store = Store(path)
        for i in range(0, size, 10_000):
            store.upsert_answers(rows[i : min(i + 10_000, size)], matrix[i : min(i + 10_000, size)], sha)
        store.close()
        kbs[size] = KnowledgeBase(size, path, matrix[:size], [r["id"] for r in rows[:size]])
    return SyntheticKB(len(shipped), NOISE_NORM, mean_cos, kbs)
