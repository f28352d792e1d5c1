"""Where the time of one Engine.triage call goes: a pyinstrument profile (cProfile when
pyinstrument is missing) over N single-post calls, and a timed breakdown without a profiler."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from service.schemas import PostIn
from service.triage import Engine

# (category, function name, path fragment): the first match on the way down the call tree counts.
CATEGORIES = [
    ("tokenisation", "encode", "models/inference.py"),
    ("model_run", "run", "models/runtime/"),
    ("vector_search", "search", "models/index.py"),
    ("suggestion_lookup_sqlite", "_suggestion", "service/triage.py"),
    ("routing_policy", "decide", "service/policy.py"),
    ("language_detection", "detect_language", "models/textprep.py"),
    ("text_cleanup", "text_of", "service/triage.py"),
    ("head_postprocessing", "probabilities", "models/inference.py"),
]


def _category(function: str, path: str) -> str | None:
    for name, fn, frag in CATEGORIES:
        if function == fn and frag in path.replace("\\", "/"):
            return name
    return None


def profile(engine: Engine, posts: list[PostIn], n: int) -> tuple[str, dict[str, float], str]:
    """Returns (profile text, seconds per category incl. 'other_python', tool name)."""
    for p in posts[:10]:
        engine.triage([p])
    try:
        from pyinstrument import Profiler
    except ImportError:
        return _cprofile(engine, posts, n)
    profiler = Profiler(interval=0.0005)
    profiler.start()
    for i in range(n):
        engine.triage([posts[i % len(posts)]])
    profiler.stop()
    text = profiler.output_text(unicode=False, color=False, show_all=False)
    session = profiler.last_session
    root = session.root_frame() if session is not None else None
    if root is None:
        return text, {"total": 0.0}, "pyinstrument"
    totals: dict[str, float] = {name: 0.0 for name, _, _ in CATEGORIES}

    def walk(frame: Any) -> None:
        cat = _category(frame.function or "", frame.file_path or "")
        if cat:
            totals[cat] += frame.time
            return
        for child in frame.children:
            walk(child)

    walk(root)
    totals["other_python"] = max(0.0, root.time - sum(totals.values()))
    totals["total"] = root.time
    return text, totals, "pyinstrument"


def _cprofile(engine: Engine, posts: list[PostIn], n: int) -> tuple[str, dict[str, float], str]:
    import cProfile
    import io
    import pstats

    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    for i in range(n):
        engine.triage([posts[i % len(posts)]])
    prof.disable()
    total = time.perf_counter() - t0
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf).sort_stats("cumulative")
    stats.print_stats(40)
    totals = {name: 0.0 for name, _, _ in CATEGORIES}
    for (path, _, fn), (_, _, _, cum, _) in stats.stats.items():  # type: ignore[attr-defined]
        cat = _category(fn, path)
        if cat:
            totals[cat] += cum
    totals["other_python"] = max(0.0, total - sum(totals.values()))
    totals["total"] = total
    return buf.getvalue(), totals, "cProfile"


class _TimedRuntime:
    """Stands in for the model's runtime (OpenVINO or onnxruntime) and times its run()."""

    def __init__(self, inner: Any, acc: dict[str, float]) -> None:
        self._inner, self._acc = inner, acc

    def run(self, *args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return self._inner.run(*args, **kwargs)
        finally:
            self._acc["model_run"] += time.perf_counter() - t0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _timed(fn: Any, acc: dict[str, float], key: str) -> Any:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            acc[key] += time.perf_counter() - t0

    return wrapper


PARTS = ("tokenisation", "model_run", "vector_search", "suggestion_lookup_sqlite", "routing_policy")


def timed_breakdown(engine: Engine, posts: list[PostIn], n: int) -> dict[str, Any]:
    """Per post, inside real Engine.triage calls: timers wrapped around the tokenisation
    (TriageModel.encode: tokenizer + padding into arrays), the model run, the vector search, the
    SQLite lookups of the suggested answers and the routing policy; the rest of the call is
    Python around them (text clean-up, head post-processing, language detection, pydantic
    response objects, metrics). The wrappers are removed afterwards."""
    model, index, store, policy = engine.model, engine.index, engine.store, engine.policy
    acc: dict[str, float] = {k: 0.0 for k in PARTS}
    runtime = model.runtime
    model.encode = _timed(model.encode, acc, "tokenisation")  # type: ignore[method-assign]
    model.runtime = _TimedRuntime(runtime, acc)  # type: ignore[assignment]
    index.search = _timed(index.search, acc, "vector_search")  # type: ignore[method-assign]
    store.get_answer = _timed(store.get_answer, acc, "suggestion_lookup_sqlite")  # type: ignore[method-assign]
    policy.decide = _timed(policy.decide, acc, "routing_policy")  # type: ignore[method-assign]
    parts: dict[str, list[float]] = {k: [] for k in ("engine_triage", *PARTS, "python_other")}
    try:
        for i in range(n + 10):
            for k in acc:
                acc[k] = 0.0
            t0 = time.perf_counter()
            engine.triage([posts[i % len(posts)]])
            total = time.perf_counter() - t0
            if i < 10:
                continue
            parts["engine_triage"].append(total)
            for k in PARTS:
                parts[k].append(acc[k])
            parts["python_other"].append(max(0.0, total - sum(acc.values())))
    finally:
        for obj, name in ((model, "encode"), (index, "search"), (store, "get_answer"), (policy, "decide")):
            obj.__dict__.pop(name, None)
        model.runtime = runtime
    mean = {k: float(np.mean(v)) * 1000 for k, v in parts.items()}
    return {
        "posts": n,
        "method": "timers around the parts inside real Engine.triage calls",
        "mean_ms": {k: round(v, 3) for k, v in mean.items()},
        "share_of_engine_triage": {
            k: round(v / mean["engine_triage"], 3) for k, v in mean.items() if k != "engine_triage"
        },
        "p50_ms": {k: round(float(np.median(v)) * 1000, 3) for k, v in parts.items()},
        "p99_ms": {k: round(float(np.percentile(v, 99)) * 1000, 3) for k, v in parts.items()},
    }


NAMES = {
    "model_run": "the model run",
    "tokenisation": "tokenisation (tokenizer + padding)",
    "vector_search": "the vector search",
    "suggestion_lookup_sqlite": "SQLite lookups of the suggestions",
    "routing_policy": "the routing policy",
    "python_other": "other Python (text clean-up, head post-processing, language detection, pydantic "
    "response objects, metrics)",
}


def summary_paragraph(
    breakdown: dict[str, Any],
    totals: dict[str, float],
    answers: int,
    tool: str,
    search_alone_p50_ms: float | None = None,
) -> str:
    share, ms, p50 = breakdown["share_of_engine_triage"], breakdown["mean_ms"], breakdown["p50_ms"]
    order = sorted(share, key=lambda s: -share[s])
    parts = ", ".join(f"{NAMES[s]} {share[s] * 100:.0f}% ({ms[s]:.2f} ms mean, {p50[s]:.2f} ms p50)" for s in order)
    prof_total = totals.get("total", 0.0) or 1.0
    prof = ", ".join(
        f"{c} {v / prof_total * 100:.0f}%"
        for c, v in sorted(((c, v) for c, v in totals.items() if c != "total" and v > 0), key=lambda x: -x[1])
    )
    text = (
        f"One Engine.triage call on one post over {answers:,} answers takes {ms['engine_triage']:.2f} ms on "
        f"average ({p50['engine_triage']:.2f} ms p50). Timed inside the calls: {parts}. "
        f"The {tool} profile of separate calls gives: {prof}. Dominant: {NAMES[order[0]]}."
    )
    if search_alone_p50_ms is not None and p50["vector_search"] > 3 * search_alone_p50_ms + 0.05:
        text += (
            f" The search costs {p50['vector_search']:.2f} ms p50 inside triage against "
            f"{search_alone_p50_ms:.2f} ms when run alone in a loop (see the what-if rows)."
        )
    return text
