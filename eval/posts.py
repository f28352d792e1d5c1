"""Evaluate a triage model's heads on labelled posts: accuracy, macro-F1, per-class
scores, confusion matrices and calibration (ECE with its bootstrap interval and its noise
floor, reliability) of the calibrated probabilities the service reports."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import confusion_matrix

from models.data_io import post_text
from models.inference import TriageModel
from models.metrics import head_metrics
from models.schema import LabelConfig
from training import calibration

ECE_BINS = 15


def calibrated_probabilities(model: TriageModel, texts: list[str],
                             batch_size: int = 32) -> dict[str, np.ndarray]:
    """The probabilities the service serves (softmax(logits / temperature) per head, mixed with
    the lexical heads where the model has them), in batches."""
    chunks = [model.probabilities(model.run(texts[i:i + batch_size])[0], texts[i:i + batch_size])
              for i in range(0, len(texts), batch_size)]
    return {h: np.concatenate([c[h] for c in chunks]) for h in model.heads}


def gold_indices(rows: list[dict[str, Any]], head: str, labels: list[str]) -> np.ndarray:
    return np.array([labels.index(r[head]) for r in rows], dtype=np.int64)


def evaluate_head(probs: np.ndarray, y: np.ndarray, labels: list[str]) -> dict[str, Any]:
    pred = probs.argmax(axis=1)
    out = head_metrics(y, pred, labels)
    out["ece"] = calibration.ece(probs, y, ECE_BINS)
    out["ece_interval"] = list(calibration.ece_interval(probs, y, ECE_BINS))
    out["ece_floor"] = calibration.ece_floor(probs, ECE_BINS)
    out["reliability"] = calibration.reliability(probs, y, ECE_BINS)
    out["confusion"] = confusion_matrix(y, pred, labels=list(range(len(labels)))).tolist()
    out["labels"] = labels
    return out


def evaluate_posts(model: TriageModel, rows: list[dict[str, Any]], labels: LabelConfig,
                   batch_size: int = 32) -> dict[str, Any]:
    """Full results per head (the heads in `labels`, which must be model heads)."""
    probs = calibrated_probabilities(model, [post_text(r) for r in rows], batch_size)
    heads = {h: evaluate_head(probs[h], gold_indices(rows, h, names), names)
             for h, names in labels.heads.items()}
    return {"n": len(rows), "heads": heads}


def summary(result: dict[str, Any]) -> dict[str, Any]:
    """The `--json` shape: {"n", "heads": {head: {"accuracy", "macro_f1", "ece", "ece_interval",
    "ece_floor", "per_class"}}}: `ece_interval` is the 95% bootstrap interval, `ece_floor` the ECE a
    perfectly calibrated model with the same confidences would show on this many posts."""
    keep = ("accuracy", "macro_f1", "ece", "ece_interval", "ece_floor", "per_class")
    return {"n": result["n"], "heads": {h: {k: m[k] for k in keep} for h, m in result["heads"].items()}}
