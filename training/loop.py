"""The training loop: multi-task cross-entropy over the heads (plus the optional in-batch
contrastive loss of the shared layout), AdamW with layer-wise learning-rate decay, warmup and
linear decay, early stopping on dev mean macro-F1, checkpoints per epoch."""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from models.data_io import post_text
from models.encoder import PASSAGE, QUERY
from models.inference import passage_text
from training.batches import Batcher, batch_order, evaluate_heads, label_matrix, mean_macro_f1, predict_logits
from training.config import TrainConfig
from training.corpus import Corpus
from training.model import MultiTaskModel


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)

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


def layer_groups(model: MultiTaskModel, cfg: TrainConfig) -> list[dict[str, Any]]:
    """Optimizer groups: the heads at `head_lr`; the trainable encoder layers at `lr`, with
    layer-wise decay: the top layer gets `lr`, each layer below it `layer_lr_decay` times
    the one above (1.0 = one rate for all). Other trainable encoder weights get `lr`."""
    layers: Any = model.encoder.encoder.layer
    groups: list[dict[str, Any]] = [{"params": list(model.heads.parameters()), "lr": cfg.head_lr}]
    in_layers: set[int] = set()
    for depth, layer in enumerate(reversed(list(layers))):
        params = [p for p in layer.parameters() if p.requires_grad]
        in_layers.update(id(p) for p in layer.parameters())
        if params:
            groups.append({"params": params, "lr": cfg.lr * cfg.layer_lr_decay ** depth})
    rest = [p for p in model.encoder.parameters() if p.requires_grad and id(p) not in in_layers]
    if rest:
        groups.append({"params": rest, "lr": cfg.lr})
    return groups


def make_optimizer(model: MultiTaskModel, cfg: TrainConfig) -> torch.optim.Optimizer:
    groups = layer_groups(model, cfg)
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
