"""Lexical heads: the numpy serving path reproduces scikit-learn's TF-IDF + logistic regression,
fit-lexical stores them in the model (hash-checked), and the service mixes them in."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy.sparse import hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from models.artifact import ArtifactError, load_manifest
from models.data_io import load_posts, post_text
from models.inference import TriageModel
from models.lexical_heads import FILE, LexicalHeads, char_wb_ngrams, mix_head, word_ngrams
from models.schema import DEFAULT_LABELS, LabelConfig
from tests.conftest import MINI
from training import lexical_ensemble

LABELS = LabelConfig.from_file(DEFAULT_LABELS)
ODD = ["", "   ", "Één  woord", "e-SIM!! werkt niet 😡\nna update iOS 18.2", "a b c", "ÉÉN ÉÉN één"]


def _posts() -> tuple[list[str], dict[str, np.ndarray]]:
    rows = load_posts(MINI / "posts.jsonl", LABELS)
    return [post_text(r) for r in rows], {h: np.array([v.index(r[h]) for r in rows]) for h, v in LABELS.heads.items()}


@pytest.mark.parametrize("text", ODD)
def test_analyzers_match_scikit_learn(text: str) -> None:
    word = TfidfVectorizer(analyzer="word", ngram_range=(1, 2)).build_analyzer()
    char = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5)).build_analyzer()
    assert word_ngrams(text) == word(text)
    assert char_wb_ngrams(text) == char(text)


def test_probabilities_match_scikit_learn() -> None:
    texts, labels = _posts()
    train, held = texts[:70], texts[70:] + ODD
    arrays = lexical_ensemble.fit_arrays(train, {h: y[:70] for h, y in labels.items()})
    ours = LexicalHeads({**arrays, "weight": np.array(0.5)}).probabilities(held)
    word = TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, min_df=2)
    char = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)
    x = hstack([word.fit_transform(train), char.fit_transform(train)]).tocsr()
    x_held = hstack([word.transform(held), char.transform(held)]).tocsr()
    for head, y in labels.items():
        clf = LogisticRegression(C=4.0, max_iter=2000, class_weight="balanced").fit(x, y[:70])
        np.testing.assert_allclose(ours[head], clf.predict_proba(x_held), atol=1e-5)


def test_mixing_keeps_distributions_and_temperature_sharpens() -> None:
    p_model = np.array([[0.7, 0.2, 0.1]])
    p_lex = np.array([[0.2, 0.5, 0.3]])
    mixed = mix_head(p_model, p_lex, 0.5)
    np.testing.assert_allclose(mixed, [[0.45, 0.35, 0.2]])
    sharp = mix_head(p_model, p_lex, 0.5, temperature=0.5)
    assert sharp.sum() == pytest.approx(1.0) and sharp[0, 0] > mixed[0, 0] and sharp.argmax() == mixed.argmax()


def test_fit_lexical_ships_hash_checked_heads(tiny_model: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    model_dir = tmp_path / "model"
    shutil.copytree(tiny_model, model_dir)
    before = TriageModel(model_dir).predict(["Mijn factuur is te hoog"])[0][0]
    monkeypatch.setattr(lexical_ensemble, "WEIGHTS", (0.5,))  # force a mix on the tiny data
    report = lexical_ensemble.fit_lexical(MINI, model_dir)
    assert report["weight"] == 0.5 and set(report["temperatures"]) == set(LABELS.heads)
    manifest = load_manifest(model_dir)
    assert FILE in manifest.files and manifest.metrics["lexical_ensemble_dev"]["weight"] == 0.5
    model = TriageModel(model_dir)
    assert model.lexical is not None and model.lexical.weight == 0.5
    after = model.predict(["Mijn factuur is te hoog"])[0][0]
    assert any(after[h].confidence != before[h].confidence for h in LABELS.heads)
    lexical_ensemble.fit_lexical(MINI, model_dir)  # refitting replaces, never stacks
    assert load_manifest(model_dir).files[FILE]
    with open(model_dir / FILE, "r+b") as fh:  # a changed file is refused at load
        fh.seek(100)
        fh.write(b"\x00\x01\x02")
    with pytest.raises(ArtifactError):
        TriageModel(model_dir)


def test_heads_that_cannot_be_fitted_leave_the_transformer_alone(tiny_model: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    model_dir = tmp_path / "model"
    shutil.copytree(tiny_model, model_dir)

    def no_fit(*_args: object, **_kw: object) -> None:
        raise ValueError("head route: the train posts do not cover every label")

    monkeypatch.setattr(lexical_ensemble, "fit_arrays", no_fit)
    report = lexical_ensemble.fit_lexical(MINI, model_dir)
    assert report["weight"] == 0.0 and "do not cover" in report["skipped"]
    assert not (model_dir / FILE).exists() and FILE not in load_manifest(model_dir).files
    assert TriageModel(model_dir).lexical is None
