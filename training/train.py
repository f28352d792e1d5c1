"""Fine-tune the multi-task model, calibrate it, choose thresholds and export to ONNX.

`python -m training train --data DIR --out DIR [--base DIR] [--config YAML] [--set key=value ...]`
writes OUT/model-best and OUT/model-last (torch checkpoints) under OUT/checkpoints
and the served artifact (model.onnx, tokenizer.json, manifest.json, README.md) in OUT.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from models.artifact import Manifest, load_manifest, write_manifest
from models.encoder import PASSAGE, QUERY, load_tokenizer
from models.metrics import best_abstain_threshold, head_metrics, ranking_metrics, retrieval_report
from service.inference import passage_text
from service.lexical import bm25_matrix, fuse
from training import calibration
from training.config import TrainConfig
from training.corpus import Corpus, load_corpus
from training.data_io import post_text, rows_sha256
from training.export_onnx import export_with_parity_gate, parity
from training.export_openvino import export_openvino
from training.model import MultiTaskModel
from training.schema import LabelConfig


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


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


def class_weights(y: np.ndarray, n: int) -> torch.Tensor:
    counts = np.bincount(y, minlength=n).astype(np.float64) + 1.0
    w = 1.0 / np.sqrt(counts)
    return torch.tensor(w / w.mean() if len(w) else w, dtype=torch.float32)


def contrastive_pairs(corpus: Corpus) -> list[tuple[str, str]]:
    """(query text, passage text) pairs: train-split queries with their first
    relevant answer, and each answer's own customer question. No dev/test query
    is ever used."""
    by_id = {a["id"]: a for a in corpus.kb}
    pairs = [(post_text(q), passage_text(by_id[q["relevant"][0]]))
             for q in corpus.queries.splits["train"] if q["relevant"]]
    pairs += [(a["question"], passage_text(a)) for a in corpus.kb if a.get("question")]
    return pairs


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


def tower_from(cfg: TrainConfig) -> int:
    return cfg.freeze_layers if cfg.retrieval == "tower" else 0


def freeze_lower_layers(model: MultiTaskModel, cfg: TrainConfig) -> None:
    if cfg.freeze_embeddings:
        model.encoder.embeddings.requires_grad_(False)
    layers: Any = model.encoder.encoder.layer
    for layer in layers[:cfg.freeze_layers]:
        layer.requires_grad_(False)


def mnrl_loss(q: torch.Tensor, p: torch.Tensor, scale: float) -> torch.Tensor:
    """Multiple-negatives ranking loss (in-batch negatives) on normalised embeddings."""
    scores = scale * q @ p.T
    return torch.nn.functional.cross_entropy(scores, torch.arange(len(q)))


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


def make_optimizer(model: MultiTaskModel, cfg: TrainConfig) -> torch.optim.Optimizer:
    enc = [p for n, p in model.encoder.named_parameters() if p.requires_grad]
    groups = [{"params": enc, "lr": cfg.lr}, {"params": list(model.heads.parameters()), "lr": cfg.head_lr}]
    try:
        return torch.optim.AdamW(groups, weight_decay=cfg.weight_decay, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.AdamW(groups, weight_decay=cfg.weight_decay)


def train_loop(model: MultiTaskModel, corpus: Corpus, cfg: TrainConfig, batcher: Batcher, ckpt: Path) -> dict:
    labels = corpus.labels
    train = corpus.posts.splits["train"]
    if cfg.max_train_posts:
        train = train[:cfg.max_train_posts]
    dev = corpus.posts.splits["dev"]
    y_train, y_dev = label_matrix(train, labels), label_matrix(dev, labels)
    texts = [post_text(r) for r in train]
    dev_texts = [post_text(r) for r in dev]
    weights = [class_weights(y_train[:, k], len(v)) if cfg.class_weighting else None
               for k, v in enumerate(labels.heads.values())]
    pairs = contrastive_pairs(corpus) if cfg.contrastive_weight > 0 else []
    freeze_lower_layers(model, cfg)
    lengths = [len(t) for t in texts]
    opt = make_optimizer(model, cfg)
    steps_per_epoch = (len(texts) + cfg.batch_size - 1) // cfg.batch_size
    total = steps_per_epoch * cfg.epochs
    warm = max(1, int(total * cfg.warmup_ratio))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, (total - s) / max(1, total - warm)))
    best, best_epoch, history, stale = -1.0, 0, [], 0
    rng = np.random.default_rng(cfg.seed)
    for epoch in range(1, cfg.epochs + 1):
        started = time.perf_counter()
        model.train()
        batches = batch_order(lengths, cfg.batch_size, rng, cfg.length_buckets)
        pair_order = rng.permutation(len(pairs)) if pairs else np.zeros(0, dtype=np.int64)
        bar = tqdm(batches, desc=f"epoch {epoch}/{cfg.epochs}", leave=False, mininterval=5, disable=None)
        for step, idx in enumerate(bar):
            ids, mask = batcher([texts[i] for i in idx])
            outs = model(ids, mask, embed=False)
            yb = torch.from_numpy(y_train[idx])
            loss: torch.Tensor = torch.stack([torch.nn.functional.cross_entropy(outs[k], yb[:, k], weight=weights[k])
                                              for k in range(len(labels.heads))]).mean()
            if pairs and step % cfg.contrastive_every == 0:
                k = step // cfg.contrastive_every
                start = (k * cfg.contrastive_batch) % max(1, len(pairs) - cfg.contrastive_batch + 1)
                chunk = [pairs[i] for i in pair_order[start:start + cfg.contrastive_batch]]
                q = model(*batcher([a for a, _ in chunk], QUERY))[-1]
                p = model(*batcher([b for _, b in chunk], PASSAGE, cfg.passage_max_length))[-1]
                loss = loss + cfg.contrastive_weight * mnrl_loss(q, p, cfg.contrastive_scale)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            bar.set_postfix(loss=f"{loss.item():.3f}")
        logits, _ = predict_logits(model, batcher, dev_texts)
        score = mean_macro_f1(evaluate_heads(logits, y_dev, labels)) if len(dev) else 0.0
        seconds = round(time.perf_counter() - started, 1)
        history.append({"epoch": epoch, "dev_mean_macro_f1": round(score, 4), "seconds": seconds})
        print(f"epoch {epoch}: dev mean macro-F1 {score:.4f} ({seconds} s)", flush=True)
        torch.save(model.state_dict(), ckpt / "model-last.pt")
        if score > best:
            best, best_epoch, stale = score, epoch, 0
            torch.save(model.state_dict(), ckpt / "model-best.pt")
        else:
            stale += 1
            if stale >= cfg.patience:
                print(f"early stop: no dev improvement for {cfg.patience} epochs", flush=True)
                break
    model.load_state_dict(torch.load(ckpt / "model-best.pt"))
    return {"history": history, "best_epoch": best_epoch, "best_dev_mean_macro_f1": round(best, 4)}


def calibrate(model: MultiTaskModel, corpus: Corpus, cfg: TrainConfig, batcher: Batcher) -> dict[str, Any]:
    labels = corpus.labels
    dev = corpus.posts.splits["dev"]
    y = label_matrix(dev, labels)
    logits, _ = predict_logits(model, batcher, [post_text(r) for r in dev])
    temps, thresholds, report = {}, {}, {}
    for k, h in enumerate(labels.heads):
        t = calibration.fit_temperature(logits[k], y[:, k])
        p0, p1 = calibration.softmax(logits[k]), calibration.softmax(logits[k] / t)
        temps[h] = round(t, 4)
        thresholds[h] = round(calibration.abstain_threshold(p1, y[:, k], cfg.abstain_target_precision), 4)
        kept = p1.max(1) >= thresholds[h]
        report[h] = {"dev_ece_before": round(calibration.ece(p0, y[:, k]), 4),
                     "dev_ece_after": round(calibration.ece(p1, y[:, k]), 4),
                     "dev_coverage_at_threshold": round(float(kept.mean()), 4),
                     "dev_precision_at_threshold": round(float((p1.argmax(1) == y[:, k])[kept].mean())
                                                         if kept.any() else 1.0, 4)}
    return {"temperatures": temps, "thresholds": thresholds, "report": report}


LEXICAL_WEIGHTS = (0.0, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03)


@dataclass
class RetrievalScores:
    dense: np.ndarray
    lexical: np.ndarray
    relevant: list[list[str]]


def retrieval_scores(model: MultiTaskModel, batcher: Batcher, passages: tuple[list[str], np.ndarray],
                     queries: list[dict]) -> RetrievalScores:
    texts = [post_text(q) for q in queries]
    _, Q = predict_logits(model, batcher, texts, QUERY)
    return RetrievalScores(Q @ passages[1].T, bm25_matrix(passages[0], texts), [q["relevant"] for q in queries])


def choose_lexical_weight(sets: list[RetrievalScores], ids: list[str], candidates: int = 100) -> float:
    """The BM25 weight with the best MRR@10 over `sets` (ties: the smaller weight)."""
    def mrr(w: float) -> float:
        return float(np.mean([ranking_metrics(fuse(s.dense, s.lexical, w, candidates), ids, s.relevant)["mrr@10"]
                              for s in sets]))
    scored = [(mrr(w), -w) for w in LEXICAL_WEIGHTS]
    return -max(scored)[1]


def fit_retrieval(model: MultiTaskModel, corpus: Corpus, batcher: Batcher, cfg: TrainConfig) -> dict[str, Any]:
    """Lexical weight and abstain threshold, chosen without test data. The weight is chosen on dev
    queries, plus the train queries when the retriever never trained on them (the frozen tower);
    the threshold (on the dense cosine) on dev by abstain F1."""
    if not corpus.queries.splits["dev"] or not corpus.kb:
        return {"threshold": 0.0, "lexical_weight": 0.0}
    ids = [a["id"] for a in corpus.kb]
    texts = [passage_text(a) for a in corpus.kb]
    passages = (texts, predict_logits(model, batcher, texts, PASSAGE)[1])
    dev = retrieval_scores(model, batcher, passages, corpus.queries.splits["dev"])
    sets = [dev]
    if cfg.retrieval == "tower" and corpus.queries.splits["train"]:
        sets.append(retrieval_scores(model, batcher, passages, corpus.queries.splits["train"]))
    weight = choose_lexical_weight(sets, ids, cfg.lexical_candidates) if cfg.hybrid else 0.0
    threshold = round(best_abstain_threshold(dev.dense.max(1), dev.relevant), 4)
    ranking = fuse(dev.dense, dev.lexical, weight, cfg.lexical_candidates)
    report = retrieval_report(ranking, ids, dev.relevant, threshold, dev.dense.max(1))
    dense_only = retrieval_report(dev.dense, ids, dev.relevant, threshold)
    return {**report, "lexical_weight": weight, "lexical_candidates": cfg.lexical_candidates,
            "dense_only": dense_only,
            "weight_chosen_on": "dev + train queries" if len(sets) > 1 else "dev queries"}


def frozen_base_retrieval(base: str, corpus: Corpus, split: str, max_length: int) -> dict[str, Any]:
    """The separate-encoder alternative: the frozen base (all its layers) as retriever."""
    from models.encoder import Encoder

    queries = corpus.queries.splits[split]
    if not queries or not corpus.kb:
        return {}
    enc = Encoder(base, max_length=max_length)
    P = enc.embed([passage_text(a) for a in corpus.kb], PASSAGE)
    Q = enc.embed([post_text(q) for q in queries], QUERY)
    scores = Q @ P.T
    rel = [q["relevant"] for q in queries]
    return retrieval_report(scores, [a["id"] for a in corpus.kb], rel,
                            round(best_abstain_threshold(scores.max(1), rel), 4))


def retrieval_decision(cfg: TrainConfig, shared: dict[str, Any], separate: dict[str, Any],
                       tolerance: float = 0.02) -> dict[str, Any]:
    """Record which retriever is served and why. The tower layout serves the base's own
    embedding by construction; a shared layout is compared with the frozen base on dev."""
    if cfg.retrieval == "tower":
        return {"choice": "tower", "tower_from_layer": cfg.freeze_layers,
                "why": "the base model's frozen upper layers give the retrieval embedding, so domain tuning "
                       "cannot cost general retrieval; the trunk below them is shared with the heads"}
    if not shared or not separate:
        return {"choice": "shared", "why": "no dev queries to compare"}
    gap = separate["mrr@10"] - shared["mrr@10"]
    if gap > tolerance:
        print(f"warning: the frozen base retrieves better on dev (MRR@10 {separate['mrr@10']:.3f} vs "
              f"{shared['mrr@10']:.3f}); consider retrieval=tower", flush=True)
    return {"choice": "shared", "dev_mrr@10_shared": shared["mrr@10"], "dev_mrr@10_separate": separate["mrr@10"],
            "dev_recall@1_shared": shared["recall@1"], "dev_recall@1_separate": separate["recall@1"],
            "separate_clearly_better": gap > tolerance, "tolerance": tolerance}


def save_serving_tokenizer(tokenizer: Any, out: Path) -> None:
    """tokenizer.json without the batch padding that transformers leaves configured on it."""
    backend = copy.deepcopy(tokenizer.backend_tokenizer)
    backend.no_padding()
    backend.save(str(out / "tokenizer.json"))


def text_batches(batcher: Batcher, rows: list[dict], size: int = 32) -> list[tuple[torch.Tensor, torch.Tensor]]:
    texts = [post_text(r) for r in rows]
    return [batcher(texts[i:i + size]) for i in range(0, len(texts), size)]


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
                   "query_prefix": QUERY, "passage_prefix": PASSAGE, "encoder": cfg.retrieval},
        max_length=cfg.max_length, details={"train_config": cfg.to_dict(), **facts["details"]})
    return write_manifest(out, manifest, ["model.onnx", "tokenizer.json"])


def _base_manifest(base: str) -> Manifest | None:
    try:
        return load_manifest(base, verify_files=False)
    except Exception:  # noqa: BLE001 - a hub id or a foreign directory has no manifest
        return None


def train_model(data: Path, out: Path, cfg: TrainConfig, labels: LabelConfig | None = None) -> Manifest:
    t0 = time.perf_counter()
    set_seed(cfg.seed)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    corpus = load_corpus(data, labels)
    out.mkdir(parents=True, exist_ok=True)
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


def write_kb_embeddings(out: Path, kb: list[dict]) -> None:
    """kb_embeddings.npz: the exported graph's embeddings of the knowledge base passages,
    keyed by passage text, so a service seeded with this knowledge base starts without
    running the encoder over it."""
    from service.inference import KB_CACHE_FILE, TriageModel, passage_key

    path = out / KB_CACHE_FILE
    path.unlink(missing_ok=True)
    if not kb:
        return
    texts = [passage_text(a) for a in kb]
    emb = TriageModel(out, verify_files=False).embed_passages(texts)
    np.savez(path, keys=np.array([passage_key(t) for t in texts]), embeddings=emb.astype(np.float32))


def served_files(out: Path) -> list[str]:
    from models.answerability import FILE as ANSWERABILITY_FILE
    from models.runtime.probe import IR_BIN, IR_XML, PROBE_FILE
    from service.inference import KB_CACHE_FILE

    optional = [KB_CACHE_FILE, IR_XML, IR_BIN, PROBE_FILE, ANSWERABILITY_FILE]
    return ["model.onnx", "tokenizer.json"] + [f for f in optional if (out / f).is_file()]


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
