"""Evaluation of issue 14: import a labelled thread export into a fresh store through the service's
import path (embedded by the served model), then score

- retrieval of the imported answers as the service ranks them (recall@1, MRR@10, abstain F1 at the
  model's threshold), for queries that one solved thread answers (`relevant: ["thread:<id>"]`) or
  none does (`relevant: []`);
- expert matching: hit@1 / hit@3 (the query's solving expert among the top 1 / 3 suggested), over the
  queries whose solver can be suggested (klantexperts, members with enough accepted solutions), and
  how often the list is empty for queries no thread answers.

Recency is measured from the export's last post, so results do not depend on the day they are run.
`tune_weights` grid-searches the matching weights on tuning queries (never the evaluation queries).
"""

from __future__ import annotations

import itertools
import tempfile
from dataclasses import asdict, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from eval.retrieval import served_scores
from models.data_io import post_text
from models.inference import TriageModel, passage_text
from models.metrics import retrieval_report
from models.threads import parse_time
from service import matching


def _engine(model: TriageModel, store_path: Path):  # noqa: ANN202 - service.triage.Engine
    from models.index import VectorIndex
    from service.policy import Policy
    from service.settings import DEFAULT_POLICY
    from service.store import Store
    from service.threads import attach
    from service.triage import Engine

    policy = Policy.from_file(DEFAULT_POLICY, model.manifest.label_sets)
    engine = Engine(model, Store(store_path), VectorIndex(model.dim, model.lexical_weight, model.lexical_candidates),
                    policy)
    attach(engine)
    return engine


def export_time(threads: list[dict]) -> datetime:
    return max(t for th in threads for p in th["posts"] if (t := parse_time(p["created_at"])) is not None)


class ExpertEval:
    """Threads imported once into a temporary store; queries embedded once; scored per weight setting."""

    def __init__(self, model: TriageModel, threads: list[dict], queries: list[dict[str, Any]]) -> None:
        from service.threads import import_threads

        self.model = model
        self._tmp = tempfile.TemporaryDirectory(prefix="wegwijzer-experts-")
        self.engine = _engine(model, Path(self._tmp.name) / "store.sqlite3")
        import_threads(self.engine, threads)
        self.threads, self.queries = threads, queries
        self.now = export_time(threads)
        self.preds, self.emb = model.predict([post_text(q) for q in queries])
        self.labels = [{h: p.label for h, p in pred.items()} for pred in self.preds]

    def close(self) -> None:
        self.engine.store.close()
        self._tmp.cleanup()

    def retrieval(self) -> dict[str, Any]:
        answers, _, _ = self.engine.store.all_answers()
        scores, dense = served_scores(self.model, [passage_text(a) for a in answers], [post_text(q) for q in
                                                                                         self.queries])
        relevant = [q["relevant"] for q in self.queries]
        top = dense.max(axis=1) if dense.size else np.zeros(len(self.queries))
        out = dict(retrieval_report(scores, [a["id"] for a in answers], relevant, self.model.retrieval_threshold,
                                    top))
        out["answers"] = len(answers)
        out["answerable"] = sum(1 for r in relevant if r)
        return out

    def experts(self, weights: matching.Weights | None = None) -> dict[str, Any]:
        directory = self.engine.experts
        assert directory is not None
        matchable = {r.id for r in directory.all() if r.matchable}
        hit1 = hit3 = n = empty_ok = n_none = 0
        skipped = 0
        rows = []
        for q, emb, labels in zip(self.queries, self.emb, self.labels, strict=True):
            found = [m.id for m in directory.match(emb, labels, 3, self.now, weights)]
            want = q.get("expert")
            if not q["relevant"]:
                n_none += 1
                empty_ok += not found
            elif want in matchable:
                n += 1
                hit1 += found[:1] == [want]
                hit3 += want in found
            else:
                skipped += 1
            rows.append({"id": q["id"], "expert": want, "found": found, "topic": labels.get("topic"),
                         "product": labels.get("product")})
        return {"n": n, "hit@1": hit1 / max(n, 1), "hit@3": hit3 / max(n, 1),
                "unanswerable": n_none, "empty_when_unanswerable": empty_ok / max(n_none, 1),
                "skipped_not_matchable": skipped, "experts_matchable": len(matchable), "per_query": rows}


def evaluate(model: TriageModel, threads: list[dict], queries: list[dict[str, Any]]) -> dict[str, Any]:
    ev = ExpertEval(model, threads, queries)
    try:
        sim_only = replace(matching.Weights(), product=0.0, topic=0.0, recent=0.0, volume=0.0)
        return {"threads": len(threads), "queries": len(queries), "retrieval": ev.retrieval(),
                "experts": ev.experts(), "experts_similarity_only": ev.experts(sim_only),
                "weights": asdict(matching.Weights()), "now": ev.now.isoformat()}
    finally:
        ev.close()


GRID = {"product": [0.0, 0.01, 0.02, 0.05, 0.1], "topic": [0.0, 0.01, 0.02, 0.05],
        "recent": [0.0, 0.01, 0.03], "volume": [0.0, 0.01, 0.03], "top_k": [1, 2, 3],
        "min_similarity": [0.80, 0.82, 0.84, 0.86, 0.88], "min_label_share": [0.5, 0.75, 1.0, 9.0]}


def tune_weights(model: TriageModel, threads: list[dict], queries: list[dict[str, Any]]) -> dict[str, Any]:
    """Grid search on tuning queries: objective = (hit@1 + hit@3) / 2 on answerable queries, plus the share of
    unanswerable queries that get an empty list, weighted by their share of the queries."""
    ev = ExpertEval(model, threads, queries)
    try:
        results = []
        keys = list(GRID)
        for values in itertools.product(*(GRID[k] for k in keys)):
            w = replace(matching.Weights(), **dict(zip(keys, values, strict=True)))
            r = ev.experts(w)
            share = r["unanswerable"] / max(r["unanswerable"] + r["n"], 1)
            objective = (1 - share) * (r["hit@1"] + r["hit@3"]) / 2 + share * r["empty_when_unanswerable"]
            results.append((objective, r["hit@1"], r["hit@3"], r["empty_when_unanswerable"], asdict(w)))
        results.sort(key=lambda x: (-x[0], -x[1], x[4]["min_similarity"]))
        tied = [r[4] for r in results if r[0] >= results[0][0] - 1e-9]
        # many settings tie on a small tuning set: take the centre of the best region, per parameter the
        # grid value nearest the median over the tied settings
        centre = {k: min(GRID[k], key=lambda v, k=k: abs(v - float(np.median([t[k] for t in tied])))) for k in GRID}
        centre_result = next(r for r in results if all(r[4][k] == centre[k] for k in GRID))
        return {"n": len(queries), "best": results[:10], "tied_best": len(tied), "settings": len(results),
                "centre_of_best": centre, "centre_result": centre_result[:4], "grid": GRID,
                "current": ev.experts()["hit@1"], "current_weights": asdict(matching.Weights())}
    finally:
        ev.close()


def render(result: dict[str, Any]) -> str:
    r, e, s = result["retrieval"], result["experts"], result["experts_similarity_only"]
    lines = ["| imported answers | recall@1 | recall@3 | MRR@10 | abstain F1 | answerable / queries |",
             "| --- | --- | --- | --- | --- | --- |",
             f"| served ranking | {r['recall@1']:.3f} | {r['recall@3']:.3f} | {r['mrr@10']:.3f} | "
             f"{r['abstain_f1']:.3f} | {r['answerable']} / {r['n']} |", "",
             "| expert matching | hit@1 | hit@3 | empty list when no thread answers | queries scored |",
             "| --- | --- | --- | --- | --- |"]
    for name, x in (("served weights", e), ("similarity only", s)):
        lines.append(f"| {name} | {x['hit@1']:.3f} | {x['hit@3']:.3f} | {x['empty_when_unanswerable']:.3f} "
                     f"({x['unanswerable']}) | {x['n']} ({x['skipped_not_matchable']} solved by webcare or "
                     f"occasional members left out) |")
    return "\n".join(lines)
