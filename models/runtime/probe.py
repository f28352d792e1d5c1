"""The parity probe: token ids of a few dev posts and torch fp32's outputs for them, written
at export (runtime_probe.npz). The service runs it through the runtime it picked, on the CPU it
starts on, and refuses a runtime whose answers drift (precision, CPU, library version).

Two gates, one measure (argmax agreement per head, embedding cosine):
- the export gate, on the whole dev split: agreement >= 0.99 per head, cosine >= 0.99;
- the start-up check, on the probe's 32 posts (in batches of select.START_BATCH): cosine >= 0.99 and agreement >= 0.95
  per head (at most one flip of 32, which a near-tied post may cause without the runtime being wrong).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.runtime.base import Runtime

IR_DIR = "openvino"
IR_XML = f"{IR_DIR}/model.xml"
IR_BIN = f"{IR_DIR}/model.bin"
PROBE_FILE = "runtime_probe.npz"
EXPORT_GATE = {"agreement": 0.99, "cosine": 0.99}
START_GATE = {"agreement": 0.95, "cosine": 0.99}


@dataclass
class Probe:
    ids: list[np.ndarray]           # token ids per post, unpadded
    logits: dict[str, np.ndarray]   # head -> [n, classes], torch fp32
    embedding: np.ndarray           # [n, dim], torch fp32, normalised
    pad_id: int = 1

    def save(self, path: Path) -> None:
        lengths = np.array([len(r) for r in self.ids], dtype=np.int64)
        ids = np.full((len(self.ids), int(lengths.max(initial=1))), self.pad_id, dtype=np.int64)
        for i, r in enumerate(self.ids):
            ids[i, :len(r)] = r
        np.savez(path, ids=ids, lengths=lengths, embedding=self.embedding, pad_id=np.array(self.pad_id),
                 **{f"logits_{h}": v for h, v in self.logits.items()})

    def head(self, n: int) -> Probe:
        return Probe(self.ids[:n], {h: v[:n] for h, v in self.logits.items()}, self.embedding[:n], self.pad_id)

    @classmethod
    def load(cls, path: Path) -> Probe:
        with np.load(path) as data:
            lengths = data["lengths"]
            ids = [data["ids"][i, :n] for i, n in enumerate(lengths)]
            logits = {k.removeprefix("logits_"): data[k] for k in data.files if k.startswith("logits_")}
            return cls(ids, logits, data["embedding"], int(data["pad_id"]))


def padded(rows: list[np.ndarray], pad_id: int, multiple: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """int64 ids and mask [batch, width]: width is the longest row, rounded up to `multiple`."""
    width = max(len(r) for r in rows)
    if multiple:
        width = -(-width // multiple) * multiple
    ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for i, r in enumerate(rows):
        ids[i, :len(r)] = r
        mask[i, :len(r)] = 1
    return ids, mask


def compare(probe: Probe, runtime: Runtime, heads: list[str], batch: int = 32) -> dict:
    """Argmax agreement per head and embedding cosine between the runtime and torch fp32."""
    outputs = [f"logits_{h}" for h in heads] + ["embedding"]
    got: list[list[np.ndarray]] = [[] for _ in outputs]
    for start in range(0, len(probe.ids), batch):
        ids, mask = padded(probe.ids[start:start + batch], probe.pad_id, runtime.pad_multiple)
        for i, out in enumerate(runtime.run(outputs, ids, mask)):
            got[i].append(out)
    agree = {h: float((np.concatenate(got[i]).argmax(1) == probe.logits[h].argmax(1)).mean())
             for i, h in enumerate(heads)}
    emb = np.concatenate(got[-1]).astype(np.float64)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    cos = (emb * probe.embedding).sum(1)
    return {"n": len(probe.ids), "argmax_agreement": agree, "embedding_cosine_min": round(float(cos.min()), 6),
            "embedding_cosine_mean": round(float(cos.mean()), 6)}


def passes(result: dict, gate: dict[str, float] = EXPORT_GATE) -> bool:
    return (all(v >= gate["agreement"] for v in result["argmax_agreement"].values())
            and result["embedding_cosine_min"] >= gate["cosine"])
