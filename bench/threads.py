"""Benchmark of the thread import (issue 14): `python -m bench.threads [--model DIR | --tiny] [--n 10000]`.

The threads are synthesised from the hand-written evaluation export (eval/data/threads.jsonl) by
recombination: thread i takes the question of one source thread followed by the first sentence of a
second one from the same board, and the accepted solution of the first followed by the last sentence of
the solution of a third solved thread; the solver is one of 60 experts (the source solver's id with a
suffix), timestamps are shifted by i hours, and every 7th thread has no accepted post. Every passage text
is therefore different (no embedding cache helps) and lengths stay those of real threads.

Prints: validation, full import (embedding, store and index writes, expert and history refresh),
re-import of the unchanged file, re-import with 1% edited and 0.5% un-accepted threads, and the time to
match one post against all experts. `--tiny` measures with the 2-layer test model (the encoder cost is
then not representative); `--model` with a real triage model.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

from models.schema import LabelConfig
from models.threads import check_threads, parse_time

SOURCE = Path(__file__).resolve().parents[1] / "eval" / "data" / "threads.jsonl"


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]


def synthesise(n: int, source: Path = SOURCE, seed: int = 0) -> list[dict[str, Any]]:
    base = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines() if line.strip()]
    solved = [t for t in base if any(p.get("accepted") for p in t["posts"])]
    by_board: dict[str, list[dict]] = {}
    for t in base:
        by_board.setdefault(t.get("board", ""), []).append(t)
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        a = base[int(rng.integers(len(base)))]
        t = copy.deepcopy(a)
        mates = by_board[t.get("board", "")]
        b = mates[int(rng.integers(len(mates)))]
        c = solved[int(rng.integers(len(solved)))]
        t["thread_id"] = f"s-{i:06d}"
        t["url"] = f"https://forum.example/t/s{i}"
        shift = timedelta(hours=i)
        for p in t["posts"]:
            p["created_at"] = ((parse_time(p["created_at"]) or shift) + shift).isoformat()
        t["posts"][0]["body"] += " " + _sentences(b["posts"][0]["body"])[0]
        accepted = [p for p in t["posts"] if p.get("accepted")]
        if accepted:
            if i % 7 == 0:
                accepted[0]["accepted"] = False
            else:
                other = next(p for p in c["posts"] if p.get("accepted"))
                accepted[0]["body"] += " " + _sentences(other["body"])[-1]
                accepted[0]["author"]["id"] += f"-{int(rng.integers(10))}"
        out.append(t)
    return out


def _timed(fn: Any, *args: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - start


def run(model_dir: str, n: int, threads: int) -> dict[str, Any]:
    from service.threads import import_threads, open_engine

    data = synthesise(n)
    raw = "\n".join(json.dumps(t, ensure_ascii=False) for t in data).encode("utf-8")
    rows = [(i + 1, json.loads(line)) for i, line in enumerate(raw.decode("utf-8").splitlines())]
    out: dict[str, Any] = {"threads": n, "solved": sum(1 for t in data if any(p.get("accepted") for p in t["posts"])),
                           "bytes": len(raw), "model": model_dir}
    with tempfile.TemporaryDirectory(prefix="wegwijzer-bench-threads-") as tmp:
        engine = open_engine(model_dir, str(Path(tmp) / "store.sqlite3"), threads)
        labels = LabelConfig(dict(engine.model.manifest.label_sets))
        problems, out["validate_s"] = _timed(check_threads, rows, labels, "bench")
        assert not problems, problems[:3]
        first, out["import_s"] = _timed(import_threads, engine, data)
        out["first_import"] = first.as_dict() | {"experts": len(first.experts)}
        again, out["reimport_unchanged_s"] = _timed(import_threads, engine, data)
        out["reimport_unchanged"] = again.unchanged
        edited = copy.deepcopy(data)
        for i, t in enumerate(edited):
            acc = [p for p in t["posts"] if p.get("accepted")]
            if acc and i % 100 == 1:
                acc[0]["body"] += " Aanvulling: dit werkt ook na de laatste update."
            elif acc and i % 200 == 3:
                acc[0]["accepted"] = False
        changed, out["reimport_edited_s"] = _timed(import_threads, engine, edited)
        out["reimport_edited"] = changed.as_dict() | {"experts": len(changed.experts)}
        preds, emb = engine.model.predict([t["posts"][0]["body"] for t in data[:200]])
        times = []
        assert engine.experts is not None
        for e, p in zip(emb, preds, strict=True):
            start = time.perf_counter()
            engine.experts.match(e, {h: x.label for h, x in p.items()})
            times.append(time.perf_counter() - start)
        out["match_ms_p50"] = 1000 * statistics.median(times)
        out["match_ms_p99"] = 1000 * float(np.percentile(times, 99))
        out["experts"] = len(engine.experts.all())
        engine.store.close()
    out["import_threads_per_s"] = n / out["import_s"]
    return out


def _tiny_model(cache: Path) -> str:
    if (cache / "manifest.json").is_file():
        return str(cache)
    from tests.conftest import MINI
    from tests.tiny import build_tiny_base
    from training.config import TrainConfig
    from training.train import train_model

    base = build_tiny_base(cache.with_name(cache.name + "-base"))
    cfg = TrainConfig(base=str(base), keep_layers=0, epochs=2, batch_size=8, lr=2e-3, head_lr=5e-3, patience=2,
                      max_length=64, warmup_ratio=0.0, dropout=0.0, freeze_embeddings=True, freeze_layers=1,
                      retrieval="tower")
    train_model(MINI, cache, cfg)
    return str(cache)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.threads")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--model", help="triage model directory")
    g.add_argument("--tiny", action="store_true", help="the 2-layer test model (built once into var/)")
    p.add_argument("--n", type=int, default=10_000, help="threads to synthesise")
    p.add_argument("--ort-threads", type=int, default=2)
    p.add_argument("--json", help="write the figures as JSON")
    args = p.parse_args(argv)
    model = args.model or _tiny_model(Path("var/bench-tiny-model"))
    out = run(model, args.n, args.ort_threads)
    for k, v in out.items():
        print(f"{k}: {v:.3f}" if isinstance(v, float) else f"{k}: {v}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
