"""Multi-task model: a transformer encoder, mean pooling, one linear head per label field.

`forward` returns the head logits and the L2-normalised pooled embedding, so one
encoder pass serves both tagging and answer retrieval.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from models.encoder import load_transformer, mean_pool


class MultiTaskModel(nn.Module):
    def __init__(self, encoder: Any, label_sets: dict[str, list[str]], dropout: float = 0.1) -> None:
        super().__init__()
        self.encoder: Any = encoder
        hidden = encoder.config.hidden_size
        self.heads_order = list(label_sets)
        self.dropout = nn.Dropout(dropout)
        self.heads = nn.ModuleDict({h: nn.Linear(hidden, len(v)) for h, v in label_sets.items()})

    @classmethod
    def from_base(cls, base: str, label_sets: dict[str, list[str]], dropout: float = 0.1,
                  keep_layers: int = 0) -> MultiTaskModel:
        encoder = load_transformer(base)
        if keep_layers and keep_layers < len(encoder.encoder.layer):
            encoder.encoder.layer = encoder.encoder.layer[:keep_layers]
            encoder.config.num_hidden_layers = keep_layers
        return cls(encoder, label_sets, dropout)

    def pooled(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return mean_pool(hidden, attention_mask, normalize=False)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, ...]:
        pooled = self.pooled(input_ids, attention_mask)
        feats = self.dropout(pooled)
        logits = tuple(self.heads[h](feats) for h in self.heads_order)
        return (*logits, nn.functional.normalize(pooled, dim=-1))
