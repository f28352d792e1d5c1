"""The label audit: cleanlab over out-of-fold TF-IDF probabilities finds a planted error and
never looks at test posts."""

from __future__ import annotations

import numpy as np
from cleanlab.filter import find_label_issues

from tests.conftest import MINI
from training.corpus import load_corpus
from training.label_audit import audit, out_of_fold_probabilities


def test_a_planted_mislabel_is_found() -> None:
    bills = [f"mijn factuur is te hoog deze maand, bedrag {i} euro dubbel afgeschreven" for i in range(20)]
    wifi = [f"de wifi van mijn modem valt steeds weg in kamer {i}, router knippert" for i in range(20)]
    texts = bills + wifi
    y = np.array([0] * 20 + [1] * 20)
    y[3] = 1  # a billing post labelled as home internet
    probs = out_of_fold_probabilities(texts, y, 2)
    issues = find_label_issues(y, probs, return_indices_ranked_by="self_confidence", n_jobs=1)
    assert 3 in issues.tolist() and len(issues) <= 3


def test_audit_lists_train_and_dev_posts_only() -> None:
    corpus = load_corpus(MINI)
    test_ids = {r["id"] for r in corpus.posts.splits["test"]}
    issues = audit(MINI)
    assert issues and all(i["split"] in ("train", "dev") and i["id"] not in test_ids for i in issues)
    assert all(i["given"] != i["suggested"] or i["given_probability"] < 0.5 for i in issues)
    assert {i["head"] for i in issues} <= set(corpus.labels.heads)
