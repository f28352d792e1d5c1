"""Training pipeline: config, calibration, artifact contract, ONNX parity, reload."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import numpy as np
import pytest

from models.artifact import ArtifactError, load_manifest
from models.data_io import load_posts, post_text
from models.encoder import load_tokenizer
from models.inference import TriageModel
from tests.conftest import MINI
from training import calibration
from training.batches import Batcher
from training.config import TrainConfig
from training.corpus import load_corpus
from training.export_onnx import parity
from training.model import MultiTaskModel
from training.train import load_checkpoint_model


def test_config_validates_and_overrides(tmp_path: Path) -> None:
    cfg = TrainConfig.load(None, ["epochs=2", "lr=3e-5", "quantize=false"])
    assert (cfg.epochs, cfg.lr, cfg.quantize) == (2, 3e-5, False)
    with pytest.raises(ValueError, match="epochs=0"):
        TrainConfig(epochs=0)
    with pytest.raises(ValueError, match="unknown training config key"):
        TrainConfig.load(None, ["epoch=2"])
    with pytest.raises(ValueError, match="key=value"):
        TrainConfig.load(None, ["epochs"])
    path = tmp_path / "cfg.yaml"
    path.write_text("epochs: 3\nbatch_size: 4\n")
    assert TrainConfig.load(path, ["epochs=5"]).to_dict()["epochs"] == 5


def test_temperature_scaling_fixes_overconfidence() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 2000)
    logits = rng.normal(size=(2000, 4))
    logits[np.arange(2000), y] += 1.0
    hot = logits * 6  # overconfident
    t = calibration.fit_temperature(hot, y)
    assert t > 3
    before = calibration.ece(calibration.softmax(hot), y)
    after = calibration.ece(calibration.softmax(hot / t), y)
    assert after < before / 3 and after < 0.05


def test_ece_of_perfect_calibration_is_zero() -> None:
    probs = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert calibration.ece(probs, np.array([0, 1])) == 0.0
    assert calibration.ece(probs, np.array([1, 0])) == pytest.approx(1.0)


def _calibrated_sample(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two-class predictions that are right exactly as often as their confidence says."""
    rng = np.random.default_rng(seed)
    conf = rng.uniform(0.5, 1.0, n)
    y = np.where(rng.random(n) < conf, 0, 1)
    return np.stack([conf, 1 - conf], axis=1), y


def test_ece_floor_is_the_noise_of_a_calibrated_model() -> None:
    """On a small sample a perfectly calibrated model still shows an ECE; the floor estimates it,
    shrinks with more posts, and the bootstrap interval holds the measured value."""
    small = [calibration.ece(*_calibrated_sample(300, s)) for s in range(40)]
    probs, y = _calibrated_sample(300, 0)
    floor = calibration.ece_floor(probs)
    assert floor == pytest.approx(np.mean(small), rel=0.25)
    assert calibration.ece_floor(_calibrated_sample(30000, 1)[0]) < floor / 5
    lo, hi = calibration.ece_interval(probs, y)
    assert lo <= calibration.ece(probs, y) <= hi
    overconfident = np.stack([np.full(300, 0.99), np.full(300, 0.01)], axis=1)
    assert calibration.ece(overconfident, y) > 3 * calibration.ece_floor(overconfident) + 0.1


def test_abstain_threshold_reaches_target_precision() -> None:
    probs = np.array([[0.95, 0.05], [0.9, 0.1], [0.6, 0.4], [0.55, 0.45]])
    y = np.array([0, 0, 1, 1])
    t = calibration.abstain_threshold(probs, y, 0.9)
    assert t == pytest.approx(0.9)
    kept = probs.max(1) >= t
    assert (probs.argmax(1) == y)[kept].all()


def test_artifact_contract(tiny_model: Path) -> None:
    m = load_manifest(tiny_model, kind="triage-model")
    labels = load_corpus(MINI).labels.heads
    assert m.label_sets == labels
    assert set(m.calibration) == set(labels) and set(m.thresholds) == set(labels)
    assert all(t > 0 for t in m.calibration.values())
    assert {"torch", "transformers", "onnxruntime", "tokenizers"} <= set(m.library_versions)
    assert re.fullmatch(r"[0-9a-f]{64}", m.training_data_sha256 or "")
    assert "threshold" in m.retrieval and m.max_length == 64
    card = (tiny_model / "README.md").read_text()
    pattern = (r"# Wegwijzer triage model\n\n- Base model: `tiny-random-bert`\n"
               r".*## Label sets\n\n- \*\*topic\*\*: billing, "
               r".*## Calibration\n\n\| head \| temperature \| abstain below \|"
               r".*## Retrieval\n\n- Encoder layout: `tower` \(the base model's frozen upper layers.*"
               r"- Ranking: dense cosine \+ [0-9.]+ x BM25 over the 100 best dense hits"
               r".*## Metrics\n\n\| group \| metric \| value \|"
               r".*## Library versions.*## Files\n\n- `kb_embeddings.npz` sha256 `[0-9a-f]{64}`"
               r"\n- `model.onnx` sha256 `[0-9a-f]{64}`")
    assert re.search(pattern, card, re.S), card


def test_checkpoints_written(tiny_model: Path) -> None:
    assert (tiny_model / "checkpoints" / "model-best.pt").is_file()
    assert (tiny_model / "checkpoints" / "model-last.pt").is_file()


def _reloaded_torch_model(tiny_model: Path, tiny_base: Path) -> MultiTaskModel:
    return load_checkpoint_model(tiny_model, str(tiny_base))[1]


def test_onnx_int8_parity_with_torch(tiny_model: Path, tiny_base: Path) -> None:
    model = _reloaded_torch_model(tiny_model, tiny_base)
    batcher = Batcher(load_tokenizer(tiny_base), 64)
    posts = [post_text(r) for r in load_posts(MINI / "posts.jsonl")]
    batches = [batcher(posts[i:i + 16]) for i in range(0, len(posts), 16)]
    result = parity(model, tiny_model / "model.onnx", batches)
    assert min(result["argmax_agreement"].values()) >= 0.95, result
    assert result["embedding_cosine_min"] >= 0.99, result


def test_saved_model_reloads_with_same_predictions(tiny_model: Path) -> None:
    texts = ["Mijn modem knippert rood", "Dubbel afgeschreven €35", "Hoe zet ik mijn eSIM over?"]
    a = TriageModel(tiny_model).predict(texts)
    b = TriageModel(tiny_model).predict(texts)
    assert [{h: p.label for h, p in r.items()} for r in a[0]] == [{h: p.label for h, p in r.items()} for r in b[0]]
    assert np.allclose(a[1], b[1])
    assert np.allclose(np.linalg.norm(a[1], axis=1), 1.0, atol=1e-3)


def test_overfits_training_posts(tiny_model: Path) -> None:
    """The pipeline learns: on the posts it was trained on, the tiny model beats the majority class."""
    corpus = load_corpus(MINI)
    train = corpus.posts.splits["train"]
    preds, _ = TriageModel(tiny_model).predict([post_text(r) for r in train])
    for head in corpus.labels.heads:
        acc = np.mean([p[head].label == r[head] for p, r in zip(preds, train, strict=True)])
        majority = max(np.mean([r[head] == v for r in train]) for v in corpus.labels.heads[head])
        assert acc > majority, (head, acc, majority)


def test_tampered_model_is_rejected(tiny_model: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "m"
    shutil.copytree(tiny_model, copy, ignore=shutil.ignore_patterns("checkpoints"))
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["label_sets"]["topic"] = manifest["label_sets"]["topic"][:-1]
    manifest["files"] = {}
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="logits_topic has 10 classes"):
        TriageModel(copy)


def test_batched_run_matches_single_runs(tiny_model: Path, tiny_base: Path, tmp_path: Path) -> None:
    """Length-sorted chunking of large batches returns results in the callers' order. Checked on
    an fp32 export: with int8 dynamic quantisation the activation scale depends on the batch."""
    import shutil

    from training.export_onnx import export_onnx

    fp32_dir = tmp_path / "fp32"
    shutil.copytree(tiny_model, fp32_dir, ignore=shutil.ignore_patterns("checkpoints"))
    export_onnx(_reloaded_torch_model(tiny_model, tiny_base), fp32_dir / "model.onnx", quantize=False)
    model = TriageModel(fp32_dir, verify_files=False)
    texts = [post_text(r) for r in load_posts(MINI / "posts.jsonl")][:40]
    batched_logits, batched_emb = model.run(texts, chunk=8)
    for i in (0, 7, 21, 39):
        single_logits, single_emb = model.run([texts[i]])
        assert np.allclose(batched_emb[i], single_emb[0], atol=1e-4)
        for head in model.heads:
            assert np.allclose(batched_logits[head][i], single_logits[head][0], atol=1e-3)


def test_knowledge_base_embeddings_ship_with_the_model(tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Seeding the training knowledge base needs no encoder runs; other passages still run."""
    from models.data_io import load_answers
    from models.inference import KB_CACHE_FILE, passage_text

    assert KB_CACHE_FILE in load_manifest(tiny_model).files  # hash-checked on load like the graph
    model = TriageModel(tiny_model)
    texts = [passage_text(a) for a in load_answers(MINI / "kb.jsonl")]
    fresh = model.run(texts, model.passage_prefix)[1]
    calls: list[int] = []
    real_run = model.run
    monkeypatch.setattr(model, "run", lambda t, *a, **kw: calls.append(len(t)) or real_run(t, *a, **kw))
    cached = model.embed_passages(texts)
    assert calls == [] and np.allclose(cached, fresh, atol=2e-2)
    assert (cached * fresh).sum(1).min() > 0.99
    model.embed_passages(["Een antwoord dat niet in de kennisbank staat"])
    assert calls == [1]


def test_branched_forward_matches_the_library_forward_on_padded_batches(tiny_base: Path) -> None:
    """The tower layout runs BERT layers one by one with its own additive mask (no private
    transformers helpers): on a padded batch, its head branch must equal the library's own
    forward of the same encoder, and its tower branch the frozen base's, whatever the release."""
    import torch

    model = MultiTaskModel.from_base(str(tiny_base), {"topic": ["a", "b"]}, dropout=0.0, tower_from=1).eval()
    tok = load_tokenizer(tiny_base)
    enc = tok(["modem knippert rood sinds vanochtend", "hoi", "geen bereik in Hoogvliet, is er een storing?"],
              padding=True, return_tensors="pt")
    assert int((enc["attention_mask"] == 0).sum()) > 0  # the batch really is padded
    with torch.inference_mode():
        heads, tower = model._branched(enc["input_ids"], enc["attention_mask"])  # noqa: SLF001 - our own method
        reference = model.pooled(enc["input_ids"], enc["attention_mask"])
    assert torch.allclose(heads, reference, atol=1e-5)
    assert torch.allclose(tower, reference, atol=1e-5)  # untrained: the tower is a copy of the same layers


def test_layer_wise_lr_decay_groups(tiny_base: Path) -> None:
    """Each trainable encoder layer gets `layer_lr_decay` times the rate of the layer above;
    frozen layers get no group; the heads keep their own rate."""
    from training.loop import freeze_lower_layers, layer_groups

    model = MultiTaskModel.from_base(str(tiny_base), {"route": ["a", "b"]}, keep_layers=0)
    model.encoder.encoder.layer.append(copy.deepcopy(model.encoder.encoder.layer[-1]))  # 3 layers
    cfg = TrainConfig(base=str(tiny_base), retrieval="shared", freeze_layers=1, lr=1e-4, head_lr=2e-3,
                      layer_lr_decay=0.5)
    freeze_lower_layers(model, cfg)
    groups = layer_groups(model, cfg)
    assert [g["lr"] for g in groups] == pytest.approx([2e-3, 1e-4, 5e-5])
    trainable = {id(p) for p in model.parameters() if p.requires_grad}
    grouped = [id(p) for g in groups for p in g["params"]]
    assert sorted(grouped) == sorted(trainable)  # every trainable weight once, no frozen one
    with pytest.raises(ValueError, match="layer_lr_decay"):
        TrainConfig(layer_lr_decay=0.0)
