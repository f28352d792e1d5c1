"""Apply a reviewed label audit to a posts file.

The review (`training/data/audit/relabel_review.jsonl`) has one line per flagged label:
`{"id", "head", "given", "decision": "keep"|"change", "label", "why"}`. Only `change` lines
are applied, and only while the post still carries the `given` label, so applying a review
twice changes nothing and a review made against other data fails loudly instead of silently
overwriting a later correction.

`python -m training apply-relabels --data training/data [--review FILE]` rewrites
`posts.jsonl` in place (the same row order and fields) and prints what changed; run
`python -m training split training/data` afterwards to refresh the split files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from models.data_io import read_rows, write_jsonl
from models.schema import LabelConfig


class RelabelError(ValueError):
    pass


def _jsonl(path: Path) -> list[dict[str, Any]]:
    """The rows of a JSONL file, through the project's reader (every unreadable line reported)."""
    rows, problems = read_rows(path)
    if problems:
        raise RelabelError(f"{path}: " + "; ".join(str(p) for p in problems[:10]))
    return [row for _, row in rows]


def read_review(path: Path) -> list[dict[str, Any]]:
    rows = _jsonl(path)
    bad = [i for i, r in enumerate(rows, 1) if r.get("decision") not in ("keep", "change")
           or not all(k in r for k in ("id", "head", "given", "label"))]
    if bad:
        raise RelabelError(f"{path}: lines {bad[:10]} lack id/head/given/label or a keep|change decision")
    return rows


def apply_review(posts: list[dict[str, Any]], review: list[dict[str, Any]], labels: LabelConfig
                 ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(posts with the changes applied, the changes applied). Lines already applied are skipped."""
    by_id = {p["id"]: dict(p) for p in posts}
    applied, problems = [], []
    for r in review:
        if r["decision"] != "change":
            continue
        post, head, new = by_id.get(r["id"]), r["head"], r["label"]
        if head not in labels.heads or new not in labels.heads[head]:
            problems.append(f"{r['id']}: {head}={new!r} is not a label of the scheme")
        elif post is None:
            problems.append(f"{r['id']}: no such post")
        elif post[head] == new:
            continue  # already applied
        elif post[head] != r["given"]:
            problems.append(f"{r['id']}: {head} is {post[head]!r}, the review expected {r['given']!r}")
        else:
            post[head] = new
            applied.append({"id": r["id"], "head": head, "from": r["given"], "to": new})
    if problems:
        raise RelabelError("review does not fit the posts: " + "; ".join(problems))
    return [by_id[p["id"]] for p in posts], applied


def apply_relabels(data: Path, review_path: Path) -> list[dict[str, Any]]:
    from training.corpus import labels_for

    path = data / "posts.jsonl"
    posts = _jsonl(path)
    updated, applied = apply_review(posts, read_review(review_path), labels_for(data))
    if applied:
        write_jsonl(path, updated)
    return applied
