"""The server's memory and cold start at knowledge-base sizes (issue 12: RSS <= 400 MB, /readyz <= 2 s
at 100k answers).

`python -m bench.server_memory [--sizes 10000 100000] [--runs 2] [--stages] [--first-start]`

Per size: a SQLite store of the first n benchmark answers (bench/kb_corpus.benchmark_kb: the model's
cached embeddings, stand-ins beyond) with an index snapshot, kept under bench/.cache/server-<n>-<sha>/
(made once). Then `python -m service` restarts on it `--runs` times: cold start to /readyz 200, RSS
at ready and after one post (/proc status and smaps_rollup: anonymous vs file-backed pages), peak.
`--stages`: the same start-up in this process, step by step, with the RSS after each step (imports,
model, store, index, incidents/threads, language detector, first post, second post): where it goes.
`--first-start`: also one start per size on a copy of the store without its index snapshot and
compiled-model cache (a new machine, or a new model): the index is rebuilt; its peak is VmHWM.
Figures only; tests assert behaviour.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import kb_corpus


def rss_mb(pid: int | str = "self") -> dict[str, float]:
    """Rss, anonymous and file-backed resident MB of a process (smaps_rollup), and its peak (VmHWM)."""
    out: dict[str, float] = {}
    wanted = {"Rss": "rss_mb", "Anonymous": "anon_mb", "Pss_File": "file_pss_mb"}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in wanted:
            out[wanted[key]] = round(int(rest.split()[0]) / 1024, 1)
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            out["peak_mb"] = round(int(line.split()[1]) / 1024, 1)
    return out


def prepare(model_dir: Path, n: int) -> Path:
    """The store (with its index snapshot) of the first n benchmark answers; built once per model."""
    from models.artifact import load_manifest
    from models.index import VectorIndex
    from models.inference import TriageModel, passage_text
    from service import snapshot
    from service.settings import Settings
    from service.store import Store

    manifest = load_manifest(model_dir, kind="triage-model", verify_files=False)
    sha = manifest.embedding_sha  # a retrained model on the same frozen tower reuses the store
    folder = kb_corpus.CACHE / f"server-{n}-{sha[:12]}"
    store_path = folder / "store.sqlite3"
    if (folder / "done").is_file():
        return store_path
    folder.mkdir(parents=True, exist_ok=True)
    store_path.unlink(missing_ok=True)
    rows, vecs, _ = kb_corpus.benchmark_kb(sha, n)
    store = Store(store_path)
    for i in range(0, n, 5_000):
        store.upsert_answers(rows[i:i + 5_000], vecs[i:i + 5_000], sha)
    model = TriageModel(model_dir, 2, 1)
    index = VectorIndex(model.dim, model.lexical_weight, model.lexical_candidates,
                        Settings(auth_enabled=False).ann)
    index.rebuild([r["id"] for r in rows], vecs, [{"product": r.get("product"), "topic": r.get("topic")}
                                                   for r in rows], [passage_text(r) for r in rows])
    snapshot.save(index, folder / "index", store.change_watermark(), manifest.embedding_sha,
                  snapshot.store_identity(store))
    store.close()
    (folder / "done").write_text("")
    return store_path


POST = {"body": "Mijn modem knippert rood sinds vanochtend, internet doet het niet."}


def restarts(model_dir: Path, store_path: Path, runs: int) -> list[dict[str, Any]]:
    import httpx

    from bench.server import running_server

    out = []
    for run in range(runs):
        log_path = store_path.parent / f"server-{run}.log"
        with running_server(model_dir, store_path, log_path, ready_timeout_s=600) as srv:
            ready = rss_mb(srv.proc.pid)
            httpx.post(f"{srv.url}/v1/triage", json=POST, timeout=120).raise_for_status()
            time.sleep(1.0)  # the language detector is built beside start-up
            httpx.post(f"{srv.url}/v1/triage", json=POST, timeout=120).raise_for_status()
            row = {"cold_start_s": round(srv.cold_start_s, 2), "answers": srv.answers, "at_ready": ready,
                   "after_posts": rss_mb(srv.proc.pid),
                   "log": [json.loads(line).get("event", line) for line in log_path.read_text().splitlines()
                           if line.startswith("{") and ("index" in line or "runtime" in line)]}
        out.append(row)
        print(json.dumps(row), flush=True)
    return out


def first_start(model_dir: Path, store_path: Path) -> dict[str, Any]:
    """One start on a copy of the store alone: no index snapshot, no compiled model beside it."""
    fresh = store_path.parent / "first-start"
    shutil.rmtree(fresh, ignore_errors=True)
    fresh.mkdir()
    try:
        shutil.copy2(store_path, fresh / store_path.name)
        return restarts(model_dir, fresh / store_path.name, 1)[0]
    finally:
        shutil.rmtree(fresh, ignore_errors=True)


def stages(model_dir: Path, store_path: Path) -> list[dict[str, Any]]:
    """The server's start-up steps in this process (what service/app.py build_engine does)."""
    steps: list[dict[str, Any]] = []
    t0 = time.perf_counter()

    def step(name: str) -> None:
        nonlocal t0
        steps.append({"step": name, "s": round(time.perf_counter() - t0, 2), **rss_mb()})
        print(json.dumps(steps[-1]), flush=True)
        t0 = time.perf_counter()

    step("python")
    os.environ.update({"WEGWIJZER_MODEL_DIR": str(model_dir), "WEGWIJZER_STORE_PATH": str(store_path),
                       "WEGWIJZER_AUTH_ENABLED": "false", "WEGWIJZER_SEED_KB": ""})
    import service.app  # noqa: F401 - what the server imports, measured as one step
    from models import textprep
    from models.index import VectorIndex
    from models.inference import TriageModel
    from service.incidents import build_incident_service
    from service.index_loading import load_index
    from service.policy import Policy
    from service.schemas import PostIn
    from service.settings import get_settings
    from service.store import Store
    from service.threads import attach as attach_threads
    from service.triage import Engine
    step("imports (service.app)")
    settings = get_settings()
    model = TriageModel.from_settings(settings)
    step("model (compile + parity probe)")
    store = Store(settings.store)
    index = VectorIndex(model.dim, model.lexical_weight, model.lexical_candidates, settings.ann)
    engine = Engine(model, store, index, Policy.from_file(settings.policy_path, model.manifest.label_sets),
                    settings.max_suggestions)
    step("store + policy")
    engine.index_watermark = load_index(engine, store.change_watermark(), settings.index_snapshot_dir)
    step(f"index ({len(index)} answers, from snapshot)")
    engine.incidents = build_incident_service(store, settings, model.dim)
    attach_threads(engine)
    step("incidents + threads")
    textprep.use_table_cache(settings.runtime_cache_path)  # as the server does
    textprep.language_identifier()
    step("language detector")
    engine.triage([PostIn(**POST)])
    step("first post")
    engine.triage([PostIn(**POST)])
    step("second post")
    return steps


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.server_memory", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=Path("models/default"))
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--stages", action="store_true", help="step-by-step start-up in a fresh process (largest size)")
    ap.add_argument("--first-start", action="store_true",
                    help="also one start per size without the index snapshot (the index is rebuilt)")
    ap.add_argument("--json", type=Path, help="also write the restarts' figures here")
    ap.add_argument("--stages-of", type=Path, help=argparse.SUPPRESS)  # that fresh process: the store
    args = ap.parse_args(argv)
    if args.stages_of is not None:
        stages(args.model, args.stages_of)
        return 0
    stores = {n: prepare(args.model, n) for n in args.sizes}
    if args.stages:
        return subprocess.call([sys.executable, "-m", "bench.server_memory", "--model", str(args.model),
                                "--stages-of", str(stores[max(args.sizes)])])
    results = []
    for n, path in stores.items():
        print(json.dumps({"answers": n, "load_avg": os.getloadavg()}), flush=True)
        row = {"answers": n, "load_avg_start": os.getloadavg(), "restarts": restarts(args.model, path, args.runs)}
        if args.first_start:
            row["first_start"] = first_start(args.model, path)
        results.append(row)
    if args.json is not None:
        args.json.write_text(json.dumps({"model": str(args.model), "sizes": results}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
