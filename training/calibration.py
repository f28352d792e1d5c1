"""Temperature scaling, expected calibration error and abstention thresholds."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from training.batches import Batcher
    from training.config import TrainConfig
    from training.corpus import Corpus
    from training.model import MultiTaskModel


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def nll(logits: np.ndarray, y: np.ndarray, t: float) -> float:
    p = softmax(logits / t)
    return float(-np.log(np.clip(p[np.arange(len(y)), y], 1e-12, 1)).mean())


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """Temperature minimising dev NLL (log-spaced grid, then a finer grid around the best)."""
    grid = np.exp(np.linspace(np.log(0.05), np.log(20), 200))
    best = min(grid, key=lambda t: nll(logits, y, t))
    fine = np.linspace(best * 0.9, best * 1.1, 41)
    return float(min(fine, key=lambda t: nll(logits, y, t)))


def ece(probs: np.ndarray, y: np.ndarray, bins: int = 15) -> float:
    """Expected calibration error with equal-width confidence bins."""
    conf = probs.max(axis=1)
    correct = probs.argmax(axis=1) == y
    edges = np.linspace(0, 1, bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        sel = (conf > lo) & (conf <= hi)
        if sel.any():
            total += sel.mean() * abs(correct[sel].mean() - conf[sel].mean())
    return float(total)


def ece_interval(probs: np.ndarray, y: np.ndarray, bins: int = 15, n_boot: int = 1000,
                 seed: int = 13) -> tuple[float, float]:
    """95% bootstrap interval of the ECE over the posts (resampled with replacement)."""
    rng = np.random.default_rng(seed)
    draws = [ece(probs[idx], y[idx], bins) for idx in rng.integers(0, len(y), (n_boot, len(y)))]
    return float(np.percentile(draws, 2.5)), float(np.percentile(draws, 97.5))


def ece_floor(probs: np.ndarray, bins: int = 15, n_sim: int = 500, seed: int = 13) -> float:
    """The ECE a perfectly calibrated model with these confidences would still show on this many
    posts (mean over simulations in which each prediction is right with its own confidence):
    the part of a measured ECE that is sampling noise, not miscalibration."""
    rng = np.random.default_rng(seed)
    conf, pred = probs.max(axis=1), probs.argmax(axis=1)
    wrong = (pred + 1) % probs.shape[1]  # any other class: only right or wrong matters to the ECE
    sims = [ece(probs, np.where(rng.random(len(conf)) < conf, pred, wrong), bins) for _ in range(n_sim)]
    return float(np.mean(sims))


def reliability(probs: np.ndarray, y: np.ndarray, bins: int = 15) -> list[tuple[float, float, int]]:
    conf = probs.max(axis=1)
    correct = probs.argmax(axis=1) == y
    edges = np.linspace(0, 1, bins + 1)
    rows = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        sel = (conf > lo) & (conf <= hi)
        if sel.any():
            rows.append((float(conf[sel].mean()), float(correct[sel].mean()), int(sel.sum())))
    return rows


def abstain_threshold(probs: np.ndarray, y: np.ndarray, target_precision: float) -> float:
    """Lowest confidence threshold at which the predictions kept are at least
    `target_precision` correct on dev (0.0 when all predictions already are)."""
    conf = probs.max(axis=1)
    correct = probs.argmax(axis=1) == y
    order = np.argsort(-conf)
    prec = np.cumsum(correct[order]) / np.arange(1, len(order) + 1)
    ok = np.where(prec >= target_precision)[0]
    if len(ok) == 0:
        return float(conf.max())
    k = ok.max()
    return 0.0 if k == len(order) - 1 else float(conf[order[k]])


def calibrate(model: MultiTaskModel, corpus: Corpus, cfg: TrainConfig, batcher: Batcher) -> dict[str, Any]:
    from models.data_io import post_text
    from training.batches import label_matrix, predict_logits

    labels = corpus.labels
    dev = corpus.posts.splits["dev"]
    y = label_matrix(dev, labels)
    logits, _ = predict_logits(model, batcher, [post_text(r) for r in dev])
    temps, thresholds, report = {}, {}, {}
    for k, h in enumerate(labels.heads):
        t = fit_temperature(logits[k], y[:, k])
        p0, p1 = softmax(logits[k]), softmax(logits[k] / t)
        temps[h] = round(t, 4)
        thresholds[h] = round(abstain_threshold(p1, y[:, k], cfg.abstain_target_precision), 4)
        kept = p1.max(1) >= thresholds[h]
        report[h] = {"dev_ece_before": round(ece(p0, y[:, k]), 4),
                     "dev_ece_after": round(ece(p1, y[:, k]), 4),
                     "dev_coverage_at_threshold": round(float(kept.mean()), 4),
                     "dev_precision_at_threshold": round(float((p1.argmax(1) == y[:, k])[kept].mean())
                                                         if kept.any() else 1.0, 4)}
    return {"temperatures": temps, "thresholds": thresholds, "report": report}
