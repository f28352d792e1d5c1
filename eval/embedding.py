"""Frozen-encoder embeddings, batched by length (less padding, same vectors)."""

from __future__ import annotations

import numpy as np

from models.encoder import Encoder


def embed_by_length(encoder: Encoder, texts: list[str], prefix: str, batch_size: int = 32) -> np.ndarray:
    """`encoder.embed(texts, prefix)`, computed in order of text length and returned in input order."""
    order = np.argsort([len(t) for t in texts], kind="stable")
    emb = encoder.embed([texts[i] for i in order], prefix, batch_size)
    out = np.empty_like(emb)
    out[order] = emb
    return out
