"""Server render time of the console's pages with 10,000 posts in the triage log:
`python -m bench.console [--model models/default | --tiny] [--posts 10000] [--repeat 30]`.

Builds the app on a temporary store (auth off), writes `--posts` triaged posts straight into the
triage log (labels drawn from the model's label sets, the recorded response of one real triage,
random embeddings, times over the last 24 hours; 5 open incidents of 200 posts each), then times
each page in-process through Starlette's TestClient (the handler, the SQL, the template; no
network). `--tiny` trains the test suite's tiny model first (about a minute): page times do not
depend on the model, except the knowledge-base search, which runs the encoder once.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

from service import triage_log
from service.triage_log import LoggedPost

INCIDENTS, INCIDENT_POSTS = 5, 200


def tiny_model(out: Path) -> Path:
    from tests.conftest import MINI
    from tests.tiny import build_tiny_base
    from training.config import TrainConfig
    from training.train import train_model

    base = build_tiny_base(out / "base")
    cfg = TrainConfig(base=str(base), keep_layers=0, epochs=12, batch_size=8, lr=2e-3, head_lr=5e-3, patience=12,
                      max_length=64, warmup_ratio=0.0, dropout=0.0, freeze_embeddings=True, freeze_layers=1,
                      retrieval="tower")
    train_model(MINI, out / "model", cfg)
    return out / "model"


def fill(engine: object, n: int, rng: np.random.Generator) -> list[str]:
    """Write n posts (and the incidents) into the log; returns the incident ids."""
    store, model = engine.store, engine.model  # type: ignore[attr-defined]
    from service.schemas import PostIn

    template = engine.triage([PostIn(title="Storing", body="Geen internet sinds vanochtend, modem knippert rood")])[0]  # type: ignore[attr-defined]
    result = template.model_dump(mode="json", exclude={"incident"})
    sets = model.manifest.label_sets
    now = time.time()
    incident_ids = [f"inc-bench{i:07d}" for i in range(INCIDENTS)]
    with store.transaction() as c:
        for i in range(n):
            labels = {h: {"label": str(rng.choice(v)), "confidence": round(float(rng.uniform(0.3, 1)), 4),
                          "uncertain": bool(rng.random() < 0.1)} for h, v in sets.items()}
            emb = rng.normal(size=model.dim).astype(np.float32)
            incident = incident_ids[i % INCIDENTS] if i >= n - INCIDENTS * INCIDENT_POSTS else None
            created = now - 86400 * (1 - i / n)
            post = LoggedPost(f"p-{uuid.uuid4().hex[:16]}", created, None, f"a{i % 3000}", f"Titel van bericht {i}",
                              "Mijn internet valt steeds weg en ik heb al drie keer gebeld. " * 3, labels,
                              str(rng.choice(sets.get("route", ["peers", "webcare"]))), ["route_model"],
                              emb / np.linalg.norm(emb), incident, result)
            triage_log.write(c, post, stored_ts=created)
        for j, inc in enumerate(incident_ids):  # the incidents table, as the incident service writes it
            c.execute("INSERT INTO incidents (id, status, opened_ts, last_seen_ts, post_count, author_count, summary, "
                      "terms, topic, product, updated_ts) VALUES (?, 'open', ?, ?, ?, ?, ?, '[]', 'network', "
                      "'modem_tv', ?)", (inc, now - 6 * 3600, now - 60 * j, INCIDENT_POSTS, INCIDENT_POSTS // 2,
                                         f"{INCIDENT_POSTS} berichten over een storing", now))
    return incident_ids


def time_page(client: object, url: str, repeat: int) -> dict[str, float]:
    for _ in range(2):  # warm-up: template compilation, SQLite page cache
        r = client.get(url)  # type: ignore[attr-defined]
        assert r.status_code == 200, (url, r.status_code)
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        client.get(url)  # type: ignore[attr-defined]
        samples.append((time.perf_counter() - start) * 1000)
    ms = np.array(samples)
    return {"p50_ms": round(float(np.percentile(ms, 50)), 1), "p95_ms": round(float(np.percentile(ms, 95)), 1),
            "max_ms": round(float(ms.max()), 1), "n": repeat}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", type=Path, default=Path("models/default"))
    p.add_argument("--tiny", action="store_true", help="train and use the test suite's tiny model")
    p.add_argument("--posts", type=int, default=10_000)
    p.add_argument("--repeat", type=int, default=30)
    p.add_argument("--json", type=Path, help="also write the figures here")
    args = p.parse_args(argv)
    from fastapi.testclient import TestClient

    from service.app import create_app
    from service.settings import Settings

    work = Path(tempfile.mkdtemp(prefix="bench-console-"))
    model_dir = tiny_model(work) if args.tiny else args.model
    if not (model_dir / "manifest.json").is_file():
        print(f"no model in {model_dir}: train one (make train), pass --model DIR, or use --tiny")
        return 2
    kb = Path("training/data/kb.jsonl")
    settings = Settings(model_dir=model_dir, store_path=work / "store.sqlite3", auth_enabled=False,
                        seed_kb=kb if kb.is_file() else None, log_level="warning")
    with TestClient(create_app(settings)) as client:
        engine = client.app.state.engine  # type: ignore[attr-defined]
        start = time.perf_counter()
        incidents = fill(engine, args.posts, np.random.default_rng(0))
        print(f"wrote {args.posts} posts in {time.perf_counter() - start:.1f} s; model {model_dir}; "
              f"{engine.store.count_answers()} answers")
        newest = triage_log.recent(engine.store, triage_log.LogFilter(), limit=50)
        some_post = newest[7].post_id
        first_answer = engine.store.query("SELECT id FROM answers ORDER BY id LIMIT 1")
        pages = {
            "inbox": "/console/inbox",
            "inbox, page 2": f"/console/inbox?before={newest[-1].cursor}",
            "inbox, filter topic": f"/console/inbox?topic={engine.model.manifest.label_sets['topic'][0]}",
            "inbox, rare filter (critical + uncertain + incident)": "/console/inbox?urgency=critical&uncertain=1"
                                                                   "&incident=1",
            "inbox, live update (nothing new)": f"/console/inbox/updates?after={newest[0].cursor}",
            "post": f"/console/posts/{some_post}",
            "incidents": "/console/incidents",
            "incident (200 posts)": f"/console/incidents/{incidents[0]}",
            "knowledge base": "/console/kb",
            "knowledge base, search (runs the encoder)": "/console/kb?q=eSIM+overzetten+naar+nieuwe+telefoon",
            "model": "/console/model",
        }
        if first_answer:
            pages["answer"] = f"/console/kb/a/{first_answer[0][0]}"
        load = os.getloadavg()[0]
        results = {name: time_page(client, url, args.repeat) for name, url in pages.items()}
    width = max(map(len, results))
    print(f"server render time per page, in-process ({args.repeat} requests each; load average {load:.1f}, "
          f"{os.cpu_count()} cores)")
    print(f"{'page':<{width}}  {'p50 ms':>7}  {'p95 ms':>7}  {'max ms':>7}")
    for name, r in results.items():
        print(f"{name:<{width}}  {r['p50_ms']:>7}  {r['p95_ms']:>7}  {r['max_ms']:>7}")
    if args.json:
        args.json.write_text(json.dumps({"posts": args.posts, "load": load, "pages": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
