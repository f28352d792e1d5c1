"""Evaluate answer suggestions: the model embeds the knowledge base (passages) and
the queries; scores = Q @ P.T; the abstain threshold is the one in the manifest
(chosen on dev at training time)."""

from __future__ import annotations

from typing import Any

import numpy as np

from eval.metrics import retrieval_report
from service.inference import TriageModel, passage_text
from training.data_io import post_text

JSON_KEYS = ("n", "recall@1", "recall@3", "mrr@10", "ndcg@10",
             "abstain_precision", "abstain_recall", "abstain_f1")


def embed_queries(model: TriageModel, texts: list[str], batch_size: int = 32) -> np.ndarray:
    chunks = [model.run(texts[i:i + batch_size], model.query_prefix)[1]
              for i in range(0, len(texts), batch_size)]
    return np.concatenate(chunks).astype(np.float32) if chunks else np.zeros((0, model.dim), np.float32)


def retrieval_scores(model: TriageModel, kb: list[dict[str, Any]],
                     queries: list[dict[str, Any]]) -> np.ndarray:
    passages = model.embed_passages([passage_text(a) for a in kb])
    return embed_queries(model, [post_text(q) for q in queries]) @ passages.T


def evaluate_retrieval(model: TriageModel, kb: list[dict[str, Any]],
                       queries: list[dict[str, Any]]) -> dict[str, Any]:
    """retrieval_report plus the per-query best scores (for the report's histogram)."""
    scores = retrieval_scores(model, kb, queries)
    relevant = [q["relevant"] for q in queries]
    out: dict[str, Any] = dict(retrieval_report(scores, [a["id"] for a in kb], relevant,
                                                model.retrieval_threshold))
    out["answerable"] = sum(1 for r in relevant if r)
    out["kb_size"] = len(kb)
    out["top_scores"] = scores.max(axis=1).tolist()
    out["has_relevant"] = [bool(r) for r in relevant]
    return out


def summary(result: dict[str, Any]) -> dict[str, Any]:
    """The `--json` shape: exactly JSON_KEYS."""
    return {k: result[k] for k in JSON_KEYS}
