"""`python -m bench.backfill [--model models/default] [--posts 10000]`: backfill throughput (figures, not tests).

Triages the same N posts (the shipped corpus, repeated with fresh ids) three ways on this machine:
the API's `POST /v1/triage/batch` in process (batches of 256, the service's default threads), and
`service.backfill` on local Ray with 1 and with 2 workers (one onnxruntime thread each). Prints
posts/s for each (the backfill's wall time includes its workers loading the model; Ray's own start is
timed apart), and the peak resident memory of one triage worker. The knowledge base is the shipped
one, seeded into a throwaway SQLite store.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import tempfile
import time
from pathlib import Path

DATA = Path("training/data")


def make_posts(path: Path, n: int) -> list[dict]:
    src = [json.loads(line) for line in (DATA / "posts.jsonl").read_text(encoding="utf-8").splitlines()]
    posts = [{"id": f"bf-{i:07d}", "title": src[i % len(src)].get("title", ""), "body": src[i % len(src)]["body"]}
             for i in range(n)]
    path.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in posts), encoding="utf-8")
    return posts


def api_posts_per_s(model: str, store_url: str, posts: list[dict]) -> float:
    from fastapi.testclient import TestClient

    from service.app import create_app
    from service.settings import Settings

    settings = Settings(model_dir=model, store_url=store_url, auth_enabled=False, seed_kb=DATA / "kb.jsonl",
                        max_batch=256)
    with TestClient(create_app(settings)) as client:
        start = time.perf_counter()
        for i in range(0, len(posts), 256):
            r = client.post("/v1/triage/batch", json={"posts": posts[i:i + 256]})
            assert r.status_code == 200, r.text
        return len(posts) / (time.perf_counter() - start)


def worker_memory_mb(model: str, store_url: str, posts: list[dict]) -> tuple[float, float]:
    """Peak RSS of one triage worker actor: after loading, and after triaging 256 posts."""
    import numpy as np
    import ray

    from service.backfill.worker import TriageWorker
    from service.schemas import PostIn

    actor = ray.remote(num_cpus=1)(TriageWorker).remote(model, store_url, 1)
    loaded = ray.get(actor.peak_rss_mb.remote())
    batch = {"partition": np.zeros(256, np.int64), "source": np.array(["x"] * 256, object),
             "line": np.arange(256), "post_id": np.array([p["id"] for p in posts[:256]], object),
             "post": np.array([PostIn.model_validate(p).model_dump_json() for p in posts[:256]], object)}
    ray.get(actor.__call__.remote(batch))
    busy = ray.get(actor.peak_rss_mb.remote())
    ray.kill(actor)
    return loaded, busy


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.backfill", description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="models/default")
    ap.add_argument("--posts", type=int, default=10_000)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args(argv)
    if not (Path(args.model) / "manifest.json").is_file():
        ap.error(f"no model in {args.model} (`make train`, or pass --model)")

    from service.backfill.run import backfill, init_ray

    work = Path(tempfile.mkdtemp(prefix="wegwijzer-bench-backfill-"))
    try:
        store_url = f"sqlite:///{work / 'kb.sqlite3'}"
        posts = make_posts(work / "posts.jsonl", args.posts)
        figures: dict[str, float] = {"posts": args.posts}
        figures["api_batch_posts_per_s"] = api_posts_per_s(args.model, store_url, posts)
        print(f"API /v1/triage/batch (in process, batches of 256): {figures['api_batch_posts_per_s']:.1f} posts/s")
        start = time.perf_counter()
        init_ray(None, 2)
        figures["ray_start_s"] = time.perf_counter() - start
        print(f"local Ray start: {figures['ray_start_s']:.1f} s")
        for workers in (1, 2):
            s = backfill(work / "posts.jsonl", work / f"out-{workers}", args.model, store_url, workers=workers,
                         batch_size=args.batch_size, partition_size=1000, progress=False)
            assert s.rows == args.posts and s.bad_rows == 0
            figures[f"backfill_{workers}w_posts_per_s"] = s.posts_per_s
            print(f"backfill, {workers} worker(s), batch {args.batch_size}: {s.posts_per_s:.1f} posts/s "
                  f"({s.seconds:.1f} s for {s.rows} posts, model load included)")
        loaded, busy = worker_memory_mb(args.model, store_url, posts)
        figures["worker_rss_loaded_mb"], figures["worker_rss_peak_mb"] = loaded, busy
        figures["driver_rss_peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"memory per worker (peak RSS): {loaded:.0f} MB loaded, {busy:.0f} MB after a 256-post batch; "
              f"driver {figures['driver_rss_peak_mb']:.0f} MB")
        if args.json:
            args.json.write_text(json.dumps({k: round(v, 2) for k, v in figures.items()}, indent=2) + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
