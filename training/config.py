"""One validated training configuration, with command-line overrides (`--set key=value`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml


@dataclass
class TrainConfig:
    base: str = "models/base"          # base encoder: directory or HF hub id
    max_length: int = 128              # tokens per post (title + body); serving truncates the same
    epochs: int = 10
    batch_size: int = 16
    lr: float = 1.5e-4                 # encoder (its top layer; lower layers decay by layer_lr_decay)
    head_lr: float = 2e-3              # classification heads
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    dropout: float = 0.1
    seed: int = 13
    patience: int = 3                  # early stopping on dev mean macro-F1
    class_weighting: bool = True       # inverse-sqrt-frequency class weights per head
    retrieval: Literal["tower", "shared"] = "tower"  # see training/model.py; tower = frozen base retriever
    contrastive_weight: float = 0.0    # weight of the in-batch-negatives retrieval loss (shared only)
    contrastive_batch: int = 16
    contrastive_scale: float = 20.0
    contrastive_every: int = 2         # one contrastive batch every n classification steps
    passage_max_length: int = 96       # tokens per KB passage in the contrastive objective
    freeze_embeddings: bool = True     # the (pruned) word embedding matrix stays fixed
    freeze_layers: int = 6             # the first n encoder layers stay fixed (no backward through them)
    keep_layers: int = 0               # keep only the first n encoder layers (0 = all)
    layer_lr_decay: float = 0.85       # each trainable layer: this times the rate of the one above (1 = off)
    length_buckets: bool = True        # batch posts of similar length together (less padding)
    max_train_posts: int = 0           # 0 = all; >0 for quick runs and tests
    threads: int = 0                   # torch threads; 0 = torch default
    quantize: bool = True              # int8 dynamic quantisation of the ONNX export
    lexical_candidates: int = 100      # BM25 re-scores this many best dense hits per query
    hybrid: bool = True                # fuse BM25 into the ranking with a weight chosen on dev (0 if it doesn't help)
    compare_retrievers: bool = True     # also score the frozen base as a separate retriever on dev
    abstain_target_precision: float = 0.9  # per-head threshold: keep predictions this precise on dev
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        checks = {
            "max_length": 8 <= self.max_length <= 512,
            "epochs": self.epochs >= 1,
            "batch_size": self.batch_size >= 1,
            "lr": 0 < self.lr < 1,
            "head_lr": 0 < self.head_lr < 1,
            "weight_decay": self.weight_decay >= 0,
            "warmup_ratio": 0 <= self.warmup_ratio < 1,
            "dropout": 0 <= self.dropout < 1,
            "patience": self.patience >= 1,
            "contrastive_weight": self.contrastive_weight >= 0,
            "contrastive_batch": self.contrastive_batch >= 2,
            "keep_layers": self.keep_layers >= 0,
            "layer_lr_decay": 0 < self.layer_lr_decay <= 1,
            "freeze_layers": self.freeze_layers >= 0,
            "contrastive_every": self.contrastive_every >= 1,
            "lexical_candidates": self.lexical_candidates >= 1,
            "passage_max_length": 8 <= self.passage_max_length <= 512,
            "max_train_posts": self.max_train_posts >= 0,
            "abstain_target_precision": 0 < self.abstain_target_precision <= 1,
        }
        if self.retrieval == "tower":
            checks.update({"freeze_embeddings": self.freeze_embeddings,  # the trunk must stay the base's
                           "freeze_layers": 1 <= self.freeze_layers < 12,
                           "contrastive_weight": self.contrastive_weight == 0,  # the tower is never trained
                           "keep_layers": self.keep_layers == 0 or self.keep_layers > self.freeze_layers})
        bad = [k for k, ok in checks.items() if not ok]
        if bad:
            raise ValueError("invalid training config: " + ", ".join(f"{k}={getattr(self, k)!r}" for k in bad))

    @classmethod
    def load(cls, path: str | Path | None = None, overrides: list[str] | None = None,
             **defaults: Any) -> TrainConfig:
        values: dict[str, Any] = dict(defaults)
        if path:
            values.update(yaml.safe_load(Path(path).read_text()) or {})
        for item in overrides or []:
            key, sep, raw = item.partition("=")
            if not sep:
                raise ValueError(f"override {item!r} must look like key=value")
            values[key.strip()] = yaml.safe_load(raw)
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"unknown training config key(s): {', '.join(unknown)}")
        from pydantic import TypeAdapter, ValidationError

        try:  # pydantic coerces "3e-5" -> float, "false" -> bool, and rejects wrong types by field
            return TypeAdapter(cls).validate_python(values)
        except ValidationError as exc:
            errs = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise ValueError(f"invalid training config: {errs}") from exc

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
