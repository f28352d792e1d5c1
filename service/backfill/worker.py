"""The backfill's triage worker: the service's own Engine (model, policy, knowledge-base index, experts
and response history read from the store) loaded once per worker, so a post gets what
`POST /v1/triage/batch` answers. Nothing is written to the store and no incident is tracked: a
backfill re-tags history, it is not live traffic."""

from __future__ import annotations

import resource
from typing import Any

import numpy as np

from models.index import VectorIndex
from models.inference import TriageModel, passage_text
from service.policy import Policy
from service.schemas import PostIn, TriageOut
from service.settings import Settings
from service.store import Store
from service.threads import attach
from service.triage import Engine


def open_engine(model_dir: str, store_url: str, threads: int = 1) -> Engine:
    settings = Settings(model_dir=model_dir, store_url=store_url, auth_enabled=False, seed_kb=None,
                        intra_threads=threads)
    model = TriageModel.from_settings(settings)
    store = Store(settings.store)
    index = VectorIndex(model.dim, model.lexical_weight, model.lexical_candidates, settings.ann)
    engine = Engine(model, store, index, Policy.from_file(settings.policy_path, model.manifest.label_sets),
                    settings.max_suggestions)
    rows, emb, shas = store.all_answers()
    if rows and not all(map(model.embedding_current, shas)):  # another embedding than this model's
        emb = model.embed_passages([passage_text(a) for a in rows])  # in memory only: the store is not changed
    index.rebuild([a["id"] for a in rows], emb if rows else np.zeros((0, model.dim), np.float32),
                  [{"product": a.get("product"), "topic": a.get("topic")} for a in rows],
                  [passage_text(a) for a in rows])
    attach(engine)
    return engine


def flatten(out: TriageOut) -> dict[str, Any]:
    """One output row: per head (the model's `route` head too) its label, confidence and uncertainty; the
    routing decision (`route_target`, reasons); top suggestions; experts; the model version."""
    row: dict[str, Any] = {}
    for head, h in out.labels.items():
        row[head] = h.label
        row[f"{head}_confidence"] = h.confidence
        row[f"{head}_uncertain"] = h.uncertain
    row.update(language=out.language, route_target=out.route.target, route_reasons=list(out.route.reasons),
               route_fallback=out.route.fallback, expected_response=out.route.expected_response,
               experts=[e.id for e in out.route.experts or []],
               suggestion_ids=[s.answer_id for s in out.suggestions],
               suggestion_scores=[float(s.score) for s in out.suggestions],
               suggestion_answerability=[s.answerability for s in out.suggestions], model_version=out.model_version)
    return row


class TriageWorker:
    """A Ray Data `map_batches` callable class: one per worker, the model loaded once."""

    def __init__(self, model_dir: str, store_url: str, threads: int = 1) -> None:
        self.engine = open_engine(model_dir, store_url, threads)

    def __call__(self, batch: dict[str, Any]) -> Any:  # -> pyarrow.Table
        import pyarrow as pa

        posts = [PostIn.model_validate_json(str(p)) for p in batch["post"]]
        rows = [{"partition": int(part), "source": str(src), "line": int(line),
                 "post_id": None if pid is None else str(pid), **flatten(o)}
                for part, src, line, pid, o in zip(batch["partition"], batch["source"], batch["line"],
                                                   batch["post_id"], self.engine.triage(posts), strict=True)]
        return pa.Table.from_pylist(rows)

    def peak_rss_mb(self) -> float:
        """Peak resident memory of this worker process (Linux ru_maxrss is in KiB)."""
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
