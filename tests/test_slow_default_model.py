"""Full-size checks on the default model (models/default, built by `make train`).
Marked slow: `make test-slow` (which trains the model first if it is missing)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.cli import main as eval_main
from models.artifact import load_manifest
from models.data_io import load_posts, post_text
from models.encoder import load_tokenizer
from training.batches import Batcher
from training.export_onnx import parity
from training.train import load_checkpoint_model

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "default"
TEST = ROOT / "training" / "data" / "splits" / "test"


@pytest.fixture(scope="module")
def default_model() -> Path:
    if not (MODEL / "manifest.json").is_file():
        pytest.fail("models/default is missing: run `make train` (make test-slow does this first)")
    load_manifest(MODEL, kind="triage-model")
    return MODEL


def _parity_on(default_model: Path, split: str) -> dict:
    m = load_manifest(default_model, verify_files=False)
    cfg, model = load_checkpoint_model(default_model)
    batcher = Batcher(load_tokenizer(cfg.base), m.max_length)
    texts = [post_text(r) for r in load_posts(TEST.parent / split / "posts.jsonl")]
    return parity(model.eval(), default_model / "model.onnx",
                  [batcher(texts[i:i + 32]) for i in range(0, len(texts), 32)])


def test_onnx_export_meets_the_parity_gate_on_dev(default_model: Path) -> None:
    """The export keeps node groups in fp32 until int8 agrees with torch on dev (>= 0.99)."""
    result = _parity_on(default_model, "dev")
    assert min(result["argmax_agreement"].values()) >= 0.99, result
    assert result["embedding_cosine_min"] >= 0.99, result


def test_onnx_embeddings_match_torch_on_the_test_split(default_model: Path) -> None:
    result = _parity_on(default_model, "test")
    assert result["embedding_cosine_min"] >= 0.99, result
    assert min(result["argmax_agreement"].values()) >= 0.98, result


@pytest.mark.parametrize("precision", ["f32", "bf16"])
def test_openvino_graph_meets_the_parity_gate_on_the_test_split(default_model: Path, precision: str) -> None:
    """The IR the service prefers, at each precision, against torch fp32 on test (not seen by the export)."""
    from models.runtime import IR_XML, compare, cpu_features, passes
    from models.runtime.openvino_runtime import OpenVinoRuntime
    from models.runtime.probe import EXPORT_GATE
    from training.export_onnx import make_probe

    if precision == "bf16" and not cpu_features().bf16:
        pytest.skip("this CPU has no native bf16")
    m = load_manifest(default_model, verify_files=False)
    cfg, model = load_checkpoint_model(default_model)
    batcher = Batcher(load_tokenizer(cfg.base), m.max_length)
    texts = [post_text(r) for r in load_posts(TEST / "posts.jsonl")]
    probe = make_probe(model.eval(), [batcher(texts[i:i + 32]) for i in range(0, len(texts), 32)])
    result = compare(probe, OpenVinoRuntime(default_model / IR_XML, precision, threads=2), list(m.label_sets))
    assert passes(result, EXPORT_GATE), result


def test_eval_commands_on_the_test_split(default_model: Path, tmp_path: Path) -> None:
    posts_json, retrieval_json = tmp_path / "posts.json", tmp_path / "retrieval.json"
    assert eval_main(["posts", str(TEST / "posts.jsonl"), "--model", str(default_model), "--json", str(posts_json),
                      "--report", str(tmp_path / "posts")]) == 0
    posts = json.loads(posts_json.read_text())
    assert posts["n"] == len(load_posts(TEST / "posts.jsonl"))
    assert set(posts["heads"]) == {"topic", "product", "sentiment", "urgency", "route"}
    assert eval_main(["retrieval", "--kb", str(ROOT / "training" / "data" / "kb.jsonl"), "--queries",
                      str(TEST / "queries.jsonl"), "--model", str(default_model), "--json", str(retrieval_json),
                      "--report", str(tmp_path / "retrieval")]) == 0
    assert {"recall@1", "mrr@10", "abstain_f1"} <= set(json.loads(retrieval_json.read_text()))


def test_served_retrieval_is_the_frozen_base_on_external_faq(default_model: Path, tmp_path: Path) -> None:
    """Domain tuning must not cost general Dutch retrieval: the tower's embedding is the base's."""
    from eval.external import FAQ_PAIRS, faq_pairs
    from models.encoder import Encoder
    from models.inference import TriageModel

    path = ROOT.parent / "shared" / "external-eval" / FAQ_PAIRS
    if not path.is_file():
        pytest.skip(f"{path} is absent (third-party evaluation data)")
    questions, _ = faq_pairs(path, limit=40)
    served = TriageModel(default_model).run(questions)[1]
    base = Encoder(load_manifest(default_model, verify_files=False).details["train_config"]["base"],
                   max_length=load_manifest(default_model, verify_files=False).max_length).embed(questions, "query: ")
    cos = (served * base).sum(1)
    assert cos.min() >= 0.99, cos.min()
