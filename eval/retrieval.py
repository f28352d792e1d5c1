"""Evaluate answer suggestions as the service serves them: the model embeds the knowledge
base (passages) and the queries; the ranking is Q @ P.T + lexical_weight x BM25, and
"nothing fits" compares the best dense cosine with the manifest's threshold (both chosen
on dev at training time)."""

from __future__ import annotations

from typing import Any

import numpy as np

from models.data_io import post_text
from models.inference import TriageModel, passage_text
from models.lexical import bm25_matrix, fuse
from models.metrics import ranking_metrics, retrieval_report

JSON_KEYS = ("n", "recall@1", "recall@3", "mrr@10", "ndcg@10",
             "abstain_precision", "abstain_recall", "abstain_f1")


def embed_queries(model: TriageModel, texts: list[str], batch_size: int = 32) -> np.ndarray:
    chunks = [model.run(texts[i:i + batch_size], model.query_prefix)[1]
              for i in range(0, len(texts), batch_size)]
    return np.concatenate(chunks).astype(np.float32) if chunks else np.zeros((0, model.dim), np.float32)


def served_scores(model: TriageModel, passages: list[str], queries: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(ranking scores, dense cosines) [queries, passages] as the service computes them."""
    dense = embed_queries(model, queries) @ model.embed_passages(passages).T
    if not model.lexical_weight or not queries:
        return dense, dense
    return fuse(dense, bm25_matrix(passages, queries), model.lexical_weight, model.lexical_candidates), dense


def retrieval_scores(model: TriageModel, kb: list[dict[str, Any]],
                     queries: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    return served_scores(model, [passage_text(a) for a in kb], [post_text(q) for q in queries])


def served_answerability(model: TriageModel, kb: list[dict[str, Any]], queries: list[dict[str, Any]],
                         scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """With an answerability model: (each query's best candidate answerability, the ranking scores
    with the served candidates reordered by answerability when the model reranks)."""
    from training.answerability import build_index, query_set

    am = model.answerability
    assert am is not None
    qs = query_set(model, build_index(model, kb), queries)
    probs = [am.probabilities(f) if len(f) else np.zeros(0) for f in qs.features]
    top = np.array([p.max() if len(p) else 0.0 for p in probs])
    if am.rerank:
        scores = scores.copy()
        col = {a["id"]: j for j, a in enumerate(kb)}
        for i, (hits, p) in enumerate(zip(qs.hits, probs, strict=True)):
            for h, v in zip(hits, p, strict=True):
                scores[i, col[h.answer_id]] = 10.0 + float(v)  # served candidates first, by answerability
    return top, scores


def evaluate_retrieval(model: TriageModel, kb: list[dict[str, Any]],
                       queries: list[dict[str, Any]]) -> dict[str, Any]:
    """retrieval_report plus the per-query best scores (for the report's histogram). "Nothing fits"
    is decided as served: by the answerability model when the model has one, else by the cosine."""
    scores, dense = retrieval_scores(model, kb, queries)
    relevant = [q["relevant"] for q in queries]
    top = dense.max(axis=1) if dense.size else np.zeros(len(queries))
    if model.answerability is not None and queries:
        top, scores = served_answerability(model, kb, queries, scores)
    out: dict[str, Any] = dict(retrieval_report(scores, [a["id"] for a in kb], relevant,
                                                model.suggestion_threshold, top))
    out["abstain_by"] = "answerability" if model.answerability is not None else "cosine"
    out["answerable"] = sum(1 for r in relevant if r)
    out["kb_size"] = len(kb)
    out["lexical_weight"] = model.lexical_weight
    if model.lexical_weight:
        out["dense_only"] = ranking_metrics(dense, [a["id"] for a in kb], relevant)
    out["top_scores"] = top.tolist()
    out["has_relevant"] = [bool(r) for r in relevant]
    return out


def summary(result: dict[str, Any]) -> dict[str, Any]:
    """The `--json` shape: exactly JSON_KEYS."""
    return {k: result[k] for k in JSON_KEYS}
