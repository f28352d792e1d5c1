""""Does this answer solve this post?": a calibrated answerability score per candidate answer.

The retriever ranks answers; this small logistic model decides whether the candidate actually
answers the post, from what the service already has at that point (no extra encoder pass):

    cosine       dense cosine of post and answer
    gap_top      cosine minus the best candidate's cosine (0 for the best)
    margin_next  cosine minus the next candidate's cosine (how clearly it beats the next)
    bm25         log(1 + BM25 of the answer passage for the post's words)
    bm25_rel     BM25 relative to the best BM25 among the candidates
    product_p    the post's calibrated probability of the answer's product (0 when not among
                 the head's top alternatives); answer_has_product says whether the answer has one
    topic_p      likewise for the topic
    rank         the candidate's position in the served ranking (0 = first)

Fitted on the training queries' top candidates (the near-duplicate answers of the knowledge
base appear there as hard negatives), threshold chosen on dev by "nothing fits" F1
(training/answerability.py). Stored as `answerability.json` in the model directory and
listed in the manifest, so it is hash-checked like the ONNX graph. numpy only: the service
scores with a dot product.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

FILE = "answerability.json"
FEATURES = ("cosine", "gap_top", "margin_next", "bm25", "bm25_rel", "product_p", "answer_has_product",
            "topic_p", "rank")
CANDIDATES = 5  # candidates scored per post (the served suggestions are the best of these)


@dataclass
class Candidate:
    """One retrieved answer as the answerability model sees it."""
    cosine: float
    bm25: float
    product: str | None = None
    topic: str | None = None


def head_probability(alternatives: Sequence[tuple[str, float]], label: str | None) -> float:
    """The post's probability for `label` among the head's top alternatives (0 when absent)."""
    if not label:
        return 0.0
    return next((p for lab, p in alternatives if lab == label), 0.0)


def candidate_features(cands: Sequence[Candidate], product_alts: Sequence[tuple[str, float]],
                       topic_alts: Sequence[tuple[str, float]]) -> np.ndarray:
    """[len(cands), len(FEATURES)] for one post's candidates, in served order."""
    if not cands:
        return np.zeros((0, len(FEATURES)), np.float32)
    cos = np.array([c.cosine for c in cands], np.float64)
    bm = np.log1p(np.maximum([c.bm25 for c in cands], 0.0))
    nxt = np.append(cos[1:], cos[-1] if len(cos) == 1 else cos[1:].min())
    rows = np.stack([
        cos,
        cos - cos.max(),
        cos - nxt,
        bm,
        bm / bm.max() if bm.max() > 0 else np.zeros_like(bm),
        [head_probability(product_alts, c.product) for c in cands],
        [1.0 if c.product else 0.0 for c in cands],
        [head_probability(topic_alts, c.topic) for c in cands],
        np.arange(len(cands), dtype=np.float64),
    ], axis=1)
    return rows.astype(np.float32)


@dataclass
class AnswerabilityModel:
    """Standardised logistic regression over FEATURES; `threshold` on its probability."""
    coef: list[float]
    intercept: float
    mean: list[float]
    scale: list[float]
    threshold: float
    rerank: bool = False  # order suggestions by answerability instead of the retrieval score
    features: list[str] = field(default_factory=lambda: list(FEATURES))
    report: dict[str, Any] = field(default_factory=dict)  # how it was fitted and its dev figures

    def __post_init__(self) -> None:
        if list(self.features) != list(FEATURES):
            raise ValueError(f"answerability features {self.features} do not match this version's {list(FEATURES)}")
        if not (len(self.coef) == len(self.mean) == len(self.scale) == len(FEATURES)):
            raise ValueError("answerability coef/mean/scale must have one value per feature")
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"answerability threshold {self.threshold} is not a probability")
        self._w = np.asarray(self.coef, np.float64) / np.asarray(self.scale, np.float64)
        self._b = float(self.intercept) - float(np.dot(self._w, np.asarray(self.mean, np.float64)))

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        z = np.asarray(features, np.float64) @ self._w + self._b
        return 1.0 / (1.0 + np.exp(-z))

    def to_dict(self) -> dict[str, Any]:
        return {"features": list(self.features), "coef": [float(c) for c in self.coef],
                "intercept": float(self.intercept), "mean": [float(m) for m in self.mean],
                "scale": [float(s) for s in self.scale], "threshold": float(self.threshold),
                "rerank": self.rerank, "report": self.report}

    def save(self, directory: Path) -> Path:
        path = Path(directory) / FILE
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, directory: str | Path) -> AnswerabilityModel | None:
        """The model directory's answerability model, or None when it has none."""
        path = Path(directory) / FILE
        if not path.is_file():
            return None
        raw = json.loads(path.read_text(encoding="utf-8"))
        try:
            return cls(**raw)
        except TypeError as exc:
            raise ValueError(f"{path}: {exc}") from exc
