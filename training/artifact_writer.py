"""Write the served artifact of a trained model: the ONNX graph through the parity gate, the
serving tokenizer, the manifest, the knowledge-base embedding cache and the served files list."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from models.artifact import Manifest, load_manifest, write_manifest
from models.data_io import rows_sha256
from models.encoder import PASSAGE, QUERY
from models.inference import passage_text
from training.batches import Batcher, text_batches
from training.config import TrainConfig
from training.corpus import Corpus
from training.export_onnx import export_with_parity_gate
from training.model import MultiTaskModel


def save_serving_tokenizer(tokenizer: Any, out: Path) -> None:
    """tokenizer.json without the batch padding that transformers leaves configured on it."""
    backend = copy.deepcopy(tokenizer.backend_tokenizer)
    backend.no_padding()
    backend.save(str(out / "tokenizer.json"))

def gate_summary(gate: dict[str, Any]) -> dict[str, Any]:
    return {"chosen": gate["chosen"], "dev_parity": gate["dev_parity"],
            "levels_tried": [t["level"] for t in gate["tried"]]}

def write_artifact(out: Path, model: MultiTaskModel, corpus: Corpus, cfg: TrainConfig, tokenizer: Any,
                   facts: dict[str, Any]) -> Manifest:
    batcher = Batcher(tokenizer, cfg.max_length)
    gate = export_with_parity_gate(model, out / "model.onnx", text_batches(batcher, corpus.posts.splits["dev"]),
                                   cfg.quantize)
    facts["metrics"]["onnx_export"] = gate_summary(gate)
    save_serving_tokenizer(tokenizer, out)
    embedding_sha = retrieval_embedding_sha(model, cfg, out / "tokenizer.json")
    base_manifest = _base_manifest(cfg.base)
    manifest = Manifest(
        format_version=1, kind="triage-model",
        base_model=base_manifest.base_model if base_manifest else cfg.base,
        source=base_manifest.source if base_manifest else None,
        label_sets=corpus.labels.heads,
        training_data_sha256=rows_sha256(corpus.posts.splits["train"], corpus.kb, corpus.queries.splits["train"]),
        metrics=facts["metrics"], calibration=facts["calibration"]["temperatures"],
        thresholds=facts["calibration"]["thresholds"],
        retrieval={"threshold": facts["metrics"]["retrieval_dev"].get("threshold", 0.0),
                   "lexical_weight": facts["metrics"]["retrieval_dev"].get("lexical_weight", 0.0),
                   "lexical_candidates": cfg.lexical_candidates,
                   "query_prefix": QUERY, "passage_prefix": PASSAGE, "encoder": cfg.retrieval,
                   **({"embedding_sha": embedding_sha} if embedding_sha else {})},
        max_length=cfg.max_length, details={"train_config": cfg.to_dict(), **facts["details"]})
    return write_manifest(out, manifest, ["model.onnx", "tokenizer.json"])

def retrieval_embedding_sha(model: MultiTaskModel, cfg: TrainConfig, tokenizer_json: Path) -> str | None:
    """What a passage's served embedding is a function of: the weights on its path (embeddings, the
    frozen trunk, the retrieval tower), the tokenizer, the length limit, prefix and pooling. Two
    trainings on one base with the frozen tower share it, so the service keeps their stored answer
    embeddings and index snapshot (no re-embedding of the knowledge base for a retrained model).
    None without a tower: the embedding is then the fine-tuned encoder's, new with every training."""
    if model.tower is None:
        return None
    digest = hashlib.sha256()
    enc = model.encoder
    path = [("embeddings", enc.embeddings), *((f"layer.{i}", layer) for i, layer in
                                               enumerate(enc.encoder.layer[:model.tower_from])),
            ("tower", model.tower)]
    for name, module in path:
        for key, tensor in sorted(module.state_dict().items()):
            digest.update(f"{name}.{key}".encode())
            digest.update(tensor.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
    digest.update(json.dumps({"tower_from": model.tower_from, "max_length": cfg.max_length, "passage_prefix": PASSAGE,
                              "query_prefix": QUERY, "pooling": "mean", "normalized": True}).encode())
    digest.update(tokenizer_json.read_bytes())
    return digest.hexdigest()


def _base_manifest(base: str) -> Manifest | None:
    try:
        return load_manifest(base, verify_files=False)
    except Exception:  # noqa: BLE001 - a hub id or a foreign directory has no manifest
        return None

def write_kb_embeddings(out: Path, kb: list[dict]) -> None:
    """kb_embeddings.npz: the exported graph's embeddings of the knowledge base passages,
    keyed by passage text, so a service seeded with this knowledge base starts without
    running the encoder over it."""
    from models.inference import KB_CACHE_FILE, TriageModel, passage_key

    path = out / KB_CACHE_FILE
    path.unlink(missing_ok=True)
    if not kb:
        return
    texts = [passage_text(a) for a in kb]
    emb = TriageModel(out, verify_files=False).embed_passages(texts)
    np.savez(path, keys=np.array([passage_key(t) for t in texts]), embeddings=emb.astype(np.float32))

def served_files(out: Path) -> list[str]:
    from models.answerability import FILE as ANSWERABILITY_FILE
    from models.inference import KB_CACHE_FILE
    from models.lexical_heads import FILE as LEXICAL_FILE
    from models.runtime.probe import IR_BIN, IR_XML, PROBE_FILE

    optional = [KB_CACHE_FILE, IR_XML, IR_BIN, PROBE_FILE, ANSWERABILITY_FILE, LEXICAL_FILE]
    return ["model.onnx", "tokenizer.json"] + [f for f in optional if (out / f).is_file()]
