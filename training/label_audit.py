"""Label audit by confident learning (cleanlab): posts whose given label disagrees with
cross-validated predictions of a model that never saw them.

Out-of-fold probabilities come from a TF-IDF (words and character n-grams) + logistic
regression per head, 5-fold, over the train and dev posts (never test: test labels are not
corrected with a model's help). `cleanlab.filter.find_label_issues` then ranks the likely
label errors by self-confidence. The list is for a person to re-label by ../shared/labels.md;
nothing is changed automatically.

`python -m training audit-labels --data training/data --out training/data/audit/label_issues.jsonl`
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from cleanlab.filter import find_label_issues
from scipy.sparse import hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from models.data_io import post_text, write_jsonl
from training.corpus import load_corpus

AUDITED_SPLITS = ("train", "dev")


def out_of_fold_probabilities(texts: list[str], y: np.ndarray, n_classes: int, folds: int = 5,
                              seed: int = 13) -> np.ndarray:
    probs = np.zeros((len(texts), n_classes))
    smallest = int(np.bincount(y, minlength=n_classes)[np.bincount(y, minlength=n_classes) > 0].min())
    splitter = StratifiedKFold(n_splits=max(2, min(folds, smallest)), shuffle=True, random_state=seed)
    for train_idx, test_idx in splitter.split(texts, y):
        words = TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True)
        chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 4), min_df=3, max_features=30000,
                                sublinear_tf=True)
        fit = [texts[i] for i in train_idx]
        x_train = hstack([words.fit_transform(fit), chars.fit_transform(fit)]).tocsr()
        held = [texts[i] for i in test_idx]
        x_test = hstack([words.transform(held), chars.transform(held)]).tocsr()
        clf = LogisticRegression(C=4.0, max_iter=300, class_weight="balanced").fit(x_train, y[train_idx])
        probs[np.ix_(test_idx, clf.classes_)] = clf.predict_proba(x_test)
    return probs


def audit(data: Path) -> list[dict[str, Any]]:
    corpus = load_corpus(data)
    rows = [(s, r) for s in AUDITED_SPLITS for r in corpus.posts.splits[s]]
    texts = [post_text(r) for _, r in rows]
    issues: list[dict[str, Any]] = []
    for head, labels in corpus.labels.heads.items():
        y = np.array([labels.index(r[head]) for _, r in rows])
        probs = out_of_fold_probabilities(texts, y, len(labels))
        ranked = find_label_issues(y, probs, return_indices_ranked_by="self_confidence", n_jobs=1)
        for i in ranked:
            split, row = rows[int(i)]
            issues.append({"id": row["id"], "split": split, "head": head, "given": row[head],
                           "suggested": labels[int(probs[i].argmax())],
                           "given_probability": round(float(probs[i, y[i]]), 4),
                           "title": row.get("title") or "", "body": row["body"]})
    return issues


def run_audit(data: Path, out: Path) -> dict[str, int]:
    issues = audit(data)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_jsonl(out, issues)
    counts: dict[str, int] = {}
    for row in issues:
        counts[row["head"]] = counts.get(row["head"], 0) + 1
    return counts
