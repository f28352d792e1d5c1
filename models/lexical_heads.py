"""Lexical heads: TF-IDF (word 1-2-grams + character 2-5-grams within words) and one logistic
regression per head, mixed into the transformer's calibrated probabilities:
p = (1 - weight) * p_model + weight * p_lexical, then re-calibrated per head by a temperature
on the mixture (softmax(log(p) / t), fitted on dev).

Fitted with scikit-learn at training time (`training/lexical_ensemble.py`); served from plain
arrays (`lexical_heads.npz`) by this module, which reproduces scikit-learn's analyzers, sublinear
TF-IDF, per-block L2 normalisation and `predict_proba` with numpy only, so the service needs no
scikit-learn. tests/test_lexical_heads.py checks the two agree.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

FILE = "lexical_heads.npz"
_TOKEN = re.compile(r"(?u)\b\w\w+\b")  # scikit-learn's default token_pattern
_WHITE = re.compile(r"\s\s+")
WORD_NGRAMS, CHAR_NGRAMS = (1, 2), (2, 5)


def word_ngrams(text: str) -> list[str]:
    tokens = _TOKEN.findall(text.lower())
    grams = list(tokens)
    for n in range(2, min(WORD_NGRAMS[1] + 1, len(tokens) + 1)):
        grams += [" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]
    return grams


def char_wb_ngrams(text: str) -> list[str]:
    grams = []
    for w in _WHITE.sub(" ", text.lower()).split():
        w = f" {w} "
        for n in range(CHAR_NGRAMS[0], CHAR_NGRAMS[1] + 1):
            offset = 0
            grams.append(w[:n])
            while offset + n < len(w):
                offset += 1
                grams.append(w[offset:offset + n])
            if offset == 0:  # a word shorter than n counts once
                break
    return grams


class _Block:
    """One TF-IDF vectoriser: vocabulary, idf, sublinear tf, L2 norm."""

    def __init__(self, terms: np.ndarray, idf: np.ndarray, analyzer: Any) -> None:
        self.index = {str(t): i for i, t in enumerate(terms)}
        self.idf = idf.astype(np.float64)
        self.analyzer = analyzer

    def features(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        counts = Counter(g for g in self.analyzer(text) if g in self.index)
        idx = np.fromiter((self.index[g] for g in counts), dtype=np.int64, count=len(counts))
        val = np.fromiter((1.0 + math.log(c) for c in counts.values()), dtype=np.float64, count=len(counts))
        val *= self.idf[idx]
        norm = np.sqrt((val ** 2).sum())
        return idx, val / norm if norm > 0 else val


class LexicalHeads:
    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.weight = float(arrays["weight"])
        self.heads = [str(h) for h in arrays["heads"]]
        self._word = _Block(arrays["word_terms"], arrays["word_idf"], word_ngrams)
        self._char = _Block(arrays["char_terms"], arrays["char_idf"], char_wb_ngrams)
        self._width = len(self._word.idf)
        coefs = [arrays[f"coef_{h}"].astype(np.float32) for h in self.heads]
        # all heads' weights in one (features x outputs) matrix: a post is one row gather and one product
        self._weights = np.ascontiguousarray(np.concatenate(coefs, axis=0).T)
        self._intercept = np.concatenate([arrays[f"intercept_{h}"].astype(np.float32) for h in self.heads])
        bounds = np.cumsum([0] + [len(c) for c in coefs])
        self._slices = {h: slice(int(bounds[i]), int(bounds[i + 1])) for i, h in enumerate(self.heads)}
        self.temperatures = {h: float(arrays[f"temperature_{h}"]) for h in self.heads if f"temperature_{h}" in arrays}
        if self._weights.shape[0] != self._width + len(self._char.idf):
            raise ValueError(f"the coefficients have {self._weights.shape[0]} columns, the vocabulary "
                             f"{self._width + len(self._char.idf)}")

    @classmethod
    def load(cls, directory: str | Path) -> LexicalHeads:
        with np.load(Path(directory) / FILE, allow_pickle=False) as npz:
            return cls({k: npz[k] for k in npz.files})

    def probabilities(self, texts: list[str]) -> dict[str, np.ndarray]:
        out: dict[str, list[np.ndarray]] = {h: [] for h in self.heads}
        for text in texts:
            wi, wv = self._word.features(text)
            ci, cv = self._char.features(text)
            idx, val = np.concatenate([wi, ci + self._width]), np.concatenate([wv, cv]).astype(np.float32)
            z = val @ self._weights[idx] + self._intercept
            for h, part in self._slices.items():
                out[h].append(_proba(z[part]))
        return {h: np.array(v).reshape(len(texts), -1) for h, v in out.items()}

    def mix(self, probs: dict[str, np.ndarray], texts: list[str]) -> dict[str, np.ndarray]:
        """(1 - weight) * the model's probabilities + weight * the lexical heads', per head,
        re-calibrated by the mixture's own temperature (fitted on dev: softmax(log(p) / t))."""
        lexical = self.probabilities(texts)
        return {h: mix_head(p, lexical[h], self.weight, self.temperatures.get(h, 1.0)) if h in lexical else p
                for h, p in probs.items()}


def mix_head(p_model: np.ndarray, p_lexical: np.ndarray, weight: float, temperature: float = 1.0) -> np.ndarray:
    mixed = (1 - weight) * p_model + weight * p_lexical
    if temperature == 1.0:
        return mixed
    z = np.log(np.clip(mixed, 1e-12, 1.0)) / temperature
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _proba(z: np.ndarray) -> np.ndarray:
    if len(z) == 1:  # scikit-learn's binary case: one column of decision values
        p1 = 1.0 / (1.0 + np.exp(-z[0]))
        return np.array([1.0 - p1, p1])
    e = np.exp(z - z.max())
    return e / e.sum()


def save(directory: str | Path, arrays: dict[str, Any]) -> Path:
    path = Path(directory) / FILE
    np.savez_compressed(path, **arrays)
    return path
