"""results.json and results.md: the figures side by side, with the targets beside them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TARGETS = {
    "inprocess_p50_ms": 6.0,
    "inprocess_p99_ms": 15.0,
    "batch_posts_per_s": 300.0,
    "http_p99_ms_at_50": 30.0,
    "speedup_vs_pytorch": 4.0,
    "rss_mb": 400.0,
    "cold_start_s": 2.0,
}
ENV_KEYS = (
    "cpu_model",
    "cpu_flags",
    "logical_cpus",
    "usable_cpus",
    "cgroup_cpu_limit",
    "load_average_at_start",
    "onnxruntime_intra_op_threads",
    "onnxruntime_inter_op_threads",
    "torch_threads_reference",
    "torch_threads_default",
    "blas",
    "platform",
)


def _f(x: Any, unit: str = "", digits: int | None = None) -> str:
    if x is None:
        return "–"
    if isinstance(x, float):
        d = digits if digits is not None else (2 if abs(x) < 100 else 0)
        s = f"{x:,.{d}f}"
    else:
        s = f"{x:,}" if isinstance(x, int) else str(x)
    return f"{s} {unit}".strip()


def _ms(d: dict[str, Any], key: str, digits: int | None = None) -> str:
    return _f(d.get(key), "ms", digits)


def _row(*cells: Any) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _head(*cols: str, align: str = "") -> list[str]:
    return [_row(*cols), _row(*[(a == "r" and "---:") or "---" for a in align.ljust(len(cols), "l")])]


def _met(ok: bool | None) -> str:
    return "–" if ok is None else ("yes" if ok else "**no**")


def target_rows(r: dict[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    t = TARGETS
    big = str(max(int(s) for s in r["inprocess"]))
    n = f"{int(big):,}"
    ip = r["inprocess"][big]["engine_single_post"]
    batch = r["inprocess"][big]["batch"]
    best = max(b["posts_per_s"] for b in batch.values())
    rows: list[tuple[str, str, str, bool | None]] = [
        (
            f"in-process p50 per post, suggestions over {n} answers",
            f"≤ {t['inprocess_p50_ms']:g} ms",
            _ms(ip, "p50_ms"),
            ip["p50_ms"] <= t["inprocess_p50_ms"],
        ),
        (
            f"in-process p99 per post, {n} answers",
            f"≤ {t['inprocess_p99_ms']:g} ms",
            _ms(ip, "p99_ms"),
            ip["p99_ms"] <= t["inprocess_p99_ms"],
        ),
        (
            f"batched throughput (best of batch {', '.join(batch)}), {n} answers",
            f"≥ {t['batch_posts_per_s']:g} posts/s",
            _f(best, "posts/s"),
            best >= t["batch_posts_per_s"],
        ),
    ]
    sp = r.get("reference", {}).get("speedup", {}).get(big)
    if sp:
        rows.append(
            (
                f"speed-up vs PyTorch fp32 reference (p50, {n} answers)",
                f"≥ {t['speedup_vs_pytorch']:g}×",
                f"{sp['engine_p50']:.2f}× (model+search only: {sp['core_p50']:.2f}×)",
                sp["engine_p50"] >= t["speedup_vs_pytorch"],
            )
        )
    servers = r.get("http", {}).get("servers", {})
    for srv in servers.values():
        lt = srv.get("load")
        if lt:
            p99 = lt["fixed"]["latency"].get("p99_ms")
            rows.append(
                (
                    f"HTTP p99 at {lt['fixed']['offered_rate']:g} req/s ({srv['answers']:,} answers)",
                    f"≤ {t['http_p99_ms_at_50']:g} ms",
                    _f(p99, "ms"),
                    None if p99 is None else p99 <= t["http_p99_ms_at_50"],
                )
            )
    for srv in servers.values():
        peak = srv.get("peak_rss_mb")
        rows.append(
            (
                f"server peak RSS ({srv['label']})",
                f"≤ {t['rss_mb']:g} MB",
                _f(peak, "MB"),
                None if peak is None else peak <= t["rss_mb"],
            )
        )
    for srv in servers.values():
        rows.append(
            (
                f"cold start to /readyz 200 ({srv['label']})",
                f"≤ {t['cold_start_s']:g} s",
                _f(srv["cold_start_s"], "s"),
                srv["cold_start_s"] <= t["cold_start_s"],
            )
        )
    return rows


def _inprocess(r: dict[str, Any]) -> list[str]:
    lines = ["## In-process (one process, no HTTP)", ""]
    lines += _head("measurement", "KB answers", "p50", "p95", "p99", "throughput", align="lrrrrr")
    rt = _runtime(r)
    for size, ip in sorted(r["inprocess"].items(), key=lambda kv: int(kv[0])):
        n = f"{int(size):,}"
        e, c = ip["engine_single_post"], ip["core_single_post"]
        lines.append(
            _row(
                f"Engine.triage, 1 post (tags + route + top-3 suggestions), {rt}, {e['n']} posts",
                n,
                _ms(e, "p50_ms"),
                _ms(e, "p95_ms"),
                _ms(e, "p99_ms"),
                _f(e["posts_per_s_sequential"], "posts/s"),
            )
        )
        lines.append(
            _row(
                "TriageModel.predict + VectorIndex.search only (the reference's scope)",
                n,
                _ms(c, "p50_ms"),
                _ms(c, "p95_ms"),
                _ms(c, "p99_ms"),
                "",
            )
        )
        ref = r.get("reference", {}).get("single_post", {}).get(size)
        if ref:
            sp = r["reference"]["speedup"][size]
            lines.append(
                _row(
                    f"reference: transformers/PyTorch fp32 + numpy brute-force search, {ref['n']} posts",
                    n,
                    _ms(ref, "p50_ms"),
                    _ms(ref, "p95_ms"),
                    _ms(ref, "p99_ms"),
                    "",
                )
            )
            lines.append(
                _row(
                    f"speed-up of the served path (reference ÷ {rt}): Engine.triage / model+search",
                    n,
                    *[f"{sp['engine_' + q]:.2f}× / {sp['core_' + q]:.2f}×" for q in ("p50", "p95", "p99")],
                    "",
                )
            )
        for bs, b in ip["batch"].items():
            lines.append(
                _row(
                    f"Engine.triage on lists of {bs} posts ({b['posts']} posts; latency per batch)",
                    n,
                    _ms(b["batch"], "p50_ms"),
                    _ms(b["batch"], "p95_ms"),
                    _ms(b["batch"], "p99_ms"),
                    f"**{_f(b['posts_per_s'], 'posts/s')}**",
                )
            )
        s = ip["search_alone"]
        for key, label in (
            ("vectorindex_search_hybrid", f"VectorIndex.search + BM25 on the top {s.get('lexical_candidates')} "
                                          "(served), 1 query, top-3"),
            ("vectorindex_search", "VectorIndex.search dense only, 1 query, top-3"),
            ("matmul_only", "matrix product only (q @ M.T)"),
            ("matmul_topk", "matrix product + argpartition top-3"),
        ):
            v = s.get(key)
            if not v:
                continue
            lines.append(
                _row(
                    f"vector search alone: {label}, {s['dim']}-d float32 ({s['matrix_mb']} MB)",
                    n,
                    _ms(v, "p50_ms", 3),
                    _ms(v, "p95_ms", 3),
                    _ms(v, "p99_ms", 3),
                    "",
                )
            )
    bg = {size: ip.get("background_cpu_cores") for size, ip in r["inprocess"].items()}
    if any(v is not None for v in bg.values()):
        lines += [
            "",
            "Average CPU cores used by other processes while each KB size was measured: "
            + ", ".join(f"{int(k):,} answers: {v}" for k, v in sorted(bg.items(), key=lambda kv: int(kv[0])))
            + " (0 = the machine was otherwise idle).",
        ]
    return lines


def _http(http: dict[str, Any]) -> list[str]:
    lines = ["## HTTP (real server, `python -m service`, 127.0.0.1, POST /v1/triage)", ""]
    lines += _head(
        "server",
        "phase",
        "offered req/s",
        "completed req/s",
        "p50",
        "p99",
        "error rate",
        "server CPU cores",
        "sustained",
        align="llrrrrrrl",
    )
    for srv in http["servers"].values():
        lt = srv.get("load")
        if not lt:
            continue
        for name, p in [("fixed", lt["fixed"])] + [("step", s) for s in lt["steps"]]:
            lines.append(
                _row(
                    srv["label"],
                    f"{name} {p['duration_s']:g} s" + (" (fresh server)" if p.get("restarted_before") else ""),
                    f"{p['offered_rate']:g}",
                    f"{p['completed_rate']:g}",
                    _ms(p["latency"], "p50_ms"),
                    _ms(p["latency"], "p99_ms"),
                    f"{p['error_rate'] * 100:.2f}%",
                    p["server_cpu_cores"],
                    "yes" if p["sustained"] else "**no**",
                )
            )
    lines += [""] + _head(
        "server",
        "cold start to /readyz 200",
        "RSS when ready",
        "peak RSS (VmHWM)",
        "highest sustained rate",
        align="lrrrr",
    )
    for srv in http["servers"].values():
        lt = srv.get("load") or {}
        rate = lt.get("max_sustained_rate")
        more = " (step limit reached)" if lt.get("step_limit_reached") else ""
        lines.append(
            _row(
                srv["label"],
                _f(srv["cold_start_s"], "s"),
                _f(srv["ready_rss_mb"], "MB"),
                _f(srv["peak_rss_mb"], "MB"),
                (_f(rate, "req/s") + more) if lt.get("steps") else "–",
            )
        )
    return lines


def render_markdown(r: dict[str, Any]) -> str:
    env, m = r["environment"], r["model"]
    lines = [
        f"# Wegwijzer benchmark ({'quick smoke run' if r['quick'] else 'full run'})",
        "",
        f"Model `{m['dir']}` (model.onnx {m['onnx_sha256'][:12]}, {m['onnx_mb']} MB, {m['encoder_layers']} "
        f"encoder layers + {m.get('retrieval_tower_layers', 0)} retrieval-tower layers, "
        f"max_length {m['max_length']}, int8: {m['quantized']}), measured {r['started_at']} "
        f"on {env['cpu_model']}, {env['usable_cpus']} usable CPUs, runtime {_runtime(r)}, intra/inter threads "
        f"{env['onnxruntime_intra_op_threads']}/{env['onnxruntime_inter_op_threads']}. "
        f"Total run {r['total_s']:.0f} s.",
        "",
    ]
    if env.get("other_busy_python_processes"):
        lines += [
            f"**Warning:** other busy processes at the start: {env['other_busy_python_processes']}; "
            "figures are pessimistic.",
            "",
        ]
    if r.get("model_changed_during_run"):
        lines += ["**Warning:** the model directory changed during the run; the figures may mix models.", ""]
    for key in ("reference_error", "http_error"):
        if r.get(key):
            lines += [f"**{key.replace('_', ' ')}:** `{r[key]}`", ""]
    lines += ["## Targets", ""] + _head("what", "target", "measured", "met")
    lines += [_row(*row[:3], _met(row[3])) for row in target_rows(r)]
    lines += [""] + _inprocess(r)
    if r.get("http"):
        lines += [""] + _http(r["http"])
    prof = r.get("profile")
    if prof:
        b = prof["breakdown"]
        lines += ["", "## Where the time goes (single post)", "", prof["summary"], ""]
        lines += _head("part (timed inside Engine.triage)", "mean", "p50", "p99", "share of mean", align="lrrrr")
        for k, v in b["share_of_engine_triage"].items():
            lines.append(
                _row(
                    k,
                    _ms(b["mean_ms"], k, 3),
                    _ms(b["p50_ms"], k, 3),
                    _ms(b["p99_ms"], k, 3),
                    f"{v * 100:.0f}%",
                )
            )
        k = "engine_triage"
        lines.append(
            _row(
                "**Engine.triage total**",
                _ms(b["mean_ms"], k, 3),
                _ms(b["p50_ms"], k, 3),
                _ms(b["p99_ms"], k, 3),
                "100%",
            )
        )
        lines += ["", f"Full profile: `bench/profile.txt` ({prof['tool']}, {prof['calls']} calls)."]
    wi = r.get("whatif")
    if wi:
        lines += [
            "",
            f"## What-if: runtime knobs only (Engine.triage, 1 post, {wi['answers']:,} answers)",
            "",
        ]
        lines += _head("variant", "posts", "p50", "p95", "p99", align="lrrrr")
        lines += [_row(w["variant"], w["n"], _ms(w, "p50_ms"), _ms(w, "p95_ms"), _ms(w, "p99_ms")) for w in wi["rows"]]
    lines += ["", "## Environment", ""] + _head("", "")
    lines += [_row(k, env.get(k)) for k in ENV_KEYS if k in env]
    lines.append(_row("versions", ", ".join(f"{k} {v}" for k, v in env["versions"].items())))
    lines += ["", "## Notes", ""] + [f"- {n}" for n in r["notes"]]
    return "\n".join(lines) + "\n"


def write(r: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    js, md = out_dir / "results.json", out_dir / "results.md"
    js.write_text(json.dumps(r, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    md.write_text(render_markdown(r), encoding="utf-8")
    return js, md


def _runtime(r: dict) -> str:
    rt = r.get("runtime") or {"name": "onnxruntime", "precision": "int8+f32"}  # results from before issue 12
    return f"{rt['name']} {rt['precision']}"
