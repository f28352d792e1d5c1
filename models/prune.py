"""Vocabulary pruning: keep the pieces Dutch and English forum text needs.

A Unigram tokenizer picks the best-scoring segmentation among its pieces, so
if every piece of a word's best segmentation is kept, the pruned tokenizer
segments that word identically. We keep:
- the pieces of the top Dutch and English `wordfreq` words and of the telecom
  terms in `telecom_terms.txt` (operators, brands, jargon), in lower,
  Capitalised and UPPER case, with and without the leading metaspace;
- every single-character piece (with or without ▁) in the Latin, punctuation,
  symbol, currency, arrow, box and emoji blocks;
- every piece without letters (numbers, times like 08:00, amounts like 9,99);
- camelCase pieces (iPhone, WhatsApp, eSIM) and capitalised word-internal pieces;
- the word-internal twin of every kept word-initial piece (Dutch compounds);
- the special tokens and the pieces of the e5 prompts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

SPECIALS = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")
CHAR_RANGES = [
    (0x0020, 0x024F), (0x1E00, 0x1EFF),  # Latin
    (0x2000, 0x206F), (0x20A0, 0x20CF), (0x2100, 0x214F), (0x2190, 0x23FF),  # punctuation, symbols
    (0x2460, 0x27BF), (0x2900, 0x2BFF), (0x3000, 0x303F), (0xFE00, 0xFE0F),
    (0x1F000, 0x1FAFF),  # emoji and pictographs
]
# camelCase/PascalCase brand pieces (iPhone, WhatsApp, MacBook) and the capitalised
# word-internal pieces such names split into (FaceTime -> ▁Face + Time).
CAMEL = re.compile(r"^(▁?[A-Za-z]*[a-z][A-Z][A-Za-z0-9]*|[A-Z][A-Za-z]*)$")


@dataclass
class PruneSpec:
    nl_words: int = 60000
    en_words: int = 30000
    extra_words: list[str] = field(default_factory=list)


def _in_ranges(ch: str) -> bool:
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in CHAR_RANGES)


def rule_kept_ids(pieces: list[str]) -> set[int]:
    """Ids kept by the character rules alone (no word list)."""
    keep = {i for i, p in enumerate(pieces) if p in SPECIALS}
    for i, p in enumerate(pieces):
        core = p[1:] if p.startswith("▁") and len(p) > 1 else p
        if len(core) == 1 and _in_ranges(core):
            keep.add(i)
        elif not any(c.isalpha() for c in core):
            keep.add(i)
        elif CAMEL.match(p):
            keep.add(i)
    return keep


def word_variants(words: list[str]) -> list[str]:
    out: list[str] = []
    for w in words:
        out.extend({w, w.lower(), w.capitalize(), w.upper()})
    return out


def word_piece_ids(tokenizer: Tokenizer, words: list[str]) -> set[int]:
    """Ids of the pieces of each word, as a word inside a sentence (' w') and at its start ('w')."""
    keep: set[int] = set()
    texts = [f"x {w}" for w in words] + [f"{w}" for w in words]
    for enc in tokenizer.encode_batch(texts, add_special_tokens=False):
        keep.update(enc.ids)
    return keep


TERMS_FILE = Path(__file__).with_name("telecom_terms.txt")


def telecom_terms() -> list[str]:
    lines = TERMS_FILE.read_text(encoding="utf-8").splitlines()
    return [w for line in lines if not line.startswith("#") for w in line.split()]


def wordfreq_words(spec: PruneSpec) -> list[str]:
    import wordfreq

    words = wordfreq.top_n_list("nl", spec.nl_words) + wordfreq.top_n_list("en", spec.en_words)
    return words + telecom_terms() + list(spec.extra_words)


def choose_kept_ids(tokenizer: Tokenizer, pieces: list[str], spec: PruneSpec) -> list[int]:
    keep = rule_kept_ids(pieces)
    keep |= word_piece_ids(tokenizer, word_variants(wordfreq_words(spec)))
    keep |= word_piece_ids(tokenizer, ["query:", "passage:"])
    keep |= compound_tail_ids(pieces, keep)
    return sorted(keep)


def compound_tail_ids(pieces: list[str], keep: set[int]) -> set[int]:
    """Dutch compounds (klant+expert, wifi+bellen): for every kept word-initial
    piece '▁abc', keep its word-internal twin 'abc' too."""
    index = {p: i for i, p in enumerate(pieces)}
    tails = (index.get(pieces[i][1:]) for i in keep if pieces[i].startswith("▁") and len(pieces[i]) > 1)
    return {i for i in tails if i is not None}


def remap(kept: list[int]) -> np.ndarray:
    """Array old id -> new id (-1 where dropped)."""
    table = np.full(max(kept) + 1, -1, dtype=np.int64)
    table[np.asarray(kept)] = np.arange(len(kept))
    return table


def heldout_dutch_words(spec: PruneSpec, n: int = 20000) -> list[str]:
    """Dutch words ranked just after those used for pruning: never seen by the selection."""
    import wordfreq

    return wordfreq.top_n_list("nl", spec.nl_words + n)[spec.nl_words:]


def share_tokenised_differently(full: Tokenizer, pruned: Tokenizer, kept: list[int], words: list[str]) -> float:
    """Share of `words` whose pruned tokenisation differs from the full one (after remapping ids)."""
    kept_arr = np.asarray(kept)
    a = full.encode_batch([f"x {w}" for w in words], add_special_tokens=False)
    b = pruned.encode_batch([f"x {w}" for w in words], add_special_tokens=False)
    differ = sum(1 for ea, eb in zip(a, b, strict=True) if ea.ids != kept_arr[eb.ids].tolist())
    return differ / max(len(words), 1)
