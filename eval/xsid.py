"""Retrain on a foreign label set end to end: xSID-nl voice-assistant intents.

nl.valid.intent.tsv becomes a labelled-posts JSONL with one head, `intent`, and a
`labels.yaml` beside it in a temporary data directory; `training.train.train_model`
trains on it. The corpus split by id hash keeps ~80% of valid for training, ~10% as
dev (early stopping, calibration) and ~10% as its internal test split (used by
training only for the ONNX parity check, which needs a non-empty test split). The
model is then scored on nl.test.intent.tsv. Test utterances whose intent never
occurs in valid cannot be predicted and are left out (counted in the result).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from eval.external import read_tsv
from eval.posts import calibrated_probabilities
from models.data_io import write_jsonl
from models.inference import TriageModel
from models.metrics import head_metrics
from models.schema import LabelConfig
from training.config import TrainConfig

XSID = Path("xsid-nl")
VALID, TEST = XSID / "nl.valid.intent.tsv", XSID / "nl.test.intent.tsv"
HEAD = "intent"


def write_xsid_data(valid_path: Path, data_dir: Path) -> LabelConfig:
    """posts.jsonl (id, body, intent) and labels.yaml with the one head `intent`."""
    posts = [{"id": f"xsid-valid-{r['id']}", "body": r["text"], HEAD: r["intent"]}
             for r in read_tsv(valid_path)]
    labels = LabelConfig.infer(posts, [HEAD])
    data_dir.mkdir(parents=True, exist_ok=True)
    write_jsonl(data_dir / "posts.jsonl", posts)
    (data_dir / "labels.yaml").write_text(yaml.safe_dump({"heads": labels.heads}, allow_unicode=True),
                                          encoding="utf-8")
    return labels


def evaluate_xsid(model_dir: Path, test_path: Path) -> dict[str, Any]:
    model = TriageModel(model_dir)
    labels = model.manifest.label_sets[HEAD]
    rows = read_tsv(test_path)
    known = [r for r in rows if r["intent"] in labels]
    probs = calibrated_probabilities(model, [r["text"] for r in known])[HEAD]
    y = np.array([labels.index(r["intent"]) for r in known])
    m = head_metrics(y, probs.argmax(axis=1), labels)
    present = [c["f1"] for c in m["per_class"].values() if c["support"]]
    return {"n": len(known), "accuracy": m["accuracy"], "macro_f1": m["macro_f1"],
            "macro_f1_test_labels": float(np.mean(present)) if present else 0.0,
            "left_out_unseen_intent": len(rows) - len(known), "labels": len(labels)}


def run_xsid(external_dir: Path, out_dir: Path, cfg: TrainConfig) -> dict[str, Any]:
    from training.train import train_model

    valid, test = external_dir / VALID, external_dir / TEST
    for path in (valid, test):
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file (xSID-nl is read from the external-eval folder)")
    with tempfile.TemporaryDirectory(prefix="xsid-") as tmp:
        write_xsid_data(valid, Path(tmp))
        manifest = train_model(Path(tmp), out_dir, cfg)
    result = evaluate_xsid(out_dir, test)
    result["train_posts"] = manifest.details.get("train_posts")
    result["dev_posts"] = manifest.details.get("dev_posts")
    result["dev_mean_macro_f1"] = manifest.metrics.get("training", {}).get("best_dev_mean_macro_f1")
    return result
