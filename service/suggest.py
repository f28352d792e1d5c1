"""From retrieved candidates to served suggestions: "does this answer solve this post?".

With an answerability model (models/answerability.py) each candidate gets a calibrated
probability of solving the post; only candidates at or above its threshold are suggested
(none: "nothing fits"). Models without one fall back to the dense-cosine threshold.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from models.answerability import CANDIDATES, AnswerabilityModel, Candidate, candidate_features
from models.index import Hit
from models.inference import HeadPrediction


@dataclass
class Scored:
    hit: Hit
    answerability: float | None


def candidates_needed(answerability: AnswerabilityModel | None, k: int) -> int:
    return max(k, CANDIDATES) if answerability is not None else k


def score_hits(hits: Sequence[Hit], pred: Mapping[str, HeadPrediction] | None,
               answerability: AnswerabilityModel | None) -> list[Scored]:
    """Every candidate with its answerability (None without a model), in retrieval order."""
    if answerability is None or not hits:
        return [Scored(h, None) for h in hits]
    product = pred["product"].alternatives if pred and "product" in pred else []
    topic = pred["topic"].alternatives if pred and "topic" in pred else []
    feats = candidate_features([Candidate(h.score, h.lexical, h.product, h.topic) for h in hits], product, topic)
    return [Scored(h, float(p)) for h, p in zip(hits, answerability.probabilities(feats), strict=True)]


def select(scored: list[Scored], answerability: AnswerabilityModel | None, cosine_threshold: float,
           k: int) -> list[Scored]:
    """The suggestions to serve, best first: at most k, none when nothing clears the threshold."""
    if answerability is None:
        return [s for s in scored if s.hit.score >= cosine_threshold][:k]
    kept = [s for s in scored if (s.answerability or 0.0) >= answerability.threshold]
    if answerability.rerank:
        kept.sort(key=lambda s: -(s.answerability or 0.0))
    return kept[:k]


def best_answerability(scored: list[Scored]) -> float | None:
    values = [s.answerability for s in scored if s.answerability is not None]
    return max(values) if values else None
