"""Retrieval settings fitted after training, without test data: the BM25 fusion weight, the
dense abstain threshold, and the record of which retriever is served."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from models.data_io import post_text
from models.encoder import PASSAGE, QUERY
from models.inference import passage_text
from models.lexical import bm25_matrix, fuse
from models.metrics import best_abstain_threshold, ranking_metrics, retrieval_report
from training.batches import Batcher, predict_logits
from training.config import TrainConfig
from training.corpus import Corpus
from training.model import MultiTaskModel

LEXICAL_WEIGHTS = (0.0, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03)


@dataclass
class RetrievalScores:
    dense: np.ndarray
    lexical: np.ndarray
    relevant: list[list[str]]

def retrieval_scores(model: MultiTaskModel, batcher: Batcher, passages: tuple[list[str], np.ndarray],
                     queries: list[dict]) -> RetrievalScores:
    texts = [post_text(q) for q in queries]
    _, Q = predict_logits(model, batcher, texts, QUERY)
    return RetrievalScores(Q @ passages[1].T, bm25_matrix(passages[0], texts), [q["relevant"] for q in queries])

def choose_lexical_weight(sets: list[RetrievalScores], ids: list[str], candidates: int = 100) -> float:
    """The BM25 weight with the best MRR@10 over `sets` (ties: the smaller weight)."""
    def mrr(w: float) -> float:
        return float(np.mean([ranking_metrics(fuse(s.dense, s.lexical, w, candidates), ids, s.relevant)["mrr@10"]
                              for s in sets]))
    scored = [(mrr(w), -w) for w in LEXICAL_WEIGHTS]
    return -max(scored)[1]

def fit_retrieval(model: MultiTaskModel, corpus: Corpus, batcher: Batcher, cfg: TrainConfig) -> dict[str, Any]:
    """Lexical weight and abstain threshold, chosen without test data. The weight is chosen on dev
    queries, plus the train queries when the retriever never trained on them (the frozen tower);
    the threshold (on the dense cosine) on dev by abstain F1."""
    if not corpus.queries.splits["dev"] or not corpus.kb:
        return {"threshold": 0.0, "lexical_weight": 0.0}
    ids = [a["id"] for a in corpus.kb]
    texts = [passage_text(a) for a in corpus.kb]
    passages = (texts, predict_logits(model, batcher, texts, PASSAGE)[1])
    dev = retrieval_scores(model, batcher, passages, corpus.queries.splits["dev"])
    sets = [dev]
    if cfg.retrieval == "tower" and corpus.queries.splits["train"]:
        sets.append(retrieval_scores(model, batcher, passages, corpus.queries.splits["train"]))
    weight = choose_lexical_weight(sets, ids, cfg.lexical_candidates) if cfg.hybrid else 0.0
    threshold = round(best_abstain_threshold(dev.dense.max(1), dev.relevant), 4)
    ranking = fuse(dev.dense, dev.lexical, weight, cfg.lexical_candidates)
    report = retrieval_report(ranking, ids, dev.relevant, threshold, dev.dense.max(1))
    dense_only = retrieval_report(dev.dense, ids, dev.relevant, threshold)
    return {**report, "lexical_weight": weight, "lexical_candidates": cfg.lexical_candidates,
            "dense_only": dense_only,
            "weight_chosen_on": "dev + train queries" if len(sets) > 1 else "dev queries"}

def frozen_base_retrieval(base: str, corpus: Corpus, split: str, max_length: int) -> dict[str, Any]:
    """The separate-encoder alternative: the frozen base (all its layers) as retriever."""
    from models.encoder import Encoder

    queries = corpus.queries.splits[split]
    if not queries or not corpus.kb:
        return {}
    enc = Encoder(base, max_length=max_length)
    P = enc.embed([passage_text(a) for a in corpus.kb], PASSAGE)
    Q = enc.embed([post_text(q) for q in queries], QUERY)
    scores = Q @ P.T
    rel = [q["relevant"] for q in queries]
    return retrieval_report(scores, [a["id"] for a in corpus.kb], rel,
                            round(best_abstain_threshold(scores.max(1), rel), 4))

def retrieval_decision(cfg: TrainConfig, shared: dict[str, Any], separate: dict[str, Any],
                       tolerance: float = 0.02) -> dict[str, Any]:
    """Record which retriever is served and why. The tower layout serves the base's own
    embedding by construction; a shared layout is compared with the frozen base on dev."""
    if cfg.retrieval == "tower":
        return {"choice": "tower", "tower_from_layer": cfg.freeze_layers,
                "why": "the base model's frozen upper layers give the retrieval embedding, so domain tuning "
                       "cannot cost general retrieval; the trunk below them is shared with the heads"}
    if not shared or not separate:
        return {"choice": "shared", "why": "no dev queries to compare"}
    gap = separate["mrr@10"] - shared["mrr@10"]
    if gap > tolerance:
        print(f"warning: the frozen base retrieves better on dev (MRR@10 {separate['mrr@10']:.3f} vs "
              f"{shared['mrr@10']:.3f}); consider retrieval=tower", flush=True)
    return {"choice": "shared", "dev_mrr@10_shared": shared["mrr@10"], "dev_mrr@10_separate": separate["mrr@10"],
            "dev_recall@1_shared": shared["recall@1"], "dev_recall@1_separate": separate["recall@1"],
            "separate_clearly_better": gap > tolerance, "tolerance": tolerance}
