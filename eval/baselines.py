"""Baselines on the fixed splits of a data directory, to put the model's numbers in context.

- heads: TF-IDF (word 1-2-grams + character 2-5-grams) + logistic regression, and the
  frozen base encoder's embeddings ("query: " prefix) + logistic regression; trained
  on train, reported on test;
- retrieval: BM25 (lowercase word tokens) and the frozen base encoder (queries
  "query: ", passages "passage: "); the abstain threshold is chosen on the dev
  queries and applied to the test queries.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion

from eval.embedding import embed_by_length
from eval.inputs import load_data_dir
from eval.tables import markdown_table
from models.data_io import post_text
from models.encoder import PASSAGE, QUERY, Encoder
from models.inference import passage_text
from models.lexical import tokenize
from models.metrics import best_abstain_threshold, head_metrics, retrieval_report
from models.schema import LabelConfig
from training.corpus import Corpus

Scorer = Callable[[list[str]], np.ndarray]  # query texts -> scores against the knowledge base
RETRIEVAL_KEYS = ("recall@1", "recall@3", "mrr@10", "ndcg@10",
                  "abstain_precision", "abstain_recall", "abstain_f1")
def tfidf_features(train: list[str], test: list[str]) -> tuple[Any, Any]:
    union = FeatureUnion([
        ("word", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, min_df=1)),
        ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=1)),
    ])
    return union.fit_transform(train), union.transform(test)


def fit_predict(x_train: Any, y_train: np.ndarray, x_test: Any, solver: str = "lbfgs") -> np.ndarray:
    """Logistic regression (balanced class weights); a constant when train has one class."""
    if len(np.unique(y_train)) < 2:
        return np.full(x_test.shape[0], y_train[0] if len(y_train) else 0)
    clf = LogisticRegression(max_iter=2000, class_weight="balanced", solver=solver)
    return clf.fit(x_train, y_train).predict(x_test)


def head_baseline(x_train: Any, x_test: Any, train: list[dict], test: list[dict], labels: LabelConfig,
                  solver: str = "lbfgs") -> dict[str, dict[str, float]]:
    """One logistic regression per head; `sag` suits large sparse TF-IDF matrices."""
    out = {}
    for head, names in labels.heads.items():
        y_tr = np.array([names.index(r[head]) for r in train])
        y_te = np.array([names.index(r[head]) for r in test])
        m = head_metrics(y_te, fit_predict(x_train, y_tr, x_test, solver), names)
        out[head] = {"accuracy": m["accuracy"], "macro_f1": m["macro_f1"]}
    return out


def bm25_scorer(passages: list[str]) -> Scorer:
    from rank_bm25 import BM25Okapi

    bm25 = BM25Okapi([tokenize(p) or [""] for p in passages])
    def score(queries: list[str]) -> np.ndarray:
        rows = [bm25.get_scores(tokenize(q)) for q in queries]
        return np.array(rows, dtype=np.float64).reshape(len(queries), len(passages))

    return score


def encoder_scorer(encoder: Encoder, passages: list[str]) -> Scorer:
    p = embed_by_length(encoder, passages, PASSAGE)
    return lambda queries: embed_by_length(encoder, queries, QUERY) @ p.T


def retrieval_baseline(score: Scorer, answer_ids: list[str], dev: list[dict],
                       test: list[dict]) -> dict[str, Any]:
    """Abstain threshold chosen on dev (best abstain F1), applied to test."""
    dev_scores = score([post_text(q) for q in dev])
    dev_rel = [q["relevant"] for q in dev]
    threshold = best_abstain_threshold(dev_scores.max(axis=1), dev_rel) if dev else 0.0
    test_scores = score([post_text(q) for q in test])
    test_rel = [q["relevant"] for q in test]
    return retrieval_report(test_scores, answer_ids, test_rel, round(float(threshold), 4))


def _log(msg: str, t0: float) -> None:
    print(f"[baselines] {msg} ({time.perf_counter() - t0:.1f} s)", file=sys.stderr, flush=True)


def run_baselines(data_dir: str | Path, base: str | Path = "models/base",
                  max_length: int = 256) -> dict[str, Any]:
    t0 = time.perf_counter()
    corpus = load_data_dir(data_dir)
    train, test = corpus.posts.splits["train"], corpus.posts.splits["test"]
    train_texts, test_texts = [post_text(r) for r in train], [post_text(r) for r in test]
    out: dict[str, Any] = {"data": str(data_dir), "base": str(base), "sizes": _sizes(corpus), "heads": {},
                           "retrieval": {}}
    x_train, x_test = tfidf_features(train_texts, test_texts)
    out["heads"]["tfidf_logreg"] = head_baseline(x_train, x_test, train, test, corpus.labels, "sag")
    _log("TF-IDF heads done", t0)
    passages = [passage_text(a) for a in corpus.kb]
    ids = [a["id"] for a in corpus.kb]
    dev_q, test_q = corpus.queries.splits["dev"], corpus.queries.splits["test"]
    if corpus.kb:
        out["retrieval"]["bm25"] = retrieval_baseline(bm25_scorer(passages), ids, dev_q, test_q)
        _log("BM25 done", t0)
    encoder = Encoder(base, max_length=max_length)
    x_train = embed_by_length(encoder, train_texts, QUERY)
    x_test = embed_by_length(encoder, test_texts, QUERY)
    out["heads"]["frozen_encoder_logreg"] = head_baseline(x_train, x_test, train, test, corpus.labels)
    _log("frozen-encoder heads done", t0)
    if corpus.kb:
        scorer = encoder_scorer(encoder, passages)
        out["retrieval"]["frozen_encoder"] = retrieval_baseline(scorer, ids, dev_q, test_q)
        _log("frozen-encoder retrieval done", t0)
    return out


def _sizes(corpus: Corpus) -> dict[str, int]:
    return {"train_posts": len(corpus.posts.splits["train"]), "test_posts": len(corpus.posts.splits["test"]),
            "kb": len(corpus.kb), "dev_queries": len(corpus.queries.splits["dev"]),
            "test_queries": len(corpus.queries.splits["test"])}


def render_baselines(result: dict[str, Any]) -> str:
    s = result["sizes"]
    parts = [f"## Baselines on the test split ({s['train_posts']} train / {s['test_posts']} test posts)", ""]
    rows = [[method, head, m["accuracy"], m["macro_f1"]]
            for method, heads in result["heads"].items() for head, m in heads.items()]
    parts += [markdown_table(["method", "head", "accuracy", "macro-F1"], rows), ""]
    if result["retrieval"]:
        parts += [f"## Retrieval baselines ({s['test_queries']} test queries, {s['kb']} answers; "
                  f"abstain threshold chosen on {s['dev_queries']} dev queries)", ""]
        rows = [[method, m["threshold"], *(float(m[k]) for k in RETRIEVAL_KEYS)]
                for method, m in result["retrieval"].items()]
        parts += [markdown_table(["method", "threshold", *RETRIEVAL_KEYS], rows), ""]
    return "\n".join(parts)
