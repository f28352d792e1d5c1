"""Incident detection on a labelled stream: replay in `created_at` order, score per burst.

A stream is JSONL, one post per line: post_id, created_at (ISO 8601), author_id, title, body
and burst (a burst id, or null for ordinary traffic). The replay runs the service's own
detector (service.incident_detector) on the model's retrieval embeddings.

An incident belongs to the burst most of its members come from (ordinary posts count as
their own group); an incident that belongs to ordinary traffic is a false incident.
Per burst: detected, the number of the burst's posts seen when its first incident opened
("posts until detection"), and the share of its posts assigned to its incident(s).
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from eval.inputs import EvalInputError
from models.textprep import clean_text
from service.incident_detector import IncidentDetector, IncidentParams
from service.triage_log import parse_time

FIELDS = ("post_id", "created_at", "author_id", "title", "body", "burst")
DETECT_WITHIN = 5  # target: every burst detected within its first 5 posts
GRID: dict[str, list[float]] = {"similarity": [0.84, 0.86, 0.87, 0.88, 0.89, 0.90, 0.91, 0.92],
        "join_similarity": [0.82, 0.84, 0.86, 0.88, 0.90],
        "min_authors": [2, 3, 4],
        "window_s": [1800.0, 3600.0, 7200.0],
        "quiet_s": [3600.0, 7200.0]}


def load_stream(path: str | Path) -> list[dict[str, Any]]:
    rows, problems = [], []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{path}:{n}: invalid JSON: {exc.msg}")
            continue
        missing = [f for f in FIELDS if f not in row]
        if missing or not str(row.get("body") or "").strip():
            problems.append(f"{path}:{n}: missing or empty field(s) {', '.join(missing) or 'body'}")
            continue
        try:
            row["ts"] = parse_time(row["created_at"])
        except (TypeError, ValueError):
            problems.append(f"{path}:{n}: created_at {row['created_at']!r} is not ISO 8601")
            continue
        rows.append(row)
    if problems:
        raise EvalInputError("\n".join(problems))
    ids = Counter(r["post_id"] for r in rows)
    dup = [i for i, c in ids.items() if c > 1]
    if dup:
        raise EvalInputError(f"{path}: duplicate post_id(s) {', '.join(dup[:5])}")
    return sorted(rows, key=lambda r: (r["ts"], r["post_id"]))


def post_text(row: dict[str, Any]) -> str:
    """As the service builds it (service.triage.Engine.text_of)."""
    title, body = clean_text(row.get("title") or ""), clean_text(row["body"])
    return f"{title}\n{body}" if title else body


def embed_stream(model: Any, rows: list[dict[str, Any]]) -> np.ndarray:
    return model.predict([post_text(r) for r in rows])[1].astype(np.float32)


def replay(rows: list[dict[str, Any]], emb: np.ndarray, params: IncidentParams) -> dict[str, Any]:
    """Final incident per post and, per incident, the time it opened."""
    counter = itertools.count(1)
    det = IncidentDetector(emb.shape[1], params, lambda: f"inc-{next(counter)}")
    opened: dict[str, float] = {}
    incident: dict[str, str | None] = {}
    for r, e in zip(rows, emb, strict=True):
        a = det.add(r["post_id"], r["ts"], r["author_id"] or None, e)
        if a.opened and a.incident_id:
            opened[a.incident_id] = r["ts"]
        for pid in a.added:
            incident[pid] = a.incident_id
    return {"incident": incident, "opened": opened}


def score(rows: list[dict[str, Any]], result: dict[str, Any]) -> dict[str, Any]:
    incident_of: dict[str, str | None] = result["incident"]
    members: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        inc = incident_of.get(r["post_id"])
        if inc:
            members.setdefault(inc, []).append(r)
    owner = {inc: Counter(m["burst"] for m in ms).most_common(1)[0][0] for inc, ms in members.items()}
    bursts: dict[str, Any] = {}
    for b in sorted({r["burst"] for r in rows if r["burst"]}):
        posts = [r for r in rows if r["burst"] == b]
        incs = sorted(i for i, o in owner.items() if o == b)
        first_open = min((result["opened"][i] for i in incs), default=None)
        until = sum(1 for p in posts if p["ts"] <= first_open) if first_open is not None else None
        assigned = sum(1 for p in posts if incident_of.get(p["post_id"]) in incs)
        bursts[b] = {"posts": len(posts), "detected": bool(incs), "posts_until_detection": until,
                     "within_target": until is not None and until <= DETECT_WITHIN,
                     "assigned": assigned, "assigned_share": round(assigned / len(posts), 4),
                     "incidents": len(incs)}
    ordinary = [r for r in rows if not r["burst"]]
    days = (max(r["ts"] for r in ordinary) - min(r["ts"] for r in ordinary)) / 86400 if len(ordinary) > 1 else 0.0
    false = sorted(i for i, o in owner.items() if o is None)
    burst_posts = sum(v["posts"] for v in bursts.values())
    return {
        "bursts": bursts,
        "burst_recall": round(sum(v["detected"] for v in bursts.values()) / max(len(bursts), 1), 4),
        "detected_within_5": round(sum(v["within_target"] for v in bursts.values()) / max(len(bursts), 1), 4),
        "post_recall": round(sum(v["assigned"] for v in bursts.values()) / max(burst_posts, 1), 4),
        "false_incidents": len(false),
        "false_incidents_per_day": round(len(false) / days, 4) if days else 0.0,
        "ordinary_posts": len(ordinary), "ordinary_days": round(days, 2),
        "ordinary_posts_in_incidents": sum(1 for r in ordinary if incident_of.get(r["post_id"])),
    }


def evaluate(rows: list[dict[str, Any]], emb: np.ndarray, params: IncidentParams) -> dict[str, Any]:
    out = score(rows, replay(rows, emb, params))
    out["params"] = params_dict(params)
    return out


def params_dict(p: IncidentParams) -> dict[str, float]:
    return {"similarity": p.similarity, "join_similarity": p.join_similarity, "min_authors": p.min_authors,
            "window_minutes": p.window_s / 60, "quiet_minutes": p.quiet_s / 60}


def _key(r: dict[str, Any]) -> tuple:
    """Best first: meets the false-incident target, bursts detected in time, posts assigned, fewer false
    incidents; among equals the stricter (higher similarities, more authors, shorter window)."""
    p = r["params"]
    return (r["false_incidents_per_day"] <= 0.2, r["detected_within_5"], r["burst_recall"], r["post_recall"],
            -r["false_incidents_per_day"], -r["ordinary_posts_in_incidents"], p["similarity"],
            p["join_similarity"], p["min_authors"], -p["window_minutes"], -p["quiet_minutes"])


def tune(rows: list[dict[str, Any]], emb: np.ndarray, grid: dict[str, list[float]] | None = None
         ) -> list[dict[str, Any]]:
    g = grid if grid is not None else GRID
    results = []
    for values in itertools.product(*g.values()):
        kw: dict[str, Any] = dict(zip(g, values, strict=True))
        if kw["join_similarity"] > kw["similarity"]:
            continue
        results.append(evaluate(rows, emb, IncidentParams(**kw)))
    return sorted(results, key=_key, reverse=True)


def render(result: dict[str, Any]) -> str:
    lines = ["| burst | posts | detected | posts until detection | assigned | incidents |",
             "| --- | --- | --- | --- | --- | --- |"]
    for b, v in result["bursts"].items():
        lines.append(f"| {b} | {v['posts']} | {'yes' if v['detected'] else 'no'} | "
                     f"{v['posts_until_detection'] if v['posts_until_detection'] is not None else '-'} | "
                     f"{v['assigned']}/{v['posts']} ({v['assigned_share']:.0%}) | {v['incidents']} |")
    lines.append("")
    lines.append(f"burst recall {result['burst_recall']:.3f} (within 5 posts: {result['detected_within_5']:.3f}), "
                 f"post recall {result['post_recall']:.3f}, false incidents {result['false_incidents']} over "
                 f"{result['ordinary_days']} days of ordinary traffic ({result['ordinary_posts']} posts) = "
                 f"{result['false_incidents_per_day']:.3f}/day; ordinary posts in incidents "
                 f"{result['ordinary_posts_in_incidents']}")
    return "\n".join(lines)


def render_tuning(results: list[dict[str, Any]], top: int = 10) -> str:
    lines = ["| similarity | join | min authors | window min | quiet min | burst recall | within 5 | post recall "
             "| false/day |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in results[:top]:
        p = r["params"]
        lines.append(f"| {p['similarity']:.2f} | {p['join_similarity']:.2f} | {p['min_authors']} | "
                     f"{p['window_minutes']:.0f} | {p['quiet_minutes']:.0f} | {r['burst_recall']:.3f} | "
                     f"{r['detected_within_5']:.3f} | {r['post_recall']:.3f} | {r['false_incidents_per_day']:.3f} |")
    return "\n".join(lines)
