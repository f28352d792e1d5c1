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
never on the evaluation queries (eval/data/thread-queries.jsonl, `python -m eval experts`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

# Chosen with `python -m eval experts-tune` on the 25 tuning queries (var/quick-model, a 1-epoch model with
# the served frozen retrieval tower): 705 of 10,800 grid settings reach hit@1 = hit@3 = 1 and an empty list
# for every query no expert fits; these are the centre of that region (per parameter the grid value nearest
# the median over the tied settings). Label share alone never makes an expert fit (MIN_LABEL_SHARE above
# the largest possible share of 2): on the tuning queries it only added experts to posts nobody should get.
W_SIMILARITY = 1.0
W_PRODUCT = 0.02
W_TOPIC = 0.01
W_RECENT = 0.01
W_VOLUME = 0.01
SIMILARITY_TOP_K = 2
MIN_SIMILARITY = 0.86
MIN_LABEL_SHARE = 9.0
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
class Pool:
    """The available experts under their limit for one post, as arrays (one row per expert).
    `cosines[i, j]` is the post's cosine to expert i's j-th solution, -inf past their last one."""
    ids: list[str]
    names: list[str]
    roles: list[str]
    solved: np.ndarray
    by_topic: list[dict[str, int]]
    by_product: list[dict[str, int]]
    specialities: list[list[str]]
    last_active: np.ndarray  # POSIX seconds, nan when unknown
    cosines: np.ndarray
    titles: list[list[str]]
    open_questions: list[int]
    max_open: list[int | None]


@dataclass
class Match:
    id: str
    name: str
    score: float
    reasons: list[str] = field(default_factory=list)


def _shares(counts: list[dict[str, int]], solved: np.ndarray, label: str | None,
            specialities: list[list[str]]) -> np.ndarray:
    if not label or label in GENERIC_LABELS:
        return np.zeros(len(counts))
    share = np.array([c.get(label, 0) for c in counts], dtype=np.float64) / np.maximum(solved, 1)
    claimed = np.array([label in s for s in specialities], dtype=bool)
    return np.where(claimed, np.maximum(share, SPECIALITY_SHARE), share)


def features(pool: Pool, topic: str | None, product: str | None, now: datetime, top_k: int) -> dict[str, np.ndarray]:
    n = len(pool.ids)
    cos = pool.cosines
    if cos.shape[1]:
        top = -np.sort(-cos, axis=1)[:, :top_k]
        finite = np.isfinite(top)
        similarity = np.where(finite, top, 0.0).sum(axis=1) / np.maximum(finite.sum(axis=1), 1)
        best = np.where(finite[:, 0], top[:, 0], 0.0)
    else:
        similarity = best = np.zeros(n)
    days = np.maximum((now.timestamp() - pool.last_active) / 86400, 0.0)
    return {"similarity": similarity, "best": best,
            "product": _shares(pool.by_product, pool.solved, product, pool.specialities),
            "topic": _shares(pool.by_topic, pool.solved, topic, pool.specialities),
            "recent": np.where(np.isnan(days), 0.0, np.exp(-np.nan_to_num(days, nan=0.0) / RECENCY_DAYS)),
            "volume": np.minimum(np.log1p(pool.solved) / math.log1p(VOLUME_CAP), 1.0),
            "days": days}


def rank(pool: Pool, topic: str | None, product: str | None, now: datetime, k: int = 3,
         weights: Weights | None = None) -> list[Match]:
    """The k best fitting experts of the pool, best first, with their reasons."""
    w = weights or Weights()
    if not pool.ids:
        return []
    f = features(pool, topic, product, now, w.top_k)
    fits = (f["best"] >= w.min_similarity) | (f["product"] + f["topic"] >= w.min_label_share)
    score = (w.similarity * f["similarity"] + w.product * f["product"] + w.topic * f["topic"]
             + w.recent * f["recent"] + w.volume * f["volume"])
    order = sorted(np.flatnonzero(fits), key=lambda i: (-score[i], pool.ids[i]))[:k]
    return [Match(pool.ids[i], pool.names[i], round(float(score[i]), 4), reasons(pool, int(i), f, topic, product, w))
            for i in order]


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


def reasons(pool: Pool, i: int, f: dict[str, np.ndarray], topic: str | None, product: str | None,
            w: Weights) -> list[str]:
    out = []
    n_product = pool.by_product[i].get(product or "", 0) if product not in GENERIC_LABELS else 0
    n_topic = pool.by_topic[i].get(topic or "", 0) if topic not in GENERIC_LABELS else 0
    if n_product:
        out.append(_count(n_product, PRODUCT_NL.get(product or "", product or "")))
    elif n_topic:
        out.append(_count(n_topic, TOPIC_NL.get(topic or "", topic or "")))
    else:
        out.append(_count(int(pool.solved[i]), ""))
    if f["best"][i] >= w.min_similarity and pool.titles[i]:
        out.append(f"loste een vergelijkbare vraag op: ‘{pool.titles[i][int(np.argmax(pool.cosines[i]))]}’")
    claimed = [s for s in (product, topic) if s and s in pool.specialities[i]]
    if claimed:
        out.append("specialiteit: " + ", ".join(PRODUCT_NL.get(s) or TOPIC_NL.get(s) or s for s in claimed))
    if pool.roles[i] == "member":
        out.append("communitylid wiens antwoorden vaak geaccepteerd worden")
    out.append(_ago(float(f["days"][i])))
    limit = pool.max_open[i]
    out.append(f"beschikbaar, {pool.open_questions[i]} van {limit} open vragen" if limit is not None
               else "beschikbaar")
    return out
