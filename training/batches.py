"""Tokenised batches and batched prediction with the torch model (training-side)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from models.data_io import post_text
from models.encoder import QUERY
from models.metrics import head_metrics
from models.schema import LabelConfig
from training.model import MultiTaskModel


@dataclass
class Batcher:
    tokenizer: Any
    max_length: int

    def __call__(self, texts: list[str], prefix: str = QUERY, max_length: int | None = None
                 ) -> tuple[torch.Tensor, torch.Tensor]:
        enc = self.tokenizer([prefix + t for t in texts], padding=True, truncation=True,
                             max_length=max_length or self.max_length, return_tensors="pt")
        return enc["input_ids"], enc["attention_mask"]


def label_matrix(rows: list[dict], labels: LabelConfig) -> np.ndarray:
    return np.array([[labels.heads[h].index(r[h]) for h in labels.heads] for r in rows], dtype=np.int64)

def batch_order(lengths: list[int], batch_size: int, rng: np.random.Generator, bucketed: bool) -> list[np.ndarray]:
    """Shuffled batches; with bucketing, posts of similar length share a batch (less padding)
    while the batch order stays random."""
    order = rng.permutation(len(lengths))
    if bucketed:
        chunk = batch_size * 50
        order = np.concatenate([sorted(order[i:i + chunk], key=lambda j: lengths[j])
                                for i in range(0, len(order), chunk)]) if len(order) else order
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]

def text_batches(batcher: Batcher, rows: list[dict], size: int = 32) -> list[tuple[torch.Tensor, torch.Tensor]]:
    texts = [post_text(r) for r in rows]
    return [batcher(texts[i:i + size]) for i in range(0, len(texts), size)]

def predict_logits(model: MultiTaskModel, batcher: Batcher, texts: list[str], prefix: str = QUERY,
                   bs: int = 64) -> tuple[list[np.ndarray], np.ndarray]:
    model.eval()
    outs: list[list[np.ndarray]] = []
    with torch.inference_mode():
        for i in range(0, len(texts), bs):
            ids, mask = batcher(texts[i:i + bs], prefix)
            outs.append([t.numpy() for t in model(ids, mask)])
    if not outs:
        widths = [int(getattr(model.heads[h], "out_features")) for h in model.heads_order]  # noqa: B009
        return [np.zeros((0, w)) for w in widths], np.zeros((0, 1))
    cols = [np.concatenate([o[k] for o in outs]) for k in range(len(outs[0]))]
    return cols[:-1], cols[-1]

def evaluate_heads(logits: list[np.ndarray], y: np.ndarray, labels: LabelConfig) -> dict[str, Any]:
    return {h: head_metrics(y[:, k], logits[k].argmax(1), labels.heads[h]) for k, h in enumerate(labels.heads)}

def mean_macro_f1(metrics: dict[str, Any]) -> float:
    return float(np.mean([m["macro_f1"] for m in metrics.values()]))
