"""Data report: counts per label and split, lengths, duplicates, diversity."""

from __future__ import annotations

import statistics
from collections import Counter
from pathlib import Path
from typing import Any

from models.data_io import post_text
from models.schema import LabelConfig
from training.splits import SPLITS, SplitResult, normalise


def length_stats(rows: list[dict[str, Any]]) -> dict[str, float]:
    words = [len(post_text(r).split()) for r in rows] or [0]
    # inclusive: the default 'exclusive' method extrapolates past the max on small sets
    q = statistics.quantiles(words, n=20, method="inclusive") if len(words) > 1 else [words[0]] * 19
    return {"min": min(words), "median": statistics.median(words), "p95": q[18], "max": max(words),
            "mean": round(statistics.fmean(words), 1)}


def diversity(rows: list[dict[str, Any]], top: int = 5) -> dict[str, Any]:
    grams: list[tuple[str, ...]] = []
    openings: Counter[str] = Counter()
    for r in rows:
        toks = normalise(r.get("body", "")).split()
        grams += [tuple(toks[i:i + 3]) for i in range(len(toks) - 2)]
        if len(toks) >= 5:
            openings[" ".join(toks[:5])] += 1
    shared = sum(c for c in openings.values() if c > 1)
    return {
        "distinct_word_3gram_ratio": round(len(set(grams)) / max(len(grams), 1), 4),
        "share_first5_shared": round(shared / max(len(rows), 1), 4),
        "top_repeated_openings": [(o, c) for o, c in openings.most_common(top) if c > 1],
    }


def build_report(posts: SplitResult, labels: LabelConfig, kb: list[dict],
                 queries: SplitResult) -> dict[str, Any]:
    all_posts = [r for s in SPLITS for r in posts.splits[s]]
    per_label = {h: {v: {s: sum(1 for r in posts.splits[s] if r[h] == v) for s in SPLITS}
                     for v in vals} for h, vals in labels.heads.items()}
    all_q = [r for s in SPLITS for r in queries.splits[s]]
    return {
        "posts": {s: len(posts.splits[s]) for s in SPLITS},
        "labels": per_label,
        "length_words": length_stats(all_posts),
        "duplicates": {"posts_exact_dropped": len(posts.exact_duplicates),
                       "posts_near_moved_to_train": len(posts.near_duplicates),
                       "queries_exact_dropped": len(queries.exact_duplicates),
                       "queries_near_moved_to_train": len(queries.near_duplicates)},
        "diversity": diversity(all_posts),
        "kb_answers": len(kb),
        "queries": {s: len(queries.splits[s]) for s in SPLITS},
        "queries_without_answer": {s: sum(1 for q in queries.splits[s] if not q["relevant"]) for s in SPLITS},
        "queries_total": len(all_q),
    }


def render_markdown(rep: dict[str, Any]) -> str:
    lines = ["| split | posts | queries | queries without answer |", "| --- | --- | --- | --- |"]
    for s in SPLITS:
        lines.append(f"| {s} | {rep['posts'][s]} | {rep['queries'][s]} "
                     f"| {rep['queries_without_answer'][s]} |")
    lines += ["", f"Knowledge-base answers: {rep['kb_answers']}", ""]
    for head, vals in rep["labels"].items():
        lines += [f"**{head}**", "", "| value | train | dev | test | total |",
                  "| --- | --- | --- | --- | --- |"]
        for v, c in vals.items():
            lines.append(f"| {v} | {c['train']} | {c['dev']} | {c['test']} | {sum(c.values())} |")
        lines.append("")
    L = rep["length_words"]
    lines.append(f"Length in words (title + body): min {L['min']}, median {L['median']}, mean {L['mean']}, "
                 f"p95 {L['p95']:.0f}, max {L['max']}")
    d = rep["duplicates"]
    lines.append(f"Duplicates: {d['posts_exact_dropped']} exact post duplicates dropped, "
                 f"{d['posts_near_moved_to_train']} near-duplicate posts moved to train; "
                 f"{d['queries_exact_dropped']} exact / {d['queries_near_moved_to_train']} "
                 "near query duplicates.")
    v = rep["diversity"]
    lines.append(f"Diversity: distinct word-3-gram ratio {v['distinct_word_3gram_ratio']}, "
                 f"share of posts whose first five words open another post {v['share_first5_shared']}")
    if v["top_repeated_openings"]:
        lines.append("Top repeated openings: "
                     + "; ".join(f"\"{o}\" ×{c}" for o, c in v["top_repeated_openings"]))
    return "\n".join(lines) + "\n"


def default_paths(data_dir: Path) -> dict[str, Path]:
    return {"posts": data_dir / "posts.jsonl", "kb": data_dir / "kb.jsonl",
            "queries": data_dir / "queries.jsonl"}
