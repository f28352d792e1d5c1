"""Import of forum thread exports into the service: idempotently by thread_id, every solved thread
becomes (or updates) the knowledge-base answer `thread:<thread_id>`, embedded and searchable when
the call returns; a thread whose solution was un-accepted loses its answer. The thread's timings,
labels and solver are kept (no message text, no asker identity) for the expert records and the
expected-response figures. Validation and conversion: models/threads.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from models.threads import ThreadFacts, answer_id, thread_answer, thread_facts
from service.db import changes
from service.experts import ExpertDirectory
from service.history import ResponseHistory
from service.routers.answers import write_answers
from service.store import now_iso

if TYPE_CHECKING:
    from service.triage import Engine

CHUNK = 256  # answers embedded and committed per step
THREAD_COLUMNS = ("thread_id", "content_sha256", "created_at", "route", "topic", "product", "labelled",
                  "first_answer_s", "solution_s", "answer_id", "solver_id", "solver_role", "solver_reply_s",
                  "solver_last_at", "imported_at")
UPSERT_THREAD = (f"INSERT INTO threads ({', '.join(THREAD_COLUMNS)}) VALUES ({','.join('?' * len(THREAD_COLUMNS))}) "
                 f"ON CONFLICT (thread_id) DO UPDATE SET {', '.join(f'{c}=excluded.{c}' for c in THREAD_COLUMNS[1:])}")


@dataclass
class ImportResult:
    threads: int = 0
    unchanged: int = 0
    answers_written: int = 0
    answers_removed: int = 0
    experts: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"threads": self.threads, "unchanged": self.unchanged, "answers_written": self.answers_written,
                "answers_removed": self.answers_removed, "experts": self.experts}


def attach(engine: Engine) -> None:
    """Give the engine its expert directory and response history (call after the index is loaded)."""
    engine.experts = ExpertDirectory(engine.store, engine.index.dim)
    engine.experts.load()
    engine.history = ResponseHistory(engine.store)


def _known(engine: Engine, ids: list[str]) -> dict[str, tuple[str, str | None]]:
    out: dict[str, tuple[str, str | None]] = {}
    for i in range(0, len(ids), 500):
        part = ids[i:i + 500]
        rows = engine.store.query(f"SELECT thread_id, content_sha256, answer_id FROM threads WHERE thread_id IN "
                                  f"({','.join('?' * len(part))})", tuple(part))
        out.update({r[0]: (r[1], r[2]) for r in rows})
    return out


def _predicted_labels(engine: Engine, threads: list[dict]) -> list[dict[str, str]]:
    """Topic, product and route of unlabelled questions, from the served model."""
    texts = [engine.text_of(t.get("title") or "", t["posts"][0]["body"]) for t in threads]
    out: list[dict[str, str]] = []
    for i in range(0, len(texts), CHUNK):
        preds, _ = engine.model.predict(texts[i:i + CHUNK])
        out.extend({h: p.label for h, p in pred.items()} for pred in preds)
    return out


def import_threads(engine: Engine, threads: list[dict]) -> ImportResult:
    """Import validated threads (models.threads.check_threads); unchanged threads are skipped."""
    facts = [thread_facts(t) for t in threads]
    known = _known(engine, [f.thread_id for f in facts])
    changed = [i for i, f in enumerate(facts) if known.get(f.thread_id, ("", None))[0] != f.content_sha256]
    result = ImportResult(threads=len(threads), unchanged=len(threads) - len(changed))
    unlabelled = [i for i in changed if facts[i].labels is None]
    labels = {i: facts[i].labels or {} for i in changed}
    for i, pred in zip(unlabelled, _predicted_labels(engine, [threads[i] for i in unlabelled]), strict=True):
        labels[i] = pred

    solved = [i for i in changed if facts[i].solver_id is not None]
    answers = [thread_answer(threads[i]) for i in solved]
    for start in range(0, len(solved), CHUNK):
        part = [a for a in answers[start:start + CHUNK] if a is not None]
        emb = write_answers(engine, part)
        ids = solved[start:start + CHUNK]
        if engine.experts is not None:
            engine.experts.set_solutions([facts[i].thread_id for i in ids], [facts[i].solver_id or "" for i in ids],
                                         [a["title"] for a in part], emb)
    result.answers_written = len(solved)

    removed = [facts[i].thread_id for i in changed
               if facts[i].solver_id is None and known.get(facts[i].thread_id, ("", None))[1]]
    for tid in removed:
        engine.store.delete_answer(answer_id(tid))
        engine.index.delete(answer_id(tid))
    if engine.experts is not None:
        engine.experts.remove_solutions(removed)
    result.answers_removed = len(removed)

    _write_rows(engine, [facts[i] for i in changed], [labels[i] for i in changed])
    result.experts = sorted({facts[i].solver_id for i in solved if facts[i].solver_id})
    if engine.experts is not None:
        engine.experts.refresh()
    if engine.history is not None:
        engine.history.refresh()
    return result


def _write_rows(engine: Engine, facts: list[ThreadFacts], labels: list[dict[str, str]]) -> None:
    now = now_iso()
    rows = [(f.thread_id, f.content_sha256, f.created_at, lab.get("route"), lab.get("topic"), lab.get("product"),
             int(f.labels is not None), f.first_answer_s, f.solution_s,
             answer_id(f.thread_id) if f.solver_id else None, f.solver_id, f.solver_role, f.solver_reply_s,
             f.solver_last_at, now) for f, lab in zip(facts, labels, strict=True)]
    people = {f.solver_id: (f.solver_name, f.solver_role) for f in facts if f.solver_id}
    with engine.store.transaction() as c:
        c.executemany(UPSERT_THREAD, rows)
        c.executemany("INSERT INTO experts (id, name, role, updated_at) VALUES (?,?,?,?) ON CONFLICT(id) DO UPDATE "
                      "SET role=excluded.role, "
                      "name=CASE WHEN experts.name_by_hand=1 THEN experts.name ELSE excluded.name END, "
                      "updated_at=excluded.updated_at",
                      [(pid, name, role, now) for pid, (name, role) in people.items()])
        engine.store.record_change(c, changes.THREADS, ["import"])  # replicas reload experts and history


def open_engine(model_dir: str | None, store_path: str | None, threads: int = 2) -> Engine:
    """An engine on a store without the web app (for `python -m training import-threads`): the served
    model embeds the answers, the store is the service's (default: the service settings)."""
    from models.index import VectorIndex
    from models.inference import TriageModel
    from service.policy import Policy
    from service.settings import Settings
    from service.store import Store
    from service.triage import Engine

    overrides: dict[str, Any] = {"auth_enabled": False, "intra_threads": threads}
    if model_dir:
        overrides["model_dir"] = model_dir
    if store_path:  # a path or a store URL
        overrides["store_url"] = store_path
    settings = Settings(**overrides)
    model = TriageModel.from_settings(settings)
    store = Store(settings.store)
    engine = Engine(model, store, VectorIndex(model.dim, model.lexical_weight, model.lexical_candidates),
                    Policy.from_file(settings.policy_path, model.manifest.label_sets))
    attach(engine)
    return engine
