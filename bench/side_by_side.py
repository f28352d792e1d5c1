"""`python -m bench.side_by_side [--model DIR] [--posts N]`: issue 12's table in one run.

The served pipeline (Engine.triage: tags, route, suggestions over the shipped knowledge base) on
the runtime the service picks, next to what a user could run instead (bench/plain.py: the plain
12-layer e5-small in PyTorch fp32, and in the runtimes sentence-transformers' ONNX and OpenVINO
backends use), and next to the served pipeline on onnxruntime (the runtime before issue 12).

Single posts are timed in blocks that take turns in a rotating order (each variant in its steady
state, background load on a shared machine spread over all); batches one variant after another. Ratios are
plain PyTorch ÷ variant (latency) and variant ÷ plain PyTorch (throughput). Figures, not tests.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from bench import environment, workload
from bench.plain import CACHE, PlainOnnx, PlainOpenVino, PlainTorch, export_base_onnx
from bench.stats import say, summary_ms

OUT_JSON = Path("bench/side_by_side_results.json")
OUT_MD = Path("bench/side_by_side.md")
BATCH = 32


def build_engine(model_dir: Path, store: Path, runtime: str, threads: int) -> Any:
    from service.app import build_engine as build
    from service.settings import Settings

    # an empty store: build_engine seeds the shipped knowledge base into it
    return build(Settings(model_dir=model_dir, store_url=f"sqlite:///{store}", auth_enabled=False,
                          runtime=runtime, intra_threads=threads))


def answerability_timer() -> list[float]:
    """Times service.suggest.score_hits inside Engine.triage (answerability features and score)."""
    import service.triage as triage

    samples: list[float] = []
    inner = triage.score_hits

    def timed(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            samples.append(time.perf_counter() - t0)

    triage.score_hits = timed  # type: ignore[assignment]
    return samples


def interleaved(variants: dict[str, Callable[[int], Any]], n: int, rounds: int = 5,
                warmup: int = 10) -> dict[str, list[float]]:
    """n calls per variant in `rounds` blocks; the variants take turns block by block in a rotating
    order, so each runs in its steady state and background load is spread over all of them."""
    names = list(variants)
    out: dict[str, list[float]] = {k: [] for k in names}
    per_round = -(-n // rounds)
    for r in range(rounds):
        for j in range(len(names)):
            name = names[(r + j) % len(names)]
            fn = variants[name]
            for i in range(warmup):
                fn(i)
            for i in range(r * per_round, min(n, (r + 1) * per_round)):
                t0 = time.perf_counter()
                fn(i)
                out[name].append(time.perf_counter() - t0)
    return out


def throughput(fn: Callable[[list[int]], Any], n_posts: int, batch: int) -> float:
    batches = [list(range(i, min(i + batch, n_posts))) for i in range(0, n_posts, batch)]
    fn(batches[0])
    t0 = time.perf_counter()
    for b in batches:
        fn(b)
    return n_posts / (time.perf_counter() - t0)


def run(model_dir: Path, n_single: int, n_batch: int, threads: int) -> dict[str, Any]:
    from models.artifact import load_manifest

    rows = workload.load_posts()
    posts = [workload.as_post(r) for r in rows]
    manifest = load_manifest(model_dir, kind="triage-model", verify_files=False)
    base = Path(manifest.details.get("train_config", {}).get("base", "models/base"))
    say(f"posts: {len(posts)} test posts ({workload.POSTS}), cycled; base {base}")
    work = Path(tempfile.mkdtemp(prefix="wegwijzer-sbs-"))
    served = build_engine(model_dir, work / "auto.sqlite3", "auto", threads)
    before = build_engine(model_dir, work / "ort.sqlite3", "onnxruntime", threads)
    texts = [served.text_of(p.title, p.body) for p in posts]
    onnx_file = export_base_onnx(base, CACHE / "plain-e5-small.onnx")
    plain = {"torch": PlainTorch(base, threads), "onnx": PlainOnnx(base, onnx_file),
             "openvino": PlainOpenVino(base, onnx_file)}
    say(f"served runtime: {served.model.runtime.name} {served.model.runtime.precision}; "
        f"plain OpenVINO precision {plain['openvino'].precision}")

    def post(i: int) -> Any:
        return posts[i % len(posts)]

    def text(i: int) -> str:
        return texts[i % len(texts)]

    singles: dict[str, Callable[[int], Any]] = {
        "served": lambda i: served.triage([post(i)]),
        "served_onnxruntime": lambda i: before.triage([post(i)]),
        "model_only": lambda i: served.model.predict([text(i)]),
        "plain_torch": lambda i: plain["torch"].embed([text(i)]),
        "plain_onnx": lambda i: plain["onnx"].embed([text(i)]),
        "plain_openvino": lambda i: plain["openvino"].embed([text(i)]),
    }
    bg = environment.BackgroundLoad()
    answerability = answerability_timer()
    single = interleaved(singles, n_single)
    answerability_ms = summary_ms(answerability)  # both served variants: the same step
    batches: dict[str, Callable[[list[int]], Any]] = {
        "served": lambda b: served.triage([post(i) for i in b]),
        "served_onnxruntime": lambda b: before.triage([post(i) for i in b]),
        "model_only": lambda b: served.model.run([text(i) for i in b]),
        "plain_torch": lambda b: plain["torch"].embed([text(i) for i in b]),
        "plain_onnx": lambda b: plain["onnx"].embed([text(i) for i in b]),
        "plain_openvino": lambda b: plain["openvino"].embed([text(i) for i in b]),
    }
    tput = {k: round(throughput(fn, n_batch, BATCH), 1) for k, fn in batches.items()}
    tput_256 = round(throughput(batches["served"], max(n_batch, 512), 256), 1)
    background = bg.cores()
    stats = {k: summary_ms(v) for k, v in single.items()}
    ref_p50, ref_tput = stats["plain_torch"]["p50_ms"], tput["plain_torch"]
    rows_out = []
    for key, label in LABELS.items():
        s = stats[key]
        rows_out.append({"key": key, "what": label, "p50_ms": s["p50_ms"], "p99_ms": s["p99_ms"],
                         "posts_per_s_batch32": tput[key],
                         "latency_x_vs_plain_torch": round(ref_p50 / s["p50_ms"], 2),
                         "throughput_x_vs_plain_torch": round(tput[key] / ref_tput, 2)})
    return {
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "environment": environment.describe(SimpleNamespace(intra_threads=threads, inter_threads=1), threads),
        "runtime": served.model.selection.describe(),
        "plain_openvino_precision": plain["openvino"].precision,
        "threads": threads, "posts": len(posts), "single_posts": n_single, "batch_posts": n_batch,
        "background_cores": background,
        "rows": rows_out,
        "served_batch256_posts_per_s": tput_256,
        "answerability_step": answerability_ms,
        "knowledge_base_answers": len(served.index),
    }


LABELS = {
    "served": "Wegwijzer served pipeline, Engine.triage (tags + route + suggestions), chosen runtime",
    "model_only": "Wegwijzer model only (18-layer graph: heads + retrieval embedding), chosen runtime",
    "served_onnxruntime": "Wegwijzer served pipeline on onnxruntime int8 (before issue 12)",
    "plain_torch": "plain e5-small, PyTorch fp32 (the reference)",
    "plain_onnx": "plain e5-small, onnxruntime fp32 (= sentence-transformers backend='onnx')",
    "plain_openvino": "plain e5-small, OpenVINO default (= sentence-transformers backend='openvino')",
}


def markdown(res: dict[str, Any]) -> str:
    rt = res["runtime"]
    lines = [
        "# Side by side (issue 12)", "",
        f"Measured {res['measured_at']} by `python -m bench.side_by_side`: {res['posts']} test posts, "
        f"{res['single_posts']} single-post calls per variant (blocks taking turns), "
        f"{res['batch_posts']} posts in batches of {BATCH}; {res['threads']} threads; CPU {rt['cpu']['model']} "
        f"({', '.join(rt['cpu']['flags'])}); served runtime **{rt['name']} {rt['precision']}** "
        f"(buckets of {rt['pad_multiple']} tokens); knowledge base {res['knowledge_base_answers']} answers; "
        f"other processes used {res['background_cores']} cores on average while it ran.", "",
        "| what | p50 | p99 | posts/s (batch 32) | latency × vs PyTorch | throughput × vs PyTorch |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in res["rows"]:
        lines.append(f"| {r['what']} | {r['p50_ms']} ms | {r['p99_ms']} ms | {r['posts_per_s_batch32']} | "
                     f"{r['latency_x_vs_plain_torch']}× | {r['throughput_x_vs_plain_torch']}× |")
    a = res["answerability_step"]
    lines += ["", f"Served pipeline in batches of 256: {res['served_batch256_posts_per_s']} posts/s. "
              f"The answerability step (features + logistic score over the candidates, inside Engine.triage): "
              f"p50 {a.get('p50_ms')} ms, p99 {a.get('p99_ms')} ms per post.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.side_by_side", description=__doc__)
    ap.add_argument("--model", type=Path, default=Path("models/default"))
    ap.add_argument("--single", type=int, default=300, help="single-post calls per variant")
    ap.add_argument("--batch-posts", type=int, default=288, help="posts per variant in batches of 32")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path, default=OUT_JSON)
    ap.add_argument("--md", type=Path, default=OUT_MD)
    args = ap.parse_args(argv)
    res = run(args.model, args.single, args.batch_posts, args.threads)
    args.json.write_text(json.dumps(res, indent=2, ensure_ascii=False))
    md = markdown(res)
    args.md.write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())



