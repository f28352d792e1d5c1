"""Scoring of klantexperts for one post: how close the post is to what each expert solved, whether
they solved the post's product and topic before, how recently they were active and how much they
solved, with readable Dutch reasons. Availability and the open-question limit are filters, applied
by the caller (service/experts.py) before scoring.

score = W_SIMILARITY x similarity + W_PRODUCT x product share + W_TOPIC x topic share
        + W_RECENT x recency + W_VOLUME x volume

- similarity: mean of the SIMILARITY_TOP_K best cosines between the post's retrieval embedding
  and the embeddings of the expert's accepted solutions (the knowledge-base passages);
- product / topic share: the share of the expert's solutions with the post's predicted product /
  topic (a speciality set by hand counts as SPECIALITY_SHARE); generic labels (`none`, `other`)
  count for nothing;
- recency: exp(-days since last active / RECENCY_DAYS); volume: log(1 + solved) / log(1 + VOLUME_CAP).

An expert fits when their best cosine reaches MIN_SIMILARITY or their product + topic share reaches
MIN_LABEL_SHARE; with no fitting expert the list is empty. The constants were chosen by a grid
search on the tuning queries (eval/data/thread-queries-tune.jsonl, `python -m eval experts-tune`),
never on the evaluation queries; see eval/README.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

W_SIMILARITY = 1.0
W_PRODUCT = 0.02
W_TOPIC = 0.02
W_RECENT = 0.01
W_VOLUME = 0.01
SIMILARITY_TOP_K = 1
MIN_SIMILARITY = 0.86
MIN_LABEL_SHARE = 0.5
SPECIALITY_SHARE = 0.5
RECENCY_DAYS = 30.0
VOLUME_CAP = 50
GENERIC_LABELS = {"none", "other"}

TOPIC_NL = {"billing": "rekeningen en betalingen", "contract": "abonnementen en contracten",
            "network": "het mobiele netwerk", "home_internet": "internet en tv thuis", "device": "toestellen",
            "roaming": "bellen en internetten in het buitenland", "sim": "sim en eSIM",
            "account": "Mijn account en de app", "security": "veiligheid en fraude", "other": "overige vragen"}
PRODUCT_NL = {"apple": "Apple-toestellen", "samsung": "Samsung-toestellen",
              "other_device": "andere toestellen (Pixel, Xiaomi, Oppo en meer)",
              "modem_tv": "modems en tv-ontvangers", "sim_only": "sim-only", "prepaid": "prepaid"}


@dataclass(frozen=True)
class Weights:
    similarity: float = W_SIMILARITY
    product: float = W_PRODUCT
    topic: float = W_TOPIC
    recent: float = W_RECENT
    volume: float = W_VOLUME
    top_k: int = SIMILARITY_TOP_K
    min_similarity: float = MIN_SIMILARITY
    min_label_share: float = MIN_LABEL_SHARE


@dataclass
class Candidate:
    """An available expert under their limit, with the cosines of the post to each of their solutions."""
    id: str
    name: str
    solved: int
    by_topic: dict[str, int]
    by_product: dict[str, int]
    specialities: list[str]
    last_active: datetime | None
    cosines: np.ndarray
    titles: list[str]
    open_questions: int = 0
    max_open: int | None = None
    role: str = "klantexpert"


@dataclass
class Match:
    id: str
    name: str
    score: float
    reasons: list[str] = field(default_factory=list)


def _share(counts: dict[str, int], solved: int, label: str | None, specialities: list[str]) -> float:
    if not label or label in GENERIC_LABELS:
        return 0.0
    share = counts.get(label, 0) / solved if solved else 0.0
    return max(share, SPECIALITY_SHARE) if label in specialities else share


def features(c: Candidate, topic: str | None, product: str | None, now: datetime, top_k: int) -> dict[str, float]:
    best = np.sort(c.cosines)[::-1] if len(c.cosines) else np.zeros(0)
    days = max((now - c.last_active).total_seconds() / 86400, 0.0) if c.last_active else math.inf
    return {"similarity": float(best[:top_k].mean()) if len(best) else 0.0,
            "best": float(best[0]) if len(best) else 0.0,
            "product": _share(c.by_product, c.solved, product, c.specialities),
            "topic": _share(c.by_topic, c.solved, topic, c.specialities),
            "recent": math.exp(-days / RECENCY_DAYS) if math.isfinite(days) else 0.0,
            "volume": min(math.log1p(c.solved) / math.log1p(VOLUME_CAP), 1.0),
            "days": days}


def rank(candidates: list[Candidate], topic: str | None, product: str | None, now: datetime, k: int = 3,
         weights: Weights | None = None) -> list[Match]:
    """The k best fitting candidates, best first, with their reasons."""
    w = weights or Weights()
    scored = []
    for c in candidates:
        f = features(c, topic, product, now, w.top_k)
        if f["best"] < w.min_similarity and f["product"] + f["topic"] < w.min_label_share:
            continue
        s = (w.similarity * f["similarity"] + w.product * f["product"] + w.topic * f["topic"]
             + w.recent * f["recent"] + w.volume * f["volume"])
        scored.append((s, c, f))
    scored.sort(key=lambda x: (-x[0], x[1].id))
    return [Match(c.id, c.name, round(s, 4), reasons(c, f, topic, product, w)) for s, c, f in scored[:k]]


def _count(n: int, what: str) -> str:
    return f"{n} opgeloste {'vraag' if n == 1 else 'vragen'}" + (f" over {what}" if what else "")


def _ago(days: float) -> str:
    if not math.isfinite(days):
        return "nog niet actief gezien"
    d = int(days)
    if d == 0:
        return "laatst actief vandaag"
    if d == 1:
        return "laatst actief gisteren"
    if d < 14:
        return f"laatst actief {d} dagen geleden"
    if d < 61:
        return f"laatst actief {d // 7} weken geleden"
    return f"laatst actief {d // 30} maanden geleden"


def reasons(c: Candidate, f: dict[str, float], topic: str | None, product: str | None, w: Weights) -> list[str]:
    out = []
    n_product = c.by_product.get(product or "", 0) if product not in GENERIC_LABELS else 0
    n_topic = c.by_topic.get(topic or "", 0) if topic not in GENERIC_LABELS else 0
    if n_product:
        out.append(_count(n_product, PRODUCT_NL.get(product or "", product or "")))
    elif n_topic:
        out.append(_count(n_topic, TOPIC_NL.get(topic or "", topic or "")))
    else:
        out.append(_count(c.solved, ""))
    if f["best"] >= w.min_similarity and c.titles:
        out.append(f"loste een vergelijkbare vraag op: ‘{c.titles[int(np.argmax(c.cosines))]}’")
    claimed = [s for s in (product, topic) if s and s in c.specialities]
    if claimed:
        out.append("specialiteit: " + ", ".join(PRODUCT_NL.get(s) or TOPIC_NL.get(s) or s for s in claimed))
    if c.role == "member":
        out.append("communitylid wiens antwoorden vaak geaccepteerd worden")
    out.append(_ago(f["days"]))
    out.append(f"beschikbaar, {c.open_questions} van {c.max_open} open vragen" if c.max_open is not None
               else "beschikbaar")
    return out
