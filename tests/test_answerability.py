"""The answerability model: features, save/load through the artifact contract, fitting on the
tiny model through the served retrieval path, and what the service serves with it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from models.answerability import FEATURES, FILE, AnswerabilityModel, Candidate, candidate_features
from models.artifact import ArtifactError
from models.inference import TriageModel
from service.app import create_app
from service.settings import Settings
from tests.conftest import MINI

ADMIN = {"X-API-Key": "admin-key-0000000000001"}


def _model(**kw: object) -> AnswerabilityModel:
    n = len(FEATURES)
    base = {"coef": [1.0] + [0.0] * (n - 1), "intercept": 0.0, "mean": [0.5] + [0.0] * (n - 1),
            "scale": [0.1] + [1.0] * (n - 1), "threshold": 0.5}
    return AnswerabilityModel(**{**base, **kw})  # type: ignore[arg-type]


def test_features_follow_the_served_candidates() -> None:
    cands = [Candidate(0.9, 8.0, "apple", "device"), Candidate(0.8, 2.0, None, "device"), Candidate(0.7, 0.0)]
    f = candidate_features(cands, [("apple", 0.7), ("samsung", 0.2)], [("device", 0.6)])
    col = {name: f[:, i] for i, name in enumerate(FEATURES)}
    assert f.shape == (3, len(FEATURES))
    np.testing.assert_allclose(col["gap_top"], [0.0, -0.1, -0.2], atol=1e-6)
    np.testing.assert_allclose(col["margin_next"][:2], [0.1, 0.1], atol=1e-6)
    np.testing.assert_allclose(col["bm25_rel"], [1.0, np.log1p(2.0) / np.log1p(8.0), 0.0], atol=1e-6)
    np.testing.assert_allclose(col["product_p"], [0.7, 0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(col["answer_has_product"], [1, 0, 0])
    np.testing.assert_allclose(col["topic_p"], [0.6, 0.6, 0.0], atol=1e-6)
    assert candidate_features([], [], []).shape == (0, len(FEATURES))


def test_save_load_roundtrip_and_validation(tmp_path: Path) -> None:
    am = _model(rerank=True, report={"dev": {"abstain_f1": 0.8}})
    am.save(tmp_path)
    back = AnswerabilityModel.load(tmp_path)
    assert back is not None and back.to_dict() == am.to_dict()
    x = np.zeros((2, len(FEATURES)), np.float32)
    x[:, 0] = [0.4, 0.6]
    p = back.probabilities(x)
    assert p[0] < 0.5 < p[1]  # standardised: (cos - 0.5) / 0.1
    assert AnswerabilityModel.load(tmp_path / "none") is None
    with pytest.raises(ValueError, match="features"):
        _model(features=["cosine"])
    with pytest.raises(ValueError, match="probability"):
        _model(threshold=1.5)


@pytest.fixture()
def fitted(answerable_model: Path) -> Path:
    return answerable_model


def test_fit_writes_a_hash_checked_model(fitted: Path) -> None:
    raw = json.loads((fitted / FILE).read_text())
    assert raw["features"] == list(FEATURES) and 0.0 <= raw["threshold"] <= 1.0
    assert "dev" in raw["report"] and "abstain_f1" in raw["report"]["dev"]
    model = TriageModel(fitted)
    assert model.answerability is not None and model.suggestion_threshold == raw["threshold"]
    assert FILE in model.manifest.files and "answerability_dev" in model.manifest.metrics
    assert "nswerability" in (fitted / "README.md").read_text()  # the model card shows it


def test_fit_chooses_a_feature_set_and_leaves_the_others_out(fitted: Path) -> None:
    from training.answerability import FEATURE_SETS

    raw = json.loads((fitted / FILE).read_text())
    report = raw["report"]
    assert report["feature_set"] in FEATURE_SETS
    assert set(report["feature_sets_out_of_fold_and_dev"]) == set(FEATURE_SETS)
    used = set(FEATURE_SETS[report["feature_set"]])
    unused = [c for f, c in zip(FEATURES, raw["coef"], strict=True) if f not in used]
    assert all(c == 0.0 for c in unused)
    best = max(p["abstain_f1"] for p in report["feature_sets_out_of_fold_and_dev"].values())
    assert report["feature_sets_out_of_fold_and_dev"][report["feature_set"]]["abstain_f1"] >= best - 0.005


def test_a_feature_subset_fit_ignores_the_other_columns() -> None:
    from training.answerability import _fit_lr

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, len(FEATURES))).astype(np.float32)
    y = x[:, 0] > 0
    am = _fit_lr(x, y, 1.0, ("cosine",))
    noisy = x.copy()
    noisy[:, 1:] = rng.normal(size=(200, len(FEATURES) - 1)) * 100
    np.testing.assert_allclose(am.probabilities(x), am.probabilities(noisy))
    assert ((am.probabilities(x) > 0.5) == y).mean() > 0.95


def test_tampered_or_unlisted_answerability_is_refused(fitted: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    shutil.copytree(fitted, bad)
    raw = json.loads((bad / FILE).read_text())
    raw["threshold"] = 0.0
    (bad / FILE).write_text(json.dumps(raw))
    with pytest.raises(ArtifactError, match="sha256"):
        TriageModel(bad)
    manifest = json.loads((bad / "manifest.json").read_text())
    del manifest["files"][FILE]
    (bad / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="not listed"):
        TriageModel(bad)


def test_service_serves_only_answerable_suggestions(fitted: Path, tmp_path: Path) -> None:
    settings = Settings(model_dir=fitted, store_path=tmp_path / "s.sqlite3", auth_enabled=False,
                        seed_kb=MINI / "kb.jsonl")
    kb = [json.loads(line) for line in (MINI / "kb.jsonl").read_text().splitlines()]
    threshold = json.loads((fitted / FILE).read_text())["threshold"]
    with TestClient(create_app(settings)) as client:
        seen = 0
        for a in kb[:8]:
            r = client.post("/v1/suggestions", json={"post": {"body": a.get("question") or a["title"]}}).json()
            assert r["threshold"] == threshold
            assert all(s["answerability"] >= threshold for s in r["suggestions"])
            assert (r["reason"] == "nothing_fits") == (not r["suggestions"])
            seen += len(r["suggestions"])
        assert seen > 0  # the knowledge base's own questions do get answers
        tri = client.post("/v1/triage", json={"body": kb[0].get("question") or kb[0]["title"]}).json()
        assert all(s["answerability"] >= threshold for s in tri["suggestions"])
