"""Fit the lexical heads (TF-IDF + logistic regression per head, on the train posts) and the
weight that mixes them into the transformer's calibrated probabilities (chosen on dev by mean
macro-F1; 0 means the ensemble does not help and nothing is written). The mixture gets its
own temperature per head (fitted on dev NLL, as training fits the model's), and the per-head
abstain thresholds are re-chosen on the mixed dev probabilities.

`python -m training fit-lexical --data training/data --model models/default`
(before fit-answerability and tune-policy, which read the served probabilities).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from models import lexical_heads
from models.artifact import load_manifest, write_manifest
from models.data_io import post_text
from models.inference import TriageModel
from models.schema import LabelConfig
from training import calibration
from training.batches import evaluate_heads, label_matrix, mean_macro_f1
from training.corpus import load_corpus

WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)


def fit_arrays(texts: list[str], labels: dict[str, np.ndarray], c: float = 4.0) -> dict[str, Any]:
    word = TfidfVectorizer(analyzer="word", ngram_range=lexical_heads.WORD_NGRAMS, sublinear_tf=True, min_df=2)
    char = TfidfVectorizer(analyzer="char_wb", ngram_range=lexical_heads.CHAR_NGRAMS, sublinear_tf=True, min_df=2)
    x_word, x_char = word.fit_transform(texts), char.fit_transform(texts)
    from scipy.sparse import hstack

    x = hstack([x_word, x_char]).tocsr()
    arrays: dict[str, Any] = {"heads": np.array(list(labels), dtype=str),
                              "word_terms": np.array(word.get_feature_names_out(), dtype=str), "word_idf": word.idf_,
                              "char_terms": np.array(char.get_feature_names_out(), dtype=str), "char_idf": char.idf_}
    for head, y in labels.items():
        clf = LogisticRegression(C=c, max_iter=2000, class_weight="balanced").fit(x, y)
        if len(clf.classes_) != int(y.max()) + 1:
            raise ValueError(f"head {head}: the train posts do not cover every label")
        arrays[f"coef_{head}"], arrays[f"intercept_{head}"] = clf.coef_, clf.intercept_
    return arrays


def fit_lexical(data: Path, model_dir: Path, target_precision: float = 0.9) -> dict[str, Any]:
    stale = load_manifest(model_dir, kind="triage-model", verify_files=False)
    if lexical_heads.FILE in stale.files or (model_dir / lexical_heads.FILE).exists():  # refit from scratch
        (model_dir / lexical_heads.FILE).unlink(missing_ok=True)
        if "model_only_thresholds" in stale.details:
            stale.thresholds = stale.details.pop("model_only_thresholds")
        write_manifest(model_dir, stale, sorted(set(stale.files) - {lexical_heads.FILE}))
    model = TriageModel(model_dir, intra_threads=2)
    manifest = model.manifest
    label_sets = {h: list(v) for h, v in manifest.label_sets.items()}
    corpus = load_corpus(data, LabelConfig(label_sets))
    train, dev = corpus.posts.splits["train"], corpus.posts.splits["dev"]
    heads = list(label_sets)
    y_train, y_dev = label_matrix(train, corpus.labels), label_matrix(dev, corpus.labels)
    try:
        arrays = fit_arrays([post_text(r) for r in train], {h: y_train[:, k] for k, h in enumerate(heads)})
    except ValueError as exc:  # e.g. a label no train post has: serve the transformer alone
        skipped: dict[str, Any] = {"weight": 0.0, "skipped": str(exc)}
        manifest.metrics["lexical_ensemble_dev"] = skipped
        write_manifest(model_dir, manifest, sorted(manifest.files))
        return skipped
    dev_texts = [post_text(r) for r in dev]
    p_model = {h: np.concatenate([model.probabilities(model.run(dev_texts[i:i + 32])[0])[h]
                                  for i in range(0, len(dev_texts), 32)]) for h in heads}
    p_lex = lexical_heads.LexicalHeads({**arrays, "weight": np.array(0.0)}).probabilities(dev_texts)
    def dev_score(w: float, temps: dict[str, float] | None = None) -> dict[str, np.ndarray]:
        return {h: lexical_heads.mix_head(p_model[h], p_lex[h], w, (temps or {}).get(h, 1.0)) for h in heads}

    scores = {w: mean_macro_f1(evaluate_heads([dev_score(w)[h] for h in heads], y_dev, corpus.labels))
              for w in WEIGHTS}
    weight = max(WEIGHTS, key=lambda w: (round(scores[w], 6), -w))
    report: dict[str, Any] = {"weight": weight, "chosen_on": f"dev, {len(dev)} posts, mean macro-F1",
                              "dev_mean_macro_f1_by_weight": {str(w): round(s, 4) for w, s in scores.items()}}
    files = set(manifest.files)
    if weight > 0:
        raw = dev_score(weight)
        temps = {h: calibration.fit_temperature(np.log(np.clip(raw[h], 1e-12, 1.0)), y_dev[:, k])
                 for k, h in enumerate(heads)}
        mixed = dev_score(weight, temps)
        lexical_heads.save(model_dir, {**arrays, "weight": np.array(weight),
                                       **{f"temperature_{h}": np.array(t) for h, t in temps.items()}})
        report["temperatures"] = {h: round(t, 4) for h, t in temps.items()}
        report["dev_ece_mixed_before_temperature"] = {h: round(calibration.ece(raw[h], y_dev[:, k]), 4)
                                                      for k, h in enumerate(heads)}
        model_thresholds = manifest.details.setdefault("model_only_thresholds", dict(manifest.thresholds))
        manifest.thresholds = {h: round(calibration.abstain_threshold(mixed[h], y_dev[:, k], target_precision), 4)
                               for k, h in enumerate(heads)}
        report["thresholds"] = {"model_only": model_thresholds, "mixed": manifest.thresholds}
        report["dev_ece_mixed"] = {h: round(calibration.ece(mixed[h], y_dev[:, k]), 4) for k, h in enumerate(heads)}
        files.add(lexical_heads.FILE)
    manifest.metrics["lexical_ensemble_dev"] = report
    write_manifest(model_dir, manifest, sorted(files))
    return report
