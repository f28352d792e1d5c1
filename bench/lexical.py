"""Is bm25s better than our hand-written BM25 (`models.lexical.LexicalIndex`) for what the service does?

`python -m bench.lexical [--sizes 10000 100000] [--full-queries 100]` builds knowledge bases of real-looking,
varied answers (`bench/lexical_corpus.py`: the shipped 520 answers, then sentences recombined across answers
of the same topic with numbers, compounds and drops varied) and compares, per size:

- `ours`: `LexicalIndex` (per-document sorted term ids + counts; df, lengths and avgdl updated on every write);
- `bm25s` (numpy backend) and `bm25s-numba` (numba backend), configured to compute exactly our formula:
  our tokenizer, k1 = 1.2, b = 0.75, tf part (k1 + 1)·tf / (tf + k1·(1 − b + b·dl/avgdl)) (bm25s `atire`)
  and idf ln(1 + (N − df + 0.5)/(df + 0.5)) (bm25s `lucene`);
- `bm25s-gather`: bm25s's precomputed (term, document) score matrix read for the candidates only
  (one `searchsorted` per query term in its public CSC arrays), the best case for its data layout.

Measured: build time (from texts, tokenizing included) and the memory the built index keeps and its peak
during the build (tracemalloc, in a forked child); per-query latency of what the service does, BM25 of 100
candidate slots (the 100 best BM25 documents of the query, standing in for its dense neighbours, and 100
random slots) and of a full top-10 over the whole index (the offline path); one insert and one delete
(bm25s has no incremental update: its cost is a rebuild from already tokenized documents, which its
precomputed scores need after every write, since N, avgdl and df change); and ranking agreement with ours
(same scores, same top-10 order) for the exact configuration and for bm25s out of the box (its tokenizer
with Dutch stopwords, k1 = 1.5, `lucene`). Queries are the test split's posts as the service sees them
(title + body). Writes bench/lexical_results.json and prints a table.
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing as mp
import os
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from bench import environment, workload
from bench.lexical_corpus import describe, synthesise
from bench.stats import say, summary_ms
from models.lexical import LexicalIndex, tokenize
from models.textprep import clean_text

os.environ.setdefault("DISABLE_TQDM", "1")
K1, B = 1.2, 0.75
CANDIDATES = 100
TOP = 10
_JIT_COMPILED: list[bool] = []  # set once numba's functions were compiled in this process


class Ours:
    name = "ours"

    def build(self, texts: list[str]) -> None:
        self.index = LexicalIndex(K1, B)
        for slot, text in enumerate(texts):
            self.index.set(slot, text)
        self.every = np.arange(len(texts))

    def candidates(self, query: str, slots: np.ndarray) -> np.ndarray:
        return self.index.scores_for(query, slots)

    def full(self, query: str) -> np.ndarray:
        return self.index.scores_for(query, self.every)

    def top(self, query: str, k: int) -> np.ndarray:
        return top_k(self.full(query), k)


class Bm25s:
    """bm25s computing our BM25: our tokenizer, k1, b, tf part (`atire`) and idf (`lucene`)."""

    def __init__(self, backend: str = "numpy") -> None:
        self.backend = backend
        self.name = "bm25s" if backend == "numpy" else f"bm25s-{backend}"

    def new(self) -> Any:
        import bm25s

        return bm25s.BM25(k1=K1, b=B, method="atire", idf_method="lucene", backend=self.backend)

    def build(self, texts: list[str]) -> None:
        self.tokens = [tokenize(t) for t in texts]
        self.index_tokens(self.tokens)

    def index_tokens(self, tokens: list[list[str]]) -> None:
        self.retriever = self.new()
        self.retriever.index(tokens, show_progress=False)

    def full(self, query: str) -> np.ndarray:
        toks = tokenize(query)
        if not toks:
            return np.zeros(self.retriever.scores["num_docs"], dtype=np.float32)
        return self.retriever.get_scores(toks)

    def candidates(self, query: str, slots: np.ndarray) -> np.ndarray:
        return self.full(query)[slots]

    def top(self, query: str, k: int) -> np.ndarray:
        toks = tokenize(query) or [""]
        return self.retriever.retrieve([toks], k=k, show_progress=False, n_threads=0).documents[0]


class Bm25sGather(Bm25s):
    """bm25s's precomputed score matrix (CSC: per term, sorted document ids and scores), read for the
    candidate documents only instead of scoring every document."""

    def __init__(self) -> None:
        super().__init__("numpy")
        self.name = "bm25s-gather"

    def candidates(self, query: str, slots: np.ndarray) -> np.ndarray:
        vocab, m = self.retriever.vocab_dict, self.retriever.scores
        out = np.zeros(len(slots), dtype=np.float32)
        slots = np.asarray(slots, dtype=m["indices"].dtype)
        for term in tokenize(query):
            t = vocab.get(term)
            if t is None:
                continue
            docs = m["indices"][m["indptr"][t]:m["indptr"][t + 1]]
            pos = np.minimum(np.searchsorted(docs, slots), len(docs) - 1)
            found = docs[pos] == slots
            out[found] += m["data"][m["indptr"][t] + pos[found]]
        return out


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    k = min(k, len(scores))
    part = np.argpartition(-scores, k - 1)[:k]
    return part[np.argsort(-scores[part], kind="stable")]


def _memory_child(make: Callable[[], Any], texts: list[str], out: Any) -> None:
    import tracemalloc

    gc.collect()
    tracemalloc.start()
    impl = make()
    impl.build(texts)
    if hasattr(impl, "tokens"):
        del impl.tokens  # what the index keeps, not the token lists it was built from
    gc.collect()
    kept, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    row = {"kept_mb": round(kept / 2**20, 1), "build_peak_mb": round(peak / 2**20, 1)}
    if hasattr(impl, "retriever"):
        m = impl.retriever.scores
        row["array_mb"] = round(sum(m[k].nbytes for k in ("data", "indices", "indptr")) / 2**20, 1)
    out.put(row)


def memory(make: Callable[[], Any], texts: list[str]) -> dict[str, Any]:
    """Memory a built index keeps and its peak while building, by tracemalloc (Python objects and numpy
    buffers; unlike an RSS delta it cannot be hidden by memory that earlier builds freed), in a forked
    child so that tracing slows no timed step."""
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_memory_child, args=(make, texts, q))
    p.start()
    row = q.get()
    p.join()
    return row


def timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def agreement(ours: list[np.ndarray], other: list[np.ndarray], scale: float | None = 1.0) -> dict[str, Any]:
    """How far `other`'s scores (x scale) are from ours, and whether the top-10 matches; scale None: the
    scores are on another scale, only the rankings compare."""
    same_order = same_set = same_scores = top1 = 0
    overlap = 0.0
    diff = 0.0
    for a, b in zip(ours, other, strict=True):
        ta, tb = top_k(a, TOP), top_k(b, TOP)
        same_order += int(np.array_equal(ta, tb))
        same_set += int(set(ta.tolist()) == set(tb.tolist()))
        overlap += len(set(ta.tolist()) & set(tb.tolist())) / TOP
        top1 += int(ta[0] == tb[0])
        if scale is not None:
            diff = max(diff, float(np.max(np.abs(a.astype(np.float64) - scale * b.astype(np.float64)))))
            same_scores += int(np.allclose(a[ta], scale * b[tb], rtol=1e-5, atol=1e-5))  # ties may swap documents
    n = len(ours)
    return {"queries": n, "max_abs_score_diff": float(f"{diff:.3g}") if scale is not None else None,
            "top10_same_order": round(same_order / n, 4), "top10_same_set": round(same_set / n, 4),
            "top10_same_scores_by_rank": round(same_scores / n, 4) if scale is not None else None,
            "top10_mean_overlap": round(overlap / n, 4), "top1_same": round(top1 / n, 4)}


def out_of_the_box(texts: list[str], queries: list[str]) -> list[np.ndarray]:
    """bm25s as its README sets it up for Dutch: its tokenizer with Dutch stopwords, k1 = 1.5, `lucene`."""
    import bm25s

    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(texts, stopwords="nl", return_ids=False, show_progress=False),
                    show_progress=False)
    qt = bm25s.tokenize(queries, stopwords="nl", return_ids=False, show_progress=False)
    return [retriever.get_scores(t) if t else np.zeros(len(texts), dtype=np.float32) for t in qt]


def writes(impl: Any, n: int, spare: list[str], rebuilds: int) -> dict[str, Any]:
    """Cost of one insert and one delete on a built index of `n` documents."""
    if isinstance(impl, Ours):
        index = impl.index
        ins = [timed(partial(index.set, n + j, t)) for j, t in enumerate(spare)]
        dele = [timed(partial(index.remove, n + j)) for j in range(len(spare))]
        return {"insert": summary_ms(ins), "delete": summary_ms(dele)}
    tokens, new = impl.tokens, tokenize(spare[0])
    ins = [timed(lambda: impl.index_tokens(tokens + [new])) for _ in range(rebuilds)]
    dele = [timed(lambda: impl.index_tokens(tokens[1:])) for _ in range(rebuilds)]
    return {"insert": summary_ms(ins), "delete": summary_ms(dele),
            "insert_delete_note": "full rebuild from the cached token lists (no incremental update)"}


def interleaved(impls: list[Any], call: Callable[[Any, int], Any], n: int, warmup: int = 3) -> dict[str, list[float]]:
    """Seconds per call for each implementation, the implementations taking turns on each query so that
    other load on the machine falls on all of them alike."""
    for i in range(min(warmup, n)):
        for impl in impls:
            call(impl, i)
    out: dict[str, list[float]] = {impl.name: [] for impl in impls}
    for i in range(n):
        for impl in impls:
            out[impl.name].append(timed(partial(call, impl, i)))
    return out


def score_candidates(queries: list[str], slots: list[np.ndarray], impl: Any, i: int) -> np.ndarray:
    return impl.candidates(queries[i], slots[i])


def full_top(queries: list[str], impl: Any, i: int) -> np.ndarray:
    return impl.top(queries[i], TOP)


def run_size(texts: list[str], spare: list[str], queries: list[str], full_queries: int, rebuilds: int,
             seed: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    n, nq = len(texts), min(full_queries, len(queries))
    impls: list[Any] = [Ours(), Bm25s("numpy"), Bm25sGather()]
    rows = {impl.name: {"answers": n, "impl": impl.name} for impl in impls}
    try:
        import numba  # noqa: F401

        numba_impl = Bm25s("numba")  # compile its JIT functions first: a cost paid once per process
        warm = Bm25s("numba")

        def first_use() -> None:
            warm.build(texts[:50])
            warm.top(queries[0], TOP)
            warm.full(queries[0])

        compile_s = timed(first_use)
        impls.append(numba_impl)
        rows[numba_impl.name] = {"answers": n, "impl": numba_impl.name}
        if not _JIT_COMPILED:  # later sizes reuse the compiled functions: their warm-up is no compile time
            rows[numba_impl.name]["jit_compile_s"] = round(compile_s, 2)
            _JIT_COMPILED.append(True)
    except ImportError:
        say("numba not installed: no bm25s-numba row")
    for impl in impls:
        gc.collect()
        rows[impl.name]["build_s"] = round(timed(partial(impl.build, texts)), 2)
        say(f"{n:>7} {impl.name:<13} built in {rows[impl.name]['build_s']} s")
    rng = np.random.default_rng(seed)
    cands = {"lexical": [impls[1].top(q, CANDIDATES) for q in queries],  # stand-ins for the dense neighbours
             "random": [rng.choice(n, CANDIDATES, replace=False) for _ in queries]}
    for kind, slots in cands.items():
        times = interleaved(impls, partial(score_candidates, queries, slots), len(queries))
        for name, t in times.items():
            rows[name][f"candidates_{kind}"] = summary_ms(t)
    for name, t in interleaved(impls, partial(full_top, queries), nq, warmup=2).items():
        rows[name]["full_top10"] = summary_ms(t)
    cand_scores = {m.name: [m.candidates(q, c) for q, c in zip(queries, cands["lexical"], strict=True)] for m in impls}
    full_scores = {m.name: [m.full(q) for q in queries[:nq]] for m in impls}
    for impl in impls:
        if impl.name != "bm25s-gather":  # its writes are bm25s's
            rows[impl.name].update(writes(impl, n, spare, rebuilds))
    del impls
    gc.collect()
    for impl_name, mk in (("ours", Ours), ("bm25s", lambda: Bm25s("numpy"))):
        mem = memory(mk, texts)
        for name, row in rows.items():
            if name == impl_name or (impl_name == "bm25s" and name.startswith("bm25s")):
                row.update(mem)
    agree: dict[str, Any] = {"answers": n}
    for name in full_scores:
        if name not in ("ours", "bm25s-gather"):  # bm25s-gather's full scores are bm25s's
            agree[f"{name} (full scores)"] = agreement(full_scores["ours"], full_scores[name])
    for name in ("bm25s", "bm25s-gather"):
        agree[f"{name} (candidate scores)"] = agreement(cand_scores["ours"], cand_scores[name])
    import bm25s

    lucene = bm25s.BM25(k1=K1, b=B, method="lucene")  # bm25s's default tf part: ours / (k1 + 1)
    lucene.index([tokenize(t) for t in texts], show_progress=False)
    agree["bm25s method=lucene, k1=1.2 (scores x (k1+1))"] = agreement(
        full_scores["ours"], [lucene.get_scores(tokenize(q) or [""]) for q in queries[:nq]], scale=K1 + 1)
    del lucene
    agree["bm25s out of the box (its tokenizer, Dutch stopwords, k1=1.5)"] = agreement(
        full_scores["ours"], out_of_the_box(texts, queries[:nq]), scale=None)
    for row in rows.values():
        say(json.dumps(row))
    say(json.dumps(agree))
    return list(rows.values()), agree


def fmt(row: dict[str, Any], key: str) -> str:
    v = row.get(key)
    if isinstance(v, dict):
        return f"{v['p50_ms']:g} / {v['p99_ms']:g}"
    if isinstance(v, float | int):
        return f"{v:g}"
    return "–" if v is None else str(v)


def table(rows: list[dict[str, Any]], agree: list[dict[str, Any]]) -> str:
    head = ["answers", "impl", "build s", "kept MB", "build peak MB", "100 cand. ms p50/p99 (lexical)",
            "100 cand. ms p50/p99 (random)", "full top-10 ms p50/p99", "insert ms p50/p99", "delete ms p50/p99"]
    keys = ["answers", "impl", "build_s", "kept_mb", "build_peak_mb", "candidates_lexical",
            "candidates_random", "full_top10", "insert", "delete"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    lines += ["| " + " | ".join(fmt(r, k) for k in keys) + " |" for r in rows]
    lines += ["", "| answers | compared with ours | queries | max abs score diff | top-10 same order | same set | "
              "same scores by rank | mean top-10 overlap | top-1 same |", "|" + " --- |" * 9]
    for a in agree:
        for name, v in a.items():
            if isinstance(v, dict):
                lines.append(f"| {a['answers']} | {name} | {v['queries']} | {v['max_abs_score_diff']} | "
                             f"{v['top10_same_order']} | {v['top10_same_set']} | {v['top10_same_scores_by_rank']} | "
                             f"{v['top10_mean_overlap']} | {v['top1_same']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.lexical", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--full-queries", type=int, default=100, help="queries for full top-10 and agreement")
    ap.add_argument("--writes", type=int, default=100, help="inserts and deletes timed on ours")
    ap.add_argument("--rebuilds", type=int, default=2, help="bm25s rebuilds timed per insert and per delete")
    ap.add_argument("--out", type=Path, default=Path("bench/lexical_results.json"))
    args = ap.parse_args(argv)
    from models.data_io import load_answers

    shipped = load_answers(workload.KB)
    posts = workload.load_posts()
    queries = [f"{clean_text(p.get('title') or '')}\n{clean_text(p['body'])}".strip() for p in posts]
    load = environment.BackgroundLoad()
    all_texts = synthesise(shipped, max(args.sizes) + args.writes, workload.SEED)
    rows, agree, corpora = [], [], []
    for size in sorted(args.sizes):
        texts = all_texts[:size]
        corpora.append(describe(texts, len(shipped)))
        say(json.dumps(corpora[-1]))
        r, a = run_size(texts, all_texts[-args.writes:], queries, args.full_queries, args.rebuilds, workload.SEED)
        rows += r
        agree.append(a)
    from models.artifact import library_versions

    result = {
        "what": "BM25 for the service: ours (models.lexical.LexicalIndex) against bm25s; see bench/lexical.py",
        "queries": {"n": len(queries), "source": str(workload.POSTS), "full_top10_and_agreement": args.full_queries},
        "candidates": CANDIDATES,
        "corpus_method": (sys.modules["bench.lexical_corpus"].__doc__ or "").strip(),
        "corpora": corpora,
        "results": rows,
        "agreement": agree,
        "environment": {"cpu_model": environment.cpu_model(), "usable_cpus": len(os.sched_getaffinity(0)),
                        "other_cpu_load_cores": load.cores(),
                        "versions": library_versions(("numpy", "bm25s", "numba", "scipy"))},
    }
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(table(rows, agree))
    return 0


if __name__ == "__main__":
    sys.exit(main())
