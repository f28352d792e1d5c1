"""Fit the answerability model ("does this answer solve this post?") for a trained model.

Runs after training, on the exported ONNX model, through the served retrieval path: the
knowledge base goes into the service's VectorIndex (dense + BM25), each query is triaged by
the model (heads + embedding), and the top CANDIDATES hits become rows labelled by whether
they are among the query's relevant answers. The near-duplicate answers of the knowledge
base's families come up among those candidates, so they are the hard negatives.

- coefficients: logistic regression on the training queries (the retrieval tower is the
  frozen base, so these queries were never seen by it);
- feature set, threshold and reranking: chosen on the dev queries plus the training queries'
  out-of-fold probabilities (dev alone is 64 queries), by "nothing fits" F1 and recall@1; the
  feature sets (FEATURE_SETS) run from all features down to the plain cosine, so a model whose
  head probabilities do not help on these queries serves without them;
- written to <model>/answerability.json and listed in the manifest (hash-checked at load).

`python -m training fit-answerability --data DIR --model DIR`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from models.answerability import CANDIDATES, FEATURES, FILE, AnswerabilityModel, Candidate, candidate_features
from models.artifact import write_manifest
from models.index import Hit, VectorIndex
from models.inference import TriageModel, passage_text
from models.metrics import abstain_metrics, best_abstain_threshold
from models.schema import LabelConfig
from models.textprep import post_text
from training.corpus import load_corpus


@dataclass
class QuerySet:
    """The served candidates of a set of queries with their features and relevance."""
    hits: list[list[Hit]]
    features: list[np.ndarray]  # per query [len(hits), len(FEATURES)]
    relevant: list[list[str]]

    def rows(self) -> tuple[np.ndarray, np.ndarray]:
        x = np.concatenate([f for f in self.features if len(f)]) if any(len(f) for f in self.features) \
            else np.zeros((0, len(FEATURES)), np.float32)
        y = np.array([h.answer_id in rel for hs, rel in zip(self.hits, self.relevant, strict=True) for h in hs])
        return x, y


def build_index(model: TriageModel, kb: list[dict[str, Any]]) -> VectorIndex:
    index = VectorIndex(model.dim, model.lexical_weight, model.lexical_candidates)
    texts = [passage_text(a) for a in kb]
    index.rebuild([a["id"] for a in kb], model.embed_passages(texts),
                  [{"product": a.get("product"), "topic": a.get("topic")} for a in kb], texts)
    return index


def served_text(row: dict[str, Any]) -> str:
    """The text the service triages (service.triage.Engine.text_of)."""
    return post_text(row.get("title") or "", row.get("body") or "")


def query_set(model: TriageModel, index: VectorIndex, queries: list[dict[str, Any]], batch: int = 32) -> QuerySet:
    hits: list[list[Hit]] = []
    feats: list[np.ndarray] = []
    for i in range(0, len(queries), batch):
        texts = [served_text(q) for q in queries[i:i + batch]]
        preds, emb = model.predict(texts)
        for pred, row in zip(preds, index.search(emb, CANDIDATES, None, texts), strict=True):
            hits.append(row)
            feats.append(candidate_features([Candidate(h.score, h.lexical, h.product, h.topic) for h in row],
                                            pred["product"].alternatives if "product" in pred else [],
                                            pred["topic"].alternatives if "topic" in pred else []))
    return QuerySet(hits, feats, [list(q.get("relevant") or []) for q in queries])


def candidate_ranking(qs: QuerySet, probs: list[np.ndarray], rerank: bool) -> dict[str, float]:
    """recall@1 and MRR over the served candidates (answerable queries), in retrieval order or by answerability."""
    r1 = mrr = 0.0
    n = 0
    for hits, p, rel in zip(qs.hits, probs, qs.relevant, strict=True):
        if not rel:
            continue
        n += 1
        order = np.argsort(-p, kind="stable") if rerank else np.arange(len(hits))
        ranked = [hits[j].answer_id for j in order]
        first = next((k for k, a in enumerate(ranked) if a in rel), None)
        r1 += first == 0
        mrr += 0.0 if first is None else 1.0 / (first + 1)
    return {"recall@1": r1 / max(n, 1), f"mrr@{CANDIDATES}": mrr / max(n, 1)}


# The feature sets a fit chooses among (models/answerability.py FEATURES). The heads' product and
# topic probabilities move with every retraining of the heads; `retrieval` leaves them out and
# `cosine` is the plain dense threshold, so a head change can never make suggestions worse than those.
FEATURE_SETS: dict[str, tuple[str, ...]] = {
    "all": FEATURES,
    "retrieval": tuple(f for f in FEATURES if f not in ("product_p", "answer_has_product", "topic_p")),
    "cosine": ("cosine",),
}


def _fit_lr(x: np.ndarray, y: np.ndarray, c: float, used: tuple[str, ...] = FEATURES) -> AnswerabilityModel:
    """Logistic regression on the `used` columns of x; the others get coefficient 0."""
    cols = [FEATURES.index(f) for f in used]
    scaler = StandardScaler().fit(x[:, cols])
    scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
    clf = LogisticRegression(C=c, max_iter=1000).fit((x[:, cols] - scaler.mean_) / scale, y)
    coef, mean, full_scale = np.zeros(len(FEATURES)), np.zeros(len(FEATURES)), np.ones(len(FEATURES))
    coef[cols], mean[cols], full_scale[cols] = clf.coef_[0], scaler.mean_, scale
    return AnswerabilityModel(coef=coef.tolist(), intercept=float(clf.intercept_[0]),
                              mean=mean.tolist(), scale=full_scale.tolist(), threshold=0.5)


def _probs(am: AnswerabilityModel, qs: QuerySet) -> list[np.ndarray]:
    return [am.probabilities(f) if len(f) else np.zeros(0) for f in qs.features]


def out_of_fold(tr: QuerySet, c: float, used: tuple[str, ...] = FEATURES, folds: int = 5,
                seed: int = 13) -> list[np.ndarray]:
    """Each training query's candidate probabilities from a model fitted without that query."""
    order = np.random.default_rng(seed).permutation(len(tr.hits))
    out: list[np.ndarray] = [np.zeros(0)] * len(tr.hits)
    for k in range(folds):
        held = set(order[k::folds].tolist())
        keep = QuerySet(*[[v for i, v in enumerate(col) if i not in held] for col in (tr.hits, tr.features,
                                                                                       tr.relevant)])
        x, y = keep.rows()
        if len(set(y.tolist())) < 2:
            continue
        am = _fit_lr(x, y, c, used)
        for i in held:
            f = tr.features[i]
            out[i] = am.probabilities(f) if len(f) else np.zeros(0)
    return out


def _top(probs: list[np.ndarray]) -> np.ndarray:
    return np.array([p.max() if len(p) else 0.0 for p in probs])


@dataclass
class _Candidate:
    """One feature set's fit, with its probabilities on dev and out of fold on train."""
    name: str
    model: AnswerabilityModel
    dev_probs: list[np.ndarray]
    oof: list[np.ndarray]


def fit(model: TriageModel, kb: list[dict[str, Any]], train: list[dict[str, Any]], dev: list[dict[str, Any]],
        c: float = 1.0) -> AnswerabilityModel:
    """Coefficients from the training queries, for each of FEATURE_SETS. The feature set, the
    threshold and the reranking choice are made on the dev queries together with the training
    queries' out-of-fold probabilities: dev alone (64 queries, 21 without an answer in the
    shipped corpus) is too few to place a threshold or pick a feature set."""
    index = build_index(model, kb)
    tr, dv = query_set(model, index, train), query_set(model, index, dev)
    x, y = tr.rows()
    if len(set(y.tolist())) < 2:
        raise ValueError("answerability needs training queries with and without a relevant candidate")
    both = QuerySet(tr.hits + dv.hits, tr.features + dv.features, tr.relevant + dv.relevant)
    fits, pooled = [], {}
    for name, used in FEATURE_SETS.items():
        cand = _fit_lr(x, y, c, used)
        fits.append(_Candidate(name, cand, _probs(cand, dv), out_of_fold(tr, c, used)))
        probs = _top(fits[-1].oof + fits[-1].dev_probs)
        pooled[name] = abstain_metrics(probs, both.relevant, best_abstain_threshold(probs, both.relevant))
    # the best pooled "nothing fits" F1; ties (within 0.005) go to the smaller feature set
    best_f1 = max(p["abstain_f1"] for p in pooled.values())
    chosen = [f for f in fits if pooled[f.name]["abstain_f1"] >= best_f1 - 0.005][-1]
    am, dev_probs, oof = chosen.model, chosen.dev_probs, chosen.oof
    both_probs = oof + dev_probs
    am.threshold = min(max(round(best_abstain_threshold(_top(both_probs), both.relevant), 4), 0.0), 1.0)
    plain, reranked = candidate_ranking(both, both_probs, False), candidate_ranking(both, both_probs, True)
    am.rerank = reranked["recall@1"] > plain["recall@1"] and reranked[f"mrr@{CANDIDATES}"] >= plain[f"mrr@{CANDIDATES}"]
    cosine_top = np.array([h[0].score if h else 0.0 for h in dv.hits])
    dev_rank = candidate_ranking(dv, dev_probs, am.rerank)
    am.report = {
        "fitted_on": f"{len(train)} training queries x top {CANDIDATES} served candidates "
                     f"({int(y.sum())} relevant of {len(y)})",
        "chosen_on": f"{len(dev)} dev queries ({sum(1 for r in dv.relevant if r)} answerable) and the "
                     f"{len(train)} training queries' 5-fold out-of-fold probabilities",
        "dev": {**abstain_metrics(_top(dev_probs), dv.relevant, am.threshold), **dev_rank},
        "out_of_fold_and_dev": {**abstain_metrics(_top(both_probs), both.relevant, am.threshold),
                                **candidate_ranking(both, both_probs, am.rerank)},
        "dev_cosine_threshold": {**abstain_metrics(cosine_top, dv.relevant, model.retrieval_threshold),
                                 **candidate_ranking(dv, dev_probs, False), "threshold": model.retrieval_threshold},
        "feature_set": chosen.name,
        "feature_sets_out_of_fold_and_dev": {k: {m: round(float(v), 4) for m, v in p.items()}
                                             for k, p in pooled.items()},
        "coefficients": dict(zip(FEATURES, [round(float(v), 4) for v in am.coef], strict=True)),
    }
    return am


def fit_answerability(data: Path, model_dir: Path) -> AnswerabilityModel:
    """Fit on the data directory's train queries, threshold on dev + out-of-fold train (the same
    fixed split as training: training/corpus.py); save into the model directory."""
    model = TriageModel(model_dir, intra_threads=2)
    corpus = load_corpus(data, LabelConfig(dict(model.manifest.label_sets)))
    kb, train, dev = corpus.kb, corpus.queries.splits["train"], corpus.queries.splits["dev"]
    am = fit(model, kb, train, dev)
    am.save(model_dir)
    manifest = model.manifest
    manifest.metrics["answerability_dev"] = {**am.report["dev"], "feature_set": am.report["feature_set"]}
    manifest.metrics["cosine_threshold_dev"] = am.report["dev_cosine_threshold"]
    write_manifest(model_dir, manifest, sorted({*manifest.files, FILE}))
    return am
