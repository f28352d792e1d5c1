"""`python -m bench [--model models/default] [--quick]`: the speed benchmark (figures, not tests)."""

from __future__ import annotations

import argparse
import gc
import json
import os
import signal
import sys
import tempfile
import textwrap
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import environment, inprocess, profiling, report, server, whatif, workload
from bench.stats import say

OUT_DIR = Path("bench")  # relative to the repository root, where `make bench` runs

FULL: dict[str, Any] = {
    "sizes": [10_000, 100_000],
    "single_posts": 1000,
    "core_posts": 300,
    "batch": {32: 512, 256: 1024},
    "search_reps": 300,
    "ref_posts": 500,  # at the largest KB; ref_posts_other at the smaller ones
    "ref_posts_other": 200,
    "profile_calls": 300,
    "breakdown_posts": 300,
    "whatif_posts": 150,
    "http_fixed_rate": 50.0,
    "http_fixed_s": 20.0,
    "http_steps": [50, 100, 150, 200, 250, 300, 400, 500, 600, 800],
    "http_step_s": 10.0,
    "http_step_budget_s": 120.0,
    "http_steps_down": [40, 30, 20, 15, 10, 5],  # tried in turn when the first step is not sustained
}
QUICK: dict[str, Any] = {
    "sizes": [10_000],
    "single_posts": 200,
    "core_posts": 200,
    "batch": {32: 256, 256: 512},
    "search_reps": 200,
    "ref_posts": 100,
    "ref_posts_other": 100,
    "profile_calls": 100,
    "breakdown_posts": 100,
    "whatif_posts": 100,
    "http_fixed_rate": 50.0,
    "http_fixed_s": 5.0,
    "http_steps": [50, 100, 200],
    "http_step_s": 3.0,
    "http_step_budget_s": 20.0,
    "http_steps_down": [20, 10],
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    ap.add_argument("--model", type=Path, default=Path("models/default"), help="triage model directory")
    ap.add_argument("--quick", action="store_true", help="smoke run: fewer posts, 10k answers only, short HTTP phases")
    ap.add_argument("--out", type=Path, default=OUT_DIR, help="where results.json/.md and profile.txt go")
    ap.add_argument("--skip-http", action="store_true", help="no server, no load test")
    ap.add_argument("--skip-reference", action="store_true", help="no PyTorch reference")
    return ap.parse_args(argv)


def model_info(model_dir: Path) -> dict[str, Any]:
    from models.artifact import load_manifest

    m = load_manifest(model_dir, kind="triage-model", verify_files=False)
    tc = m.details.get("train_config", {})
    layers = tc.get("keep_layers") or None
    if not layers:
        try:
            cfg = json.loads((Path(str(tc.get("base", ""))) / "config.json").read_text())
            layers = cfg.get("num_hidden_layers")
        except (OSError, ValueError):
            layers = None
    return {
        "dir": str(model_dir),
        "onnx_sha256": m.files.get("model.onnx", ""),
        "base": tc.get("base"),
        "encoder_layers": layers,
        "retrieval_tower_layers": (layers - int(tc.get("freeze_layers", 0))
                                   if tc.get("retrieval") == "tower" and layers else 0),
        "max_length": m.max_length,
        "quantized": tc.get("quantize"),
        "heads": list(m.label_sets),
        "onnx_mb": round((model_dir / "model.onnx").stat().st_size / 2**20, 1),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so servers are stopped and the temporary stores removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with tempfile.TemporaryDirectory(prefix="wegwijzer-bench-") as tmp:
        return run(args, Path(tmp))


def run(args: argparse.Namespace, work: Path) -> int:
    cfg = QUICK if args.quick else FULL
    model_dir: Path = args.model
    if not (model_dir / "manifest.json").is_file():
        say(f"no model at {model_dir} (manifest.json missing): train one first (make train) or pass --model")
        return 2
    started = time.perf_counter()
    results: dict[str, Any] = {
        "quick": args.quick,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": {k: (v if not isinstance(v, dict) else {str(a): b for a, b in v.items()}) for k, v in cfg.items()},
        "model": model_info(model_dir),
    }
    settings = inprocess.settings_for(model_dir, work / "unused.sqlite3")
    env = environment.describe(settings)
    results["environment"] = env
    say(
        f"Wegwijzer benchmark ({'quick' if args.quick else 'full'}): model {model_dir}, {env['cpu_model']}, "
        f"{env['usable_cpus']} CPUs, ORT intra/inter {settings.intra_threads}/{settings.inter_threads}, "
        f"load average {env['load_average_at_start']}"
    )
    if env["other_busy_python_processes"]:
        say(f"  warning: other busy processes: {env['other_busy_python_processes']}")

    rows = workload.load_posts()
    posts = [workload.as_post(r) for r in rows]
    say(f"posts: {len(rows)} test posts from {workload.POSTS}, cycled")

    # knowledge bases ---------------------------------------------------------------------------
    from models.inference import TriageModel

    t0 = time.perf_counter()
    model = TriageModel.from_settings(settings.model_copy(update={"model_dir": model_dir}))
    results["runtime"] = model.selection.describe()
    skb = workload.build_kbs(model, cfg["sizes"], work)
    _, query_emb = model.run([p.body for p in posts[:64]])
    del model
    results["knowledge_base"] = skb.describe() | {"build_s": round(time.perf_counter() - t0, 1)}
    say(
        f"knowledge bases {', '.join(f'{s:,}' for s in cfg['sizes'])} built in "
        f"{time.perf_counter() - t0:.1f} s "
        f"(generated from the shipped answers: {skb.info['model_embeddings']:,} model embeddings, "
        f"{skb.info['stand_in_mixes']:,} stand-in mixes until bench.kb_corpus embed has finished)"
    )

    # in-process ---------------------------------------------------------------------------------
    background: dict[str, float] = {}
    bg = environment.BackgroundLoad()
    results["inprocess"] = {}
    core_p: dict[str, dict[str, Any]] = {}
    big = max(cfg["sizes"])
    prof_text = ""
    for size in cfg["sizes"]:
        bg_size = environment.BackgroundLoad()
        engine, load_s = inprocess.make_engine(model_dir, skb.kbs[size].store_path)
        say(f"[in-process, {size:,} answers] engine built in {load_s:.2f} s (index {len(engine.index):,})")
        single = inprocess.single_post(engine, posts, cfg["single_posts"])
        say(f"  Engine.triage 1 post: p50 {single['p50_ms']} ms, p95 {single['p95_ms']} ms, p99 {single['p99_ms']} ms")
        core = inprocess.core_single_post(engine, posts, cfg["core_posts"])
        core_p[str(size)] = core
        say(f"  predict + search only: p50 {core['p50_ms']} ms, p99 {core['p99_ms']} ms")
        batch = {}
        for bs, total in cfg["batch"].items():
            b = inprocess.batch_throughput(engine, posts, bs, total)
            batch[str(bs)] = b
            say(f"  batch {bs}: {b['posts_per_s']} posts/s ({b['ms_per_post']} ms/post)")
        search = inprocess.search_alone(engine, query_emb, engine.max_suggestions, cfg["search_reps"],
                                        [p.body for p in posts[:64]])
        say(
            f"  vector search alone: VectorIndex.search p50 {search['vectorindex_search']['p50_ms']} ms, "
            f"matmul p50 {search['matmul_only']['p50_ms']} ms"
        )
        results["inprocess"][str(size)] = {
            "engine_build_s": round(load_s, 2),
            "engine_single_post": single,
            "core_single_post": core,
            "batch": batch,
            "search_alone": search,
            "background_cpu_cores": bg_size.cores(),
        }
        if size == big:
            text, totals, tool = profiling.profile(engine, posts, cfg["profile_calls"])
            breakdown = profiling.timed_breakdown(engine, posts, cfg["breakdown_posts"])
            summary = profiling.summary_paragraph(breakdown, totals, size, tool, search["vectorindex_search"]["p50_ms"])
            prof_text = text
            results["profile"] = {
                "tool": tool,
                "calls": cfg["profile_calls"],
                "answers": size,
                "profiler_seconds": {k: round(v, 4) for k, v in totals.items()},
                "breakdown": breakdown,
                "summary": summary,
            }
            say(f"  profile: {summary}")
            whatifs = whatif.run(engine, posts, cfg["whatif_posts"], settings.intra_threads, settings.inter_threads)
            results["whatif"] = {"answers": size, "rows": whatifs}
            for w in whatifs:
                say(f"  what-if {w['variant']}: p50 {w['p50_ms']} ms, p99 {w['p99_ms']} ms")
        engine.store.close()
        del engine
        gc.collect()

    background["inprocess"] = bg.cores()
    # PyTorch reference --------------------------------------------------------------------------
    bg = environment.BackgroundLoad()
    if not args.skip_reference:
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
        from bench import reference

        try:
            ref = reference.Reference(model_dir, threads=settings.intra_threads)
            env["torch_threads_reference"] = ref.threads
            env["torch_threads_default"] = ref.default_threads
            say(
                f"[reference] PyTorch fp32, the same layout and weights as the export, from {ref.base}, "
                f"{ref.threads} torch threads (default {ref.default_threads}), loaded in {ref.load_s:.1f} s"
            )
            from models.inference import TriageModel

            onnx_model = TriageModel(model_dir, settings.intra_threads, settings.inter_threads,
                                     spinning=settings.ort_spinning)
            par = reference.parity(ref, onnx_model, rows)
            del onnx_model
            say(
                f"  parity with ONNX (same text, {par['posts']} posts): "
                f"label agreement {par['top1_label_agreement']}, "
                f"embedding cosine mean {par['embedding_cosine_mean']}"
            )
            single_ref, speedup = {}, {}
            for size in cfg["sizes"]:
                r = reference.single_post(
                    ref, rows, skb.kbs[size].matrix, cfg["ref_posts" if size == big else "ref_posts_other"]
                )
                single_ref[str(size)] = r
                ip = results["inprocess"][str(size)]
                speedup[str(size)] = {
                    f"{scope}_{q}": round(r[f"{q}_ms"] / src[f"{q}_ms"], 2)
                    for scope, src in (("engine", ip["engine_single_post"]), ("core", core_p[str(size)]))
                    for q in ("p50", "p95", "p99")
                }
                say(
                    f"  {size:,} answers: p50 {r['p50_ms']} ms, p95 {r['p95_ms']} ms, p99 {r['p99_ms']} ms "
                    f"-> ONNX "
                    f"Engine.triage is {speedup[str(size)]['engine_p50']}× faster at p50 "
                    f"(model+search only {speedup[str(size)]['core_p50']}×)"
                )
            results["reference"] = {
                "stack": "transformers BertModel (PyTorch fp32, default attention) + "
                "PreTrainedTokenizerFast + numpy q @ M.T + argpartition top-3, "
                "text = models.data_io.post_text",
                "threads": ref.threads,
                "load_s": round(ref.load_s, 1),
                "parity": par,
                "single_post": single_ref,
                "speedup": speedup,
            }
        except Exception as exc:  # noqa: BLE001 - a figure missing is reported, the rest is kept
            results["reference_error"] = f"{type(exc).__name__}: {exc}"
            say(f"  reference failed: {results['reference_error']}\n{traceback.format_exc()}")
        gc.collect()

    if not args.skip_reference:
        background["reference"] = bg.cores()
    # HTTP ----------------------------------------------------------------------------------------
    if not args.skip_http:
        bg = environment.BackgroundLoad()
        results["http"] = {"servers": {}, "timeout_s": server.TIMEOUT_S, "max_inflight": server.MAX_INFLIGHT}
        try:
            run_http(model_dir, work, skb, cfg, results["http"]["servers"])
        except Exception as exc:  # noqa: BLE001 - a figure missing is reported, the rest is kept
            results["http_error"] = f"{type(exc).__name__}: {exc}"
            say(f"  HTTP phase failed: {results['http_error']}")
        background["http"] = bg.cores()
    env["background_cpu_cores_by_section"] = background
    env["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    env["other_busy_python_processes_at_end"] = environment.other_busy_processes()

    try:
        now = model_info(model_dir)["onnx_sha256"]
    except Exception:  # noqa: BLE001 - the directory may be gone or half written
        now = None
    if now != results["model"]["onnx_sha256"]:
        results["model_changed_during_run"] = True
        say(f"  warning: {model_dir} changed during the run (model.onnx sha now {now}); figures may mix models")
    results["notes"] = notes(results, skb)
    results["total_s"] = round(time.perf_counter() - started, 1)
    args.out.mkdir(parents=True, exist_ok=True)
    if prof_text:
        prof = results["profile"]
        head = "\n".join(textwrap.wrap(prof["summary"], 100, initial_indent="# ", subsequent_indent="# "))
        head += "\n#\n# timed breakdown (ms, inside real Engine.triage calls):\n"
        head += "\n".join(f"#   {k}: {json.dumps(v)}" for k, v in prof["breakdown"].items()) + "\n\n"
        (args.out / "profile.txt").write_text(head + "\n".join(prof_text.splitlines()[:200]) + "\n")
    js, md = report.write(results, args.out)
    say("")
    say(report.render_markdown(results))
    say(f"wrote {js}, {md}" + (f", {args.out / 'profile.txt'}" if prof_text else ""))
    return 0


def run_http(
    model_dir: Path, work: Path, skb: workload.BenchmarkKB, cfg: dict[str, Any], servers: dict[str, Any]
) -> None:
    """Fills `servers` as it goes, so what was measured survives a later failure."""
    rows = workload.load_posts()

    def record(key: str, label: str, srv: server.Server, load: dict[str, Any] | None = None) -> None:
        servers[key] = {
            "label": label,
            "answers": srv.answers,
            "cold_start_s": round(srv.cold_start_s, 2),
            "ready_rss_mb": srv.started.get("ready_rss_mb"),
            "peak_rss_mb": srv.peak_rss_mb(),
            "load": load,
        }

    # 1. the default configuration's first start: empty store, shipped KB seeded (embedded) at start
    store = work / "http-shipped.sqlite3"
    say("[HTTP] first start, empty store seeded from training/data/kb.jsonl")
    with server.running_server(model_dir, store, work / "server-seed.log", seed_kb=str(workload.KB)) as srv:
        srv.started["ready_rss_mb"] = srv.rss_mb()
        record("shipped_first_start", f"shipped KB, first start (seeds {srv.answers} answers)", srv)
        say(f"  cold start {srv.cold_start_s:.2f} s, RSS {srv.started['ready_rss_mb']} MB")
    # 2. restart over that store (the usual start), with the fixed-rate phase
    say("[HTTP] restart over the seeded store (shipped KB)")
    with server.running_server(model_dir, store, work / "server-shipped.log") as srv:
        srv.started["ready_rss_mb"] = srv.rss_mb()
        say(f"  cold start {srv.cold_start_s:.2f} s, RSS {srv.started['ready_rss_mb']} MB")
        load = server.load_test(srv, rows, cfg["http_fixed_rate"], cfg["http_fixed_s"], [], 0, 0, say)
        record("shipped", f"shipped KB ({srv.answers} answers), restart", srv, load)
    # 2b. the same with request micro-batching (off by default), to show what it would buy
    say("[HTTP] restart with micro-batching (WEGWIJZER_MICRO_BATCH_MAX=16)")
    with server.running_server(model_dir, store, work / "server-batching.log",
                               extra_env={"WEGWIJZER_MICRO_BATCH_MAX": "16"}) as srv:
        srv.started["ready_rss_mb"] = srv.rss_mb()
        load = server.load_test(srv, rows, cfg["http_fixed_rate"], cfg["http_fixed_s"], [], 0, 0, say)
        record("shipped_micro_batching", f"shipped KB ({srv.answers} answers), micro-batching 16", srv, load)
    # 3. the largest synthetic KB: fixed rate, then step up
    size = max(skb.kbs)
    say(f"[HTTP] {size:,}-answer synthetic store")
    with server.RestartableServer(model_dir, skb.kbs[size].store_path, work, "server-big") as pool:
        srv = pool.first
        say(f"  cold start {srv.cold_start_s:.2f} s, RSS {srv.started['ready_rss_mb']} MB")
        load = server.load_test(
            srv,
            rows,
            cfg["http_fixed_rate"],
            cfg["http_fixed_s"],
            cfg["http_steps"],
            cfg["http_step_s"],
            cfg["http_step_budget_s"],
            say,
            cfg["http_steps_down"],
            restart=pool.restart,
        )
        key = f"synthetic_{size}"
        record(key, f"synthetic KB ({srv.answers:,} answers)", srv, load)
        servers[key]["peak_rss_mb"] = pool.peak_rss_mb()
        servers[key]["server_starts"] = pool.starts
        servers[key]["cold_starts_s_all"] = pool.cold_starts_s
        say(f"  peak RSS {servers[key]['peak_rss_mb']} MB; highest sustained rate {load['max_sustained_rate']} req/s")
        if any(p["errors"] for p in [load["fixed"], *load["steps"]]):
            servers[key]["log_tail"] = pool.current.log_tail()


def notes(r: dict[str, Any], skb: workload.BenchmarkKB) -> list[str]:
    kb = r["knowledge_base"]
    out = [
        f"Knowledge bases of {', '.join(f'{s:,}' for s in kb['sizes'])} answers are GENERATED: "
        f"{kb['method']}. {kb['model_embeddings']:,} carry the model's own embedding; "
        f"{kb['stand_in_mixes']:,} carry a stand-in (a renormalised mix of two real same-topic embeddings) "
        "until `python -m bench.kb_corpus embed` has embedded them all.",
        "Each in-process engine is service.app.build_engine over a temporary SQLite store pre-filled with "
        "the KB and its embeddings (stamped with the model's hash, so nothing is re-embedded at start).",
        "Posts: training/data/splits/test/posts.jsonl, cycled; latency percentiles are per call after 20 "
        "warm-up calls.",
        "The PyTorch reference uses the same trained weights (checkpoints/model-best.pt) in fp32 with the "
        "transformers tokenizer; the ONNX graph is int8-quantised (dynamic, per-channel), so part of the "
        "speed-up is quantisation. The reference covers tokenise + encoder + heads + search; "
        "Engine.triage also does routing, SQLite lookups and response objects, so 'model+search only' "
        "is the like-for-like ratio.",
        "HTTP: open-loop arrivals at a fixed rate from an asyncio httpx client in the benchmark process, "
        "which shares the same CPUs with the server (its CPU use is reported per phase); latency counts "
        "from each request's due time. Server logging as configured by default (uvicorn's access log "
        "off, one structured access line per request).",
        "Peak RSS is the kernel's VmHWM of the server process; cold start is from spawning "
        "`python -m service` until /readyz answers 200 (interpreter start, imports, model load with hash "
        "check, store open, index build).",
    ]
    out.append(
        "Background load: 'background_cpu_cores_by_section' is the average number of cores used by other "
        "processes during each section (from /proc/stat minus this process and its servers)."
    )
    return out


if __name__ == "__main__":
    sys.exit(main())
