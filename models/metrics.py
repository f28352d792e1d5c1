"""Classification and retrieval metrics shared by training and evaluation."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support


def head_metrics(y_true: np.ndarray, y_pred: np.ndarray, labels: list[str]) -> dict[str, Any]:
    idx = list(range(len(labels)))
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=idx, zero_division=0)
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, labels=idx, average="macro", zero_division=0)),
        "per_class": {labels[i]: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]),
                                  "support": int(s[i])} for i in idx},
    }


def rank(scores: np.ndarray, k: int = 10) -> np.ndarray:
    """Indices of the top-k scores per row, best first."""
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.take_along_axis(scores, part, axis=1).argsort(axis=1)[:, ::-1]
    return np.take_along_axis(part, order, axis=1)


def ranking_metrics(scores: np.ndarray, answer_ids: list[str], relevant: list[list[str]]) -> dict[str, float]:
    """recall@1, recall@3, MRR@10, nDCG@10 over the queries that have a relevant answer."""
    top = rank(scores, 10)
    r1 = r3 = mrr = ndcg = 0.0
    n = 0
    for i, rel in enumerate(relevant):
        if not rel:
            continue
        n += 1
        hits = [answer_ids[j] in rel for j in top[i]]
        r1 += any(hits[:1])
        r3 += any(hits[:3])
        first = next((k for k, h in enumerate(hits) if h), None)
        mrr += 0 if first is None else 1 / (first + 1)
        dcg = sum(1 / math.log2(k + 2) for k, h in enumerate(hits) if h)
        ideal = sum(1 / math.log2(k + 2) for k in range(min(len(rel), 10)))
        ndcg += dcg / ideal
    n = max(n, 1)
    return {"recall@1": r1 / n, "recall@3": r3 / n, "mrr@10": mrr / n, "ndcg@10": ndcg / n}


def abstain_metrics(top_scores: np.ndarray, relevant: list[list[str]], threshold: float) -> dict[str, float]:
    """Abstaining (suggesting nothing) is the positive class; the right answer for
    queries with an empty relevance list."""
    abstain = top_scores < threshold
    truth = np.array([not r for r in relevant])
    tp = int((abstain & truth).sum())
    p = tp / max(int(abstain.sum()), 1)
    r = tp / max(int(truth.sum()), 1)
    f = 0.0 if p + r == 0 else 2 * p * r / (p + r)
    return {"abstain_precision": p, "abstain_recall": r, "abstain_f1": f}


def best_abstain_threshold(top_scores: np.ndarray, relevant: list[list[str]]) -> float:
    """Threshold maximising abstain F1 (ties: the lower threshold, fewer silent misses)."""
    candidates = np.unique(np.concatenate([top_scores, top_scores + 1e-6]))
    best_t, best_f = 0.0, -1.0
    for t in candidates:
        f = abstain_metrics(top_scores, relevant, float(t))["abstain_f1"]
        if f > best_f + 1e-12:
            best_t, best_f = float(t), f
    return best_t


def retrieval_report(scores: np.ndarray, answer_ids: list[str], relevant: list[list[str]],
                     threshold: float, abstain_scores: np.ndarray | None = None) -> dict[str, float]:
    """Ranking metrics on `scores`; abstention on each query's best score, or on
    `abstain_scores` when the ranking score is not the one thresholded (hybrid retrieval)."""
    out = {"n": len(relevant), **ranking_metrics(scores, answer_ids, relevant)}
    top = scores.max(axis=1) if scores.size else np.zeros(len(relevant))
    if abstain_scores is not None:
        top = abstain_scores
    out.update(abstain_metrics(top, relevant, threshold))
    out["threshold"] = threshold
    return out
