"""Checks on real, third-party Dutch data in ../shared/external-eval/ (evaluation only:
read in place, never copied into the project, never trained on).

- SemEval-2016 ABSA Dutch restaurant sentences: the sentiment head, zero-shot transfer
  (restaurant reviews, not telecom posts);
- Rijksoverheid FAQ pairs: each question retrieves among all answer passages
  (the model's encoder, the frozen base encoder and BM25).
"""

from __future__ import annotations

import csv
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from eval.posts import calibrated_probabilities
from eval.retrieval import served_scores
from eval.tables import markdown_table
from models.inference import TriageModel
from models.metrics import head_metrics, ranking_metrics

SEMEVAL_TEST = Path("semeval16-absa-nl-restaurants") / "test.sentences.tsv"
FAQ_PAIRS = Path("rijksoverheid-faq-policyqa") / "faq_pairs.tsv"
POLARITIES = ("negative", "neutral", "positive")
BASE_MAX_LENGTH = 512
# Figures stated in the issue for the full 500 FAQ pairs, to compare against.
FAQ_REFERENCE = {"frozen_base@512": {"recall@1": 0.874, "mrr@10": 0.929},
                 "bm25": {"recall@1": 0.772, "mrr@10": 0.855}}


def default_external_dir() -> Path:
    return Path(__file__).resolve().parents[1].parent / "shared" / "external-eval"


def read_tsv(path: Path) -> list[dict[str, str]]:
    """Tab-separated with a header row; fields may be quoted (CSV rules)."""
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def sentence_polarity(opinions: str) -> str | None:
    """The one polarity all of a sentence's opinions share; None for no opinion or mixed."""
    pols = {op.split("|")[1] for op in opinions.split(" ;; ") if op.count("|") >= 2}
    return pols.pop() if len(pols) == 1 else None


def semeval_sentences(path: Path) -> tuple[list[tuple[str, str]], dict[str, int]]:
    """(text, polarity) for sentences whose opinions all share one polarity, and what was left out."""
    rows = read_tsv(path)
    opinions_col = next(c for c in rows[0] if c.startswith("opinions"))
    kept: list[tuple[str, str]] = []
    skipped: Counter[str] = Counter()
    for r in rows:
        ops = (r.get(opinions_col) or "").strip()
        pol = sentence_polarity(ops) if ops else None
        if pol in POLARITIES:
            kept.append((r["text"], pol))
        else:
            skipped["no_opinion" if not ops else "mixed_polarity"] += 1
    return kept, dict(skipped)


def sentiment_transfer(model: TriageModel, path: Path, limit: int = 0) -> dict[str, Any]:
    labels = model.manifest.label_sets.get("sentiment")
    if not labels or not set(POLARITIES) <= set(labels):
        return {"skipped": "the model has no sentiment head with negative/neutral/positive"}
    items, skipped = semeval_sentences(path)
    items = items[:limit] if limit else items
    probs = calibrated_probabilities(model, [t for t, _ in items])["sentiment"]
    y = np.array([labels.index(p) for _, p in items])
    m = head_metrics(y, probs.argmax(axis=1), labels)
    return {"n": len(items), "accuracy": m["accuracy"], "macro_f1": m["macro_f1"],
            "per_class": m["per_class"],
            "gold_counts": dict(Counter(p for _, p in items)), "left_out": skipped, "zero_shot": True}


def faq_pairs(path: Path, limit: int = 0) -> tuple[list[str], list[str]]:
    rows = read_tsv(path)
    rows = rows[:limit] if limit else rows
    return [r["question"] for r in rows], [r["answer_passage"] for r in rows]


def own_passage_metrics(scores: np.ndarray) -> dict[str, float]:
    """Question i's only relevant passage is passage i."""
    ids = [str(i) for i in range(scores.shape[1])]
    return ranking_metrics(scores, ids, [[str(i)] for i in range(scores.shape[0])])


def model_faq_scores(model: TriageModel, questions: list[str], passages: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(served ranking, dense only) scores."""
    return served_scores(model, passages, questions)


def base_faq_metrics(base: str | Path, questions: list[str], passages: list[str],
                     max_lengths: list[int]) -> dict[str, dict[str, float]]:
    """The frozen base encoder at each token limit, loaded once."""
    from eval.embedding import embed_by_length
    from models.encoder import PASSAGE, QUERY, Encoder

    enc = Encoder(base)
    out = {}
    for n in max_lengths:
        enc.max_length = n
        scores = embed_by_length(enc, questions, QUERY) @ embed_by_length(enc, passages, PASSAGE).T
        out[f"frozen_base@{n}"] = own_passage_metrics(scores)
    return out


def bm25_faq_scores(questions: list[str], passages: list[str]) -> np.ndarray:
    from eval.baselines import bm25_scorer

    return bm25_scorer(passages)(questions)


def faq_retrieval(model: TriageModel, path: Path, base: str | Path | None, limit: int = 0,
                  base_max_lengths: list[int] | None = None) -> dict[str, Any]:
    """recall@k/MRR@10 of question -> its own passage, per encoder. The frozen base runs at
    512 tokens (as in the issue's figures) and at the model's own max_length (a like-for-like
    comparison: the model truncates every text at its manifest max_length)."""
    questions, passages = faq_pairs(path, limit)
    model_len = model.manifest.max_length
    served, dense = model_faq_scores(model, questions, passages)
    encoders = {f"model@{model_len}": own_passage_metrics(served)}
    if model.lexical_weight:
        encoders[f"model_dense_only@{model_len}"] = own_passage_metrics(dense)
    if base is not None:
        lengths = base_max_lengths or list(dict.fromkeys([BASE_MAX_LENGTH, model_len]))
        encoders.update(base_faq_metrics(base, questions, passages, lengths))
    encoders["bm25"] = own_passage_metrics(bm25_faq_scores(questions, passages))
    out: dict[str, Any] = {"n": len(questions), "passages": len(passages), "encoders": encoders}
    if not limit:
        out["reference"] = FAQ_REFERENCE
    return out


def run_external(model: TriageModel, external_dir: Path, base: str | Path | None, limit: int = 0,
                 base_max_lengths: list[int] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"external_dir": str(external_dir)}
    for key, rel, fn in (("sentiment", SEMEVAL_TEST, lambda p: sentiment_transfer(model, p, limit)),
                         ("faq_retrieval", FAQ_PAIRS, lambda p: faq_retrieval(model, p, base, limit,
                                                                              base_max_lengths))):
        path = external_dir / rel
        if path.is_file():
            out[key] = fn(path)
        else:
            out[key] = {"skipped": f"{path} not found"}
            print(f"[external] {key}: skipped, {path} not found", file=sys.stderr)
    return out


def render_external(result: dict[str, Any]) -> str:
    parts = []
    s = result.get("sentiment", {})
    if "skipped" in s:
        parts += [f"Sentiment (SemEval-2016 NL restaurants): skipped, {s['skipped']}", ""]
    else:
        parts += [f"## Sentiment head, zero-shot transfer to SemEval-2016 Dutch restaurant sentences "
                  f"(n={s['n']}, single-polarity sentences; left out: {s['left_out']})", "",
                  markdown_table(["accuracy", "macro-F1", "gold counts"],
                                 [[s["accuracy"], s["macro_f1"], s["gold_counts"]]]), ""]
    f = result.get("faq_retrieval", {})
    if "skipped" in f:
        parts += [f"FAQ retrieval (Rijksoverheid): skipped, {f['skipped']}", ""]
    else:
        rows = [[name, m["recall@1"], m["mrr@10"]] for name, m in f["encoders"].items()]
        rows += [[f"{name} (stated in the issue)", ref["recall@1"], ref["mrr@10"]]
                 for name, ref in f.get("reference", {}).items()]
        parts += [f"## Rijksoverheid FAQ retrieval ({f['n']} questions, each against all {f['passages']} "
                  "passages; name@N: texts truncated at N tokens)", "",
                  markdown_table(["encoder", "recall@1", "MRR@10"], rows), ""]
    return "\n".join(parts)
