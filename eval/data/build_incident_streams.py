"""Lay out the hand-written incident streams in time: `python eval/data/build_incident_streams.py`.

The texts are in eval/data/incident-texts/ (`title || body` per line, `## name` starts a group in
the bursts files). This script only assigns times, authors and ids, reproducibly (fixed seeds):

* ordinary posts: uniform over the stream's days between 07:00 and 23:30 (+01:00), authors drawn
  from a pool where some members post more than once;
* bursts: one new author per post, starting at a fixed time with random gaps;
* `lone-*` groups: one author posting several times within half an hour (burst null: a lone
  customer's problem must never open an incident).

Writes incidents-tune.jsonl (tuning: thresholds are chosen on it) and incidents-eval.jsonl
(evaluation only: different bursts, wording and days).
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).parent
TZ = timezone(timedelta(hours=1))
STREAMS = {
    "tune": {"days": ["2026-11-02", "2026-11-03", "2026-11-04", "2026-11-05", "2026-11-06"], "seed": 13,
             "groups": {"fibre-hoogvliet": ("2026-11-03T07:38", 1, 6), "mobile-national": ("2026-11-04T18:04", 0.5, 3),
                        "phishing-sms": ("2026-11-05T09:55", 3, 10), "lone-modem": ("2026-11-02T08:12", 6, 12)}},
    "eval": {"days": ["2026-11-16", "2026-11-17", "2026-11-18", "2026-11-19", "2026-11-20"], "seed": 29,
             "groups": {"tv-outage": ("2026-11-16T20:03", 1, 4), "smishing-pakketje": ("2026-11-18T09:20", 3, 9),
                        "mobile-data-north": ("2026-11-19T07:32", 1, 5), "lone-tvbox": ("2026-11-17T19:40", 5, 10)}},
}


def read_posts(path: Path) -> dict[str | None, list[tuple[str, str]]]:
    groups: dict[str | None, list[tuple[str, str]]] = {}
    name = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            name = line[3:].strip()
        elif "||" in line:
            title, body = (x.strip() for x in line.split("||", 1))
            groups.setdefault(name, []).append((title, body))
    return groups


def build(name: str, spec: dict) -> list[dict]:
    rng = random.Random(spec["seed"])
    posts: list[dict] = []
    ordinary = read_posts(HERE / "incident-texts" / f"{name}-ordinary.txt")[None]
    pool = [f"u-{name}-{i:03d}" for i in range(160)]
    weights = [1 / (1 + i) ** 0.6 for i in range(len(pool))]
    for title, body in ordinary:
        day = datetime.fromisoformat(rng.choice(spec["days"])).replace(tzinfo=TZ)
        at = day + timedelta(minutes=rng.uniform(7 * 60, 23.5 * 60))
        posts.append({"at": at, "author_id": rng.choices(pool, weights)[0], "title": title, "body": body,
                      "burst": None})
    for group, items in read_posts(HERE / "incident-texts" / f"{name}-bursts.txt").items():
        start, lo, hi = spec["groups"][group]
        at = datetime.fromisoformat(start).replace(tzinfo=TZ)
        lone = group.startswith("lone-")
        for i, (title, body) in enumerate(items):
            author = f"u-{name}-{group}" if lone else f"u-{name}-{group}-{i:02d}"
            posts.append({"at": at, "author_id": author, "title": title, "body": body,
                          "burst": None if lone else group})
            at += timedelta(minutes=rng.uniform(lo, hi))
    posts.sort(key=lambda p: p["at"])
    return [{"post_id": f"{name}-{i:04d}", "created_at": p["at"].isoformat(timespec="seconds"),
             "author_id": p["author_id"], "title": p["title"], "body": p["body"], "burst": p["burst"]}
            for i, p in enumerate(posts, 1)]


def main() -> None:
    for name, spec in STREAMS.items():
        rows = build(name, spec)
        out = HERE / f"incidents-{name}.jsonl"
        out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        bursts = sorted({r["burst"] for r in rows if r["burst"]})
        print(f"{out}: {len(rows)} posts, bursts {', '.join(bursts)}, "
              f"{sum(1 for r in rows if not r['burst'])} ordinary")


if __name__ == "__main__":
    main()
