"""A short Dutch summary of an incident from its member posts: the dominant topic and product,
the most characteristic terms (frequent in the incident, rare in the background traffic) and a
representative post (the member nearest the members' mean embedding)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from models.lexical import tokenize

# Function words and forum filler that are never characteristic of an incident.
STOPWORDS = frozenset("""
aan al alle alleen als ben bij bijna dan dat de deze die dit doe doen door dus een eens en er erg even ga gaan
geen had heb hebben heeft het hier hij hoe hun ik in is iemand iets ja je jij jullie kan kun kunnen maar me meer
mee men met mij mijn moet na naar niet niets nog nou nu of om ook op over per sinds te tot u uit van veel voor
waar wat we wel werd wie wil worden wordt zal ze zei zelf zich zijn zo zou hebt hoi hallo graag bedankt dank
groet groeten iedereen weet iemand anders andere heel keer ook echt toch weer gewoon al even vandaag gisteren
mensen zit zitten nou hè ons onze omdat want waarom wanneer welke zonder tegen onder tussen vanaf steeds
""".split())
MAX_TERMS = 5
REPRESENTATIVE_CHARS = 160


@dataclass
class Summary:
    text: str
    terms: list[str]
    representative: str | None  # post id
    topic: str | None
    product: str | None


class Background:
    """Document frequencies of the traffic seen (for characteristic terms); O(terms) per post."""

    def __init__(self) -> None:
        self.df: Counter[str] = Counter()
        self.n = 0

    def add(self, text: str) -> None:
        self.df.update(set(terms_of(text)))
        self.n += 1


def terms_of(text: str) -> list[str]:
    return [t for t in tokenize(text) if len(t) > 2 and t not in STOPWORDS and not t.isdigit()]


def characteristic_terms(texts: Sequence[str], background: Background, k: int = MAX_TERMS) -> list[str]:
    df_in: Counter[str] = Counter()
    for t in texts:
        df_in.update(set(terms_of(t)))
    min_df = 2 if len(texts) >= 3 else 1
    n_bg = max(background.n, 1)
    score = {t: (c / len(texts)) * math.log((n_bg + 1) / (background.df.get(t, 0) + 1) + 1)
             for t, c in df_in.items() if c >= min_df}
    return [t for t, _ in sorted(score.items(), key=lambda kv: (-kv[1], kv[0]))[:k]]


def summarize(post_ids: Sequence[str], texts: Sequence[str], embeddings: np.ndarray, topics: Sequence[str | None],
              products: Sequence[str | None], authors: int, background: Background) -> Summary:
    """`embeddings` are the members' normalised embeddings (rows aligned with post_ids)."""
    topic = _dominant(topics)
    product = _dominant(products)
    terms = characteristic_terms(texts, background)
    rep = None
    if len(embeddings):
        centre = embeddings.mean(axis=0)
        rep = int(np.argmax(embeddings @ centre))
    about = " / ".join(x for x in (topic, product) if x and x != "none") or "onbekend onderwerp"
    text = f"{len(post_ids)} berichten van {authors} klanten over {about}"
    if terms:
        text += f"; kenmerkend: {', '.join(terms)}"
    if rep is not None:
        example = " ".join(texts[rep].split())
        if len(example) > REPRESENTATIVE_CHARS:
            example = example[:REPRESENTATIVE_CHARS - 1].rstrip() + "…"
        text += f". Voorbeeld: “{example}”"
    return Summary(text, terms, post_ids[rep] if rep is not None else None, topic, product)


def _dominant(values: Sequence[str | None]) -> str | None:
    counts = Counter(v for v in values if v)
    return counts.most_common(1)[0][0] if counts else None
