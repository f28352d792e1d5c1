"""Fixed train/dev/test split by a stable hash of `id`, with deduplication.

- split: sha256(id) mod 100: < 80 train, < 90 dev, else test (posts and queries alike);
- exact duplicates (same normalised title+body) are dropped, keeping the first;
- near-duplicates (MinHash on character 5-grams, estimated Jaccard >= NEAR_DUP_THRESHOLD)
  that fall in different splits are moved to train, so no dev/test text has a
  near-twin in training.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from datasketch import MinHash, MinHashLSH

from models.data_io import post_text

SPLITS = ("train", "dev", "test")
NEAR_DUP_THRESHOLD = 0.7
NUM_PERM = 64
_WS = re.compile(r"\s+")


def split_of(row_id: str) -> str:
    bucket = int(hashlib.sha256(row_id.encode("utf-8")).hexdigest(), 16) % 100
    return "train" if bucket < 80 else "dev" if bucket < 90 else "test"


def normalise(text: str) -> str:
    return _WS.sub(" ", text.lower()).strip()


def minhash(text: str) -> MinHash:
    m = MinHash(num_perm=NUM_PERM, seed=13)
    t = normalise(text)
    for i in range(max(len(t) - 4, 1)):
        m.update(t[i:i + 5].encode("utf-8"))
    return m


@dataclass
class SplitResult:
    splits: dict[str, list[dict[str, Any]]]
    exact_duplicates: list[tuple[str, str]] = field(default_factory=list)  # (dropped, kept)
    near_duplicates: list[tuple[str, str]] = field(default_factory=list)  # (moved to train, its twin)


def split_rows(rows: list[dict[str, Any]], text=post_text) -> SplitResult:  # noqa: ANN001
    kept, exact = _drop_exact(rows, text)
    assign = {r["id"]: split_of(r["id"]) for r in kept}
    near = _near_duplicates(kept, text)
    moved: list[tuple[str, str]] = []
    changed = True
    while changed:  # a move can split an earlier same-split pair (a~b in dev, b~c in train): repeat
        changed = False
        for a, b in near:
            if assign[a] != assign[b]:
                for x, y in ((a, b), (b, a)):
                    if assign[x] != "train":
                        assign[x] = "train"
                        moved.append((x, y))
                        changed = True
    splits = {s: [r for r in kept if assign[r["id"]] == s] for s in SPLITS}
    return SplitResult(splits, exact, moved)


def _drop_exact(rows: list[dict[str, Any]], text) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:  # noqa: ANN001
    seen: dict[str, str] = {}
    kept, dropped = [], []
    for r in rows:
        key = normalise(text(r))
        if key in seen:
            dropped.append((r["id"], seen[key]))
        else:
            seen[key] = r["id"]
            kept.append(r)
    return kept, dropped


def _near_duplicates(rows: list[dict[str, Any]], text) -> list[tuple[str, str]]:  # noqa: ANN001
    lsh = MinHashLSH(threshold=NEAR_DUP_THRESHOLD, num_perm=NUM_PERM)
    hashes: dict[str, MinHash] = {}
    pairs = []
    for r in rows:
        m = minhash(text(r))
        for other in lsh.query(m):
            if m.jaccard(hashes[other]) >= NEAR_DUP_THRESHOLD:
                pairs.append((r["id"], other))
        lsh.insert(r["id"], m)
        hashes[r["id"]] = m
    return pairs
