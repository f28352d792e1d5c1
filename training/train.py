"""Fine-tune the multi-task model, calibrate it, fit retrieval and export the served artifact.

`python -m training train --data DIR --out DIR [--base DIR] [--config YAML] [--set key=value ...]`
writes OUT/model-best and OUT/model-last (torch checkpoints) under OUT/checkpoints
and the served artifact (model.onnx, the OpenVINO IR, tokenizer.json, manifest.json,
README.md) in OUT. The steps live in their own modules: `loop` (training), `calibration`,
`retrieval_fit`, `artifact_writer` (export and manifest).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from models.answerability import FILE as ANSWERABILITY_FILE
from models.artifact import Manifest, load_manifest, write_manifest
from models.encoder import load_tokenizer
from models.lexical_heads import FILE as LEXICAL_FILE
from models.schema import LabelConfig
from training.artifact_writer import (
    gate_summary,
    save_serving_tokenizer,
    served_files,
    write_artifact,
    write_kb_embeddings,
)
from training.batches import Batcher, text_batches
from training.calibration import calibrate
from training.config import TrainConfig
from training.corpus import load_corpus
from training.export_onnx import export_with_parity_gate, parity
from training.export_openvino import export_openvino
from training.loop import set_seed, tower_from, train_loop
from training.model import MultiTaskModel
from training.retrieval_fit import fit_retrieval, frozen_base_retrieval, retrieval_decision


def train_model(data: Path, out: Path, cfg: TrainConfig, labels: LabelConfig | None = None) -> Manifest:
    t0 = time.perf_counter()
    set_seed(cfg.seed)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    corpus = load_corpus(data, labels)
    out.mkdir(parents=True, exist_ok=True)
    for stale in (ANSWERABILITY_FILE, LEXICAL_FILE):  # fitted on an earlier model's outputs: refit after training
        (out / stale).unlink(missing_ok=True)
    ckpt = out / "checkpoints"
    ckpt.mkdir(exist_ok=True)
    tokenizer = load_tokenizer(cfg.base)
    batcher = Batcher(tokenizer, cfg.max_length)
    model = MultiTaskModel.from_base(cfg.base, corpus.labels.heads, cfg.dropout, cfg.keep_layers, tower_from(cfg))
    training = train_loop(model, corpus, cfg, batcher, ckpt)
    cal = calibrate(model, corpus, cfg, batcher)
    retrieval_dev = fit_retrieval(model, corpus, batcher, cfg)
    compare = cfg.compare_retrievers and cfg.retrieval == "shared"  # the tower *is* the frozen base
    separate_dev = frozen_base_retrieval(cfg.base, corpus, "dev", cfg.max_length) if compare else {}
    metrics = {"training": {"best_epoch": training["best_epoch"],
                            "best_dev_mean_macro_f1": training["best_dev_mean_macro_f1"]},
               "calibration_dev": cal["report"], "retrieval_dev": retrieval_dev,
               "retrieval_dev_separate_frozen_base": separate_dev,
               "retrieval_decision": retrieval_decision(cfg, retrieval_dev, separate_dev)}
    facts = {"metrics": metrics, "calibration": cal,
             "details": {"history": training["history"], "train_posts": len(corpus.posts.splits["train"]),
                         "dev_posts": len(corpus.posts.splits["dev"])}}
    manifest = write_artifact(out, model, corpus, cfg, tokenizer, facts)
    manifest.metrics["openvino_export"] = export_openvino(model, out, text_batches(batcher, corpus.posts.splits["dev"]))
    write_kb_embeddings(out, corpus.kb)
    test_batches = text_batches(batcher, corpus.posts.splits["test"])
    manifest.metrics["onnx_parity_test"] = parity(model, out / "model.onnx", test_batches)
    manifest.details["training_seconds"] = round(time.perf_counter() - t0, 1)
    write_manifest(out, manifest, served_files(out))
    print(json.dumps(manifest.metrics["onnx_parity_test"], indent=2))
    return manifest

def load_checkpoint_model(model_dir: Path, base: str | None = None,
                          checkpoint: str = "model-best") -> tuple[TrainConfig, MultiTaskModel]:
    """The torch model of a trained model directory, rebuilt from its training config."""
    manifest = load_manifest(model_dir, kind="triage-model", verify_files=False)
    values = {k: v for k, v in manifest.details["train_config"].items() if k != "extra"}
    cfg = TrainConfig.load(None, [], **{**values, **({"base": base} if base else {})})
    model = MultiTaskModel.from_base(cfg.base, manifest.label_sets, 0.0, cfg.keep_layers, tower_from(cfg))
    model.load_state_dict(torch.load(model_dir / "checkpoints" / f"{checkpoint}.pt"))
    return cfg, model.eval()

def reexport(model_dir: Path, data: Path) -> Manifest:
    """Export a trained model again from its best checkpoint (same parity gate as training) and
    re-fit its retrieval settings (lexical weight, abstain threshold) on dev."""
    manifest = load_manifest(model_dir, kind="triage-model", verify_files=False)
    cfg, model = load_checkpoint_model(model_dir)
    corpus = load_corpus(data, LabelConfig(manifest.label_sets))
    tokenizer = load_tokenizer(cfg.base)
    batcher = Batcher(tokenizer, cfg.max_length)
    gate = export_with_parity_gate(model, model_dir / "model.onnx", text_batches(batcher, corpus.posts.splits["dev"]),
                                   cfg.quantize)
    manifest.metrics["onnx_export"] = gate_summary(gate)
    manifest.metrics["onnx_parity_test"] = parity(model, model_dir / "model.onnx",
                                                  text_batches(batcher, corpus.posts.splits["test"]))
    retrieval = fit_retrieval(model, corpus, batcher, cfg)
    manifest.metrics["retrieval_dev"] = retrieval
    manifest.metrics["retrieval_decision"] = retrieval_decision(cfg, retrieval, {})
    manifest.retrieval.update({"threshold": retrieval["threshold"], "lexical_weight": retrieval["lexical_weight"],
                               "lexical_candidates": cfg.lexical_candidates, "encoder": cfg.retrieval})
    manifest.metrics["openvino_export"] = export_openvino(model, model_dir,
                                                          text_batches(batcher, corpus.posts.splits["dev"]))
    save_serving_tokenizer(tokenizer, model_dir)
    write_manifest(model_dir, manifest, ["model.onnx", "tokenizer.json"])
    write_kb_embeddings(model_dir, corpus.kb)
    return write_manifest(model_dir, manifest, served_files(model_dir))

def run_training_cli(args: argparse.Namespace) -> int:
    cfg = TrainConfig.load(args.config, args.set, base=args.base)
    labels = LabelConfig.from_file(args.labels) if args.labels else None
    manifest = train_model(Path(args.data), Path(args.out), cfg, labels)
    print(f"model written to {args.out} (training {manifest.details['training_seconds']} s)")
    return 0
