"""The straightforward stack as a reference: the same trained weights (checkpoints/model-best.pt)
in transformers/PyTorch fp32, a transformers tokenizer, and a brute-force numpy search
(one matrix product over the whole KB, then top-k) per post."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.stats import summary_ms
from models.artifact import load_manifest
from models.data_io import post_text


class Reference:
    def __init__(self, model_dir: Path, threads: int) -> None:
        import torch

        from models.encoder import load_tokenizer
        from training.train import load_checkpoint_model

        t0 = time.perf_counter()
        self.default_threads = torch.get_num_threads()
        torch.set_num_threads(threads)
        manifest = load_manifest(model_dir, kind="triage-model", verify_files=False)
        cfg, self.model = load_checkpoint_model(model_dir)  # same layout as the export (retrieval tower included)
        self.base = cfg.base
        self.tokenizer = load_tokenizer(self.base)
        self.heads = list(manifest.label_sets)
        self.label_sets = manifest.label_sets
        self.temperature = {h: float(manifest.calibration.get(h, 1.0)) for h in self.heads}
        self.max_length = manifest.max_length
        self.prefix = manifest.retrieval.get("query_prefix", "query: ")
        self.threads = torch.get_num_threads()
        self.load_s = time.perf_counter() - t0

    def encode(self, text: str) -> tuple[dict[str, np.ndarray], np.ndarray]:
        import torch

        enc = self.tokenizer([self.prefix + text], truncation=True, max_length=self.max_length, return_tensors="pt")
        with torch.inference_mode():
            outs = self.model(enc["input_ids"], enc["attention_mask"])
        logits = {h: outs[i].numpy() for i, h in enumerate(self.heads)}
        return logits, outs[-1].numpy()

    def triage(self, text: str, matrix: np.ndarray, k: int = 3) -> tuple[dict[str, str], np.ndarray]:
        """Labels (calibrated softmax argmax per head) and the top-k rows of `matrix`."""
        logits, emb = self.encode(text)
        labels = {}
        for h, z in logits.items():
            z = z[0] / self.temperature[h]
            p = np.exp(z - z.max())
            p /= p.sum()
            labels[h] = self.label_sets[h][int(p.argmax())]
        scores = matrix @ emb[0]
        top = np.argpartition(-scores, k - 1)[:k]
        return labels, top[np.argsort(-scores[top])]


def single_post(ref: Reference, rows: list[dict[str, Any]], matrix: np.ndarray, n: int) -> dict[str, Any]:
    texts = [post_text(r) for r in rows]
    for i in range(10):
        ref.triage(texts[i % len(texts)], matrix)
    samples = []
    for i in range(n):
        t0 = time.perf_counter()
        ref.triage(texts[i % len(texts)], matrix)
        samples.append(time.perf_counter() - t0)
    return summary_ms(samples)


def parity(ref: Reference, onnx_model: Any, rows: list[dict[str, Any]], n: int = 100) -> dict[str, Any]:
    """Same text through both stacks: top-1 label agreement per head and embedding cosine
    (the ONNX graph is int8-quantised, the reference is fp32)."""
    texts = [post_text(r) for r in rows[:n]]
    preds, emb = onnx_model.predict(texts)
    agree = {h: 0 for h in ref.heads}
    cos = []
    for i, t in enumerate(texts):
        logits, e = ref.encode(t)
        for h in ref.heads:
            agree[h] += int(ref.label_sets[h][int(logits[h][0].argmax())] == preds[i][h].label)
        cos.append(float(e[0] @ emb[i]))
    return {
        "posts": len(texts),
        "top1_label_agreement": {h: round(v / len(texts), 4) for h, v in agree.items()},
        "embedding_cosine_mean": round(float(np.mean(cos)), 4),
        "embedding_cosine_min": round(float(np.min(cos)), 4),
    }
