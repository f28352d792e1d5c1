"""Multi-task model: a transformer encoder, mean pooling, one linear head per label field.

`forward` returns the head logits and the L2-normalised retrieval embedding in one call.
Two retrieval layouts:

- shared: the embedding is the pooled output of the fine-tuned encoder (the heads' features);
- tower: the frozen lower layers (the trunk) run once, then two stacks of upper layers run
  on the trunk's output: the fine-tuned copies feed the heads, and the base model's own
  frozen upper layers (the retrieval tower) give exactly the base model's embedding. Domain
  tuning then cannot cost general retrieval; the price is the tower's extra layers.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from models.encoder import load_transformer, mean_pool


class MultiTaskModel(nn.Module):
    def __init__(self, encoder: Any, label_sets: dict[str, list[str]], dropout: float = 0.1,
                 tower: nn.ModuleList | None = None, tower_from: int = 0) -> None:
        super().__init__()
        self.encoder: Any = encoder
        hidden = encoder.config.hidden_size
        self.heads_order = list(label_sets)
        self.dropout = nn.Dropout(dropout)
        self.heads = nn.ModuleDict({h: nn.Linear(hidden, len(v)) for h, v in label_sets.items()})
        self.tower = tower
        self.tower_from = tower_from if tower is not None else 0
        if tower is not None:
            tower.requires_grad_(False)

    @classmethod
    def from_base(cls, base: str, label_sets: dict[str, list[str]], dropout: float = 0.1,
                  keep_layers: int = 0, tower_from: int = 0) -> MultiTaskModel:
        """`tower_from` > 0 keeps a frozen copy of the base's layers from that index on
        as the retrieval tower; the trunk (layers below it) must then stay frozen in training."""
        encoder = load_transformer(base)
        layers = encoder.encoder.layer
        tower = None
        if tower_from:
            if not 0 < tower_from < len(layers):
                raise ValueError(f"tower_from must be between 1 and {len(layers) - 1}, got {tower_from}")
            tower = nn.ModuleList(copy.deepcopy(list(layers[tower_from:])))
            for module in tower.modules():  # one config, so export switches every layer's attention
                if hasattr(module, "config"):
                    module.config = encoder.config
        if keep_layers and keep_layers < len(layers):
            encoder.encoder.layer = layers[:keep_layers]
            encoder.config.num_hidden_layers = keep_layers
        return cls(encoder, label_sets, dropout, tower, tower_from)

    def pooled(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return mean_pool(hidden, attention_mask, normalize=False)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                embed: bool = True) -> tuple[torch.Tensor, ...]:
        """Head logits, then the normalised retrieval embedding (zeros of width 1 when
        `embed` is False and the tower is not needed: training the heads)."""
        if self.tower is None:
            pooled = self.pooled(input_ids, attention_mask)
            retrieval = pooled
        elif not embed:
            pooled = self.pooled(input_ids, attention_mask)
            retrieval = pooled[:, :1] * 0
        else:
            pooled, retrieval = self._branched(input_ids, attention_mask)
        feats = self.dropout(pooled)
        logits = tuple(self.heads[h](feats) for h in self.heads_order)
        return (*logits, nn.functional.normalize(retrieval, dim=-1))

    def _branched(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        enc = self.encoder
        assert self.tower is not None
        split = self.tower_from
        hidden = enc.embeddings(input_ids=input_ids)
        mask = additive_mask(attention_mask, hidden.dtype)
        for layer in enc.encoder.layer[:split]:
            hidden = _hidden(layer(hidden, attention_mask=mask))
        heads, tower = hidden, hidden
        for layer in enc.encoder.layer[split:]:
            heads = _hidden(layer(heads, attention_mask=mask))
        for layer in self.tower:
            tower = _hidden(layer(tower, attention_mask=mask))
        return mean_pool(heads, attention_mask, normalize=False), mean_pool(tower, attention_mask, normalize=False)


def additive_mask(attention_mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """The (batch, 1, 1, tokens) additive attention mask every BERT attention implementation
    (eager and sdpa) accepts: 0 where a token is attended to, the dtype's minimum at padding.
    Built here rather than through transformers' private mask helpers, whose signature
    changes between releases."""
    keep = attention_mask[:, None, None, :].to(dtype)
    return (1.0 - keep) * torch.finfo(dtype).min


def _hidden(out: Any) -> torch.Tensor:
    return out[0] if isinstance(out, tuple) else out
