"""PNG figures for the reports (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def confusion_png(cm: np.ndarray, labels: list[str], title: str, path: Path) -> Path:
    """Counts, true label on rows, predicted label on columns."""
    size = 2.5 + 0.45 * len(labels)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    top = cm.max() if cm.size else 0
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            if cm[i, j]:
                ax.text(j, i, str(int(cm[i, j])), ha="center", va="center",
                        color="white" if cm[i, j] > top / 2 else "black", fontsize=8)
    return _save(fig, path)


def reliability_png(bins: list[tuple[float, float, int]], ece: float, title: str, path: Path) -> Path:
    """Accuracy against mean confidence per non-empty bin; marker area ~ posts in the bin."""
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot([0, 1], [0, 1], "--", color="grey", lw=1, label="perfect calibration")
    if bins:
        conf, acc, n = (np.array(v, dtype=float) for v in zip(*bins, strict=True))
        ax.plot(conf, acc, "-", color="tab:blue", lw=1)
        ax.scatter(conf, acc, s=20 + 200 * n / n.max(), color="tab:blue", label="bins (size = posts)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence (calibrated)")
    ax.set_ylabel("accuracy")
    ax.set_title(f"{title}  ECE {ece:.3f}")
    ax.legend(loc="upper left", fontsize=8)
    return _save(fig, path)


def top_score_png(top_scores: np.ndarray, answerable: np.ndarray, threshold: float, path: Path) -> Path:
    """Best retrieval score per query, answerable vs unanswerable, with the abstain threshold."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    lo, hi = float(top_scores.min(initial=0.0)), float(top_scores.max(initial=1.0)) + 1e-6
    bins = np.linspace(lo, hi, 30).tolist()
    ax.hist(top_scores[answerable], bins=bins, alpha=0.6, label="has a relevant answer")
    ax.hist(top_scores[~answerable], bins=bins, alpha=0.6, label="nothing relevant")
    ax.axvline(threshold, color="black", ls="--", lw=1, label=f"threshold {threshold:.3f}")
    ax.set_xlabel("best score")
    ax.set_ylabel("queries")
    ax.legend(fontsize=8)
    return _save(fig, path)


def _save(fig: plt.Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
