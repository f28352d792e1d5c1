"""Synthetic knowledge bases of real-looking, varied answers for the lexical benchmark.

The shipped 520 answers are kept as they are. Every further answer is built from one randomly chosen
*source* answer:

- title and question: the source's, with the word variations below;
- answer: as many sentences as the source has (±1, no sentence twice), each taken, with probability
  1/2, from the source itself (in order) and otherwise from a random answer of the same topic, so that
  sentences are recombined across answers that talk about the same things;
- word variations, per word: half of the numbers are redrawn with the same number of digits (amounts,
  codes, dates change: €35 → €72), 4% of the words of 6+ letters become a Dutch-style compound with another
  word of the shipped vocabulary (`bundel` → `bundelinstellingen`), 2% of the words are dropped.

An exact repeat of an earlier text is drawn again. So no two answers are copies, sentences keep their
real wording and length, and the vocabulary grows with the knowledge base (new compounds and numbers) as
a real one does; `describe` reports the result.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from models.inference import passage_text
from models.lexical import tokenize

_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_WORD = re.compile(r"\w+")
COMPOUND_P = 0.04
DROP_P = 0.02
NUMBER_P = 0.5


def sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE.split(text.strip()) if s]


class Varier:
    """Word-level variation of a sentence (numbers, compounds, drops), driven by one generator."""

    def __init__(self, rng: np.random.Generator, vocabulary: list[str]) -> None:
        self.rng = rng
        self.long_words = sorted(w for w in vocabulary if len(w) >= 5 and w.isalpha())

    def _word(self, m: re.Match[str]) -> str:
        w = m.group(0)
        r = self.rng.random()
        if w.isdigit():
            if r < NUMBER_P:
                lo = 0 if len(w) == 1 else 10 ** (len(w) - 1)
                return str(int(self.rng.integers(lo, 10 ** len(w))))
            return w
        if r < DROP_P:
            return ""
        if len(w) >= 6 and r < DROP_P + COMPOUND_P:
            return w + self.long_words[int(self.rng.integers(len(self.long_words)))]
        return w

    def __call__(self, text: str) -> str:
        return re.sub(r" {2,}", " ", _WORD.sub(self._word, text)).strip()


def synthesise(shipped: list[dict[str, Any]], n: int, seed: int) -> list[str]:
    """`n` passage texts (title, question, answer as the service indexes them): the shipped answers
    first, as they are, then recombined and varied ones (module docstring)."""
    rng = np.random.default_rng(seed)
    vocabulary = sorted({t for a in shipped for t in tokenize(passage_text(a))})
    vary = Varier(rng, vocabulary)
    split = [sentences(a.get("answer") or "") for a in shipped]
    by_topic: dict[str, list[int]] = {}
    for i, a in enumerate(shipped):
        by_topic.setdefault(str(a.get("topic")), []).append(i)
    out = [passage_text(a) for a in shipped[:n]]
    seen = set(out)
    while len(out) < n:
        s = int(rng.integers(len(shipped)))
        src, peers = shipped[s], by_topic[str(shipped[s].get("topic"))]
        own = split[s] or [""]
        count = max(1, len(own) + int(rng.integers(-1, 2)))
        body = []
        for j in range(count):
            if j < len(own) and rng.random() < 0.5:
                pick = own[j]
            else:
                other = split[peers[int(rng.integers(len(peers)))]] or own
                pick = other[int(rng.integers(len(other)))]
            if pick not in body:
                body.append(pick)
        answer = {"title": vary(src.get("title") or ""), "question": vary(src.get("question") or ""),
                  "answer": " ".join(vary(b) for b in body)}
        text = passage_text(answer)
        if text not in seen:  # a rare exact repeat (short answer, nothing varied) is drawn again
            seen.add(text)
            out.append(text)
    return out


def describe(texts: list[str], shipped: int) -> dict[str, Any]:
    """Size, vocabulary, length and duplicates of a synthetic knowledge base."""
    vocab: set[str] = set()
    lengths = []
    for t in texts:
        toks = tokenize(t)
        vocab.update(toks)
        lengths.append(len(toks))
    return {"answers": len(texts), "shipped_answers": min(shipped, len(texts)), "vocabulary": len(vocab),
            "mean_tokens": round(float(np.mean(lengths)), 1), "duplicate_texts": len(texts) - len(set(texts))}
