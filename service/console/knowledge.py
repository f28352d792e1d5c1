"""Knowledge base: search (the API's retrieval), list, view, add, edit and delete answers (admin)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import ValidationError

from service.console.access import Viewer, checked_form, need
from service.console.problems import Problem
from service.console.render import page, redirect, web_link
from service.deps import EngineDep
from service.routers.answers import remove_answer, write_answers
from service.schemas import ID_PATTERN, AnswerIn
from service.suggest import candidates_needed, score_hits, select
from service.triage import Engine

router = APIRouter(prefix="/console", include_in_schema=False)
KbViewer = Annotated[Viewer, Depends(need("answers"))]
SEARCH_RESULTS = 10
LIST_PAGE = 50
MAX_QUERY_CHARS = 500
FIELDS = ("title", "question", "answer", "topic", "product", "url")


def search(engine: Engine, query: str, k: int = SEARCH_RESULTS) -> list[dict[str, Any]]:
    """The API's retrieval (service.suggest: dense cosine + BM25, then answerability when the model has
    it), showing every candidate, not only the suggested ones; `fits` marks what triage would suggest."""
    text = engine.text_of("", query)
    preds, emb = engine.model.predict([text])
    answerability = engine.model.answerability
    hits = engine.index.search(emb, candidates_needed(answerability, k), None, [text])[0]
    scored = score_hits(hits, preds[0], answerability)
    kept = {s.hit.answer_id for s in select(scored, answerability, engine.model.retrieval_threshold, k)}
    if answerability is not None and answerability.rerank:
        scored.sort(key=lambda s: -(s.answerability or 0.0))
    out = []
    for s in scored[:k]:
        answer = engine.store.get_answer(s.hit.answer_id)
        if answer is not None:
            out.append({**answer, "score": s.hit.score, "answerability": s.answerability,
                        "fits": s.hit.answer_id in kept})
    return out


def list_page(engine: Engine, after: str, limit: int = LIST_PAGE) -> list[dict[str, Any]]:
    rows = engine.store.query("SELECT id, title, topic, product, updated_at FROM answers WHERE id>? ORDER BY id "
                              "LIMIT ?", (after, limit))
    return [dict(zip(("id", "title", "topic", "product", "updated_at"), r, strict=True)) for r in rows]


@router.get("/kb")
def knowledge_base(request: Request, viewer: KbViewer, engine: EngineDep) -> Response:
    query = (request.query_params.get("q") or "").strip()
    after = request.query_params.get("after") or ""
    if len(query) > MAX_QUERY_CHARS:
        return page(request, viewer, "error.html", 422, title="Zoekvraag te lang", back="/console/kb",
                    problems=[Problem("q", f"{len(query)} tekens; de grens is {MAX_QUERY_CHARS}")])
    results = search(engine, query) if query else None
    listing = [] if query else list_page(engine, after, LIST_PAGE + 1)
    more = listing[LIST_PAGE - 1]["id"] if len(listing) > LIST_PAGE else None
    deleted = request.query_params.get("verwijderd")
    return page(request, viewer, "kb.html", active="kb", query=query, results=results, listing=listing[:LIST_PAGE],
                more=more, total=engine.store.count_answers(), threshold=engine.model.suggestion_threshold,
                answerability=engine.model.answerability is not None,
                deleted=deleted if deleted and re.fullmatch(ID_PATTERN, deleted) else None)


def load_answer(engine: Engine, answer_id: str) -> dict[str, Any] | None:
    return engine.store.get_answer(answer_id) if re.fullmatch(ID_PATTERN, answer_id) else None


def not_found(request: Request, viewer: Viewer) -> Response:
    return page(request, viewer, "error.html", 404, title="Antwoord niet gevonden", back="/console/kb",
                problems=[Problem("answer_id", "geen antwoord met deze id in de kennisbank")])


def form_page(request: Request, viewer: Viewer, engine: Engine, values: dict[str, Any], new: bool,
              status_code: int = 200, problems: list[Problem] | None = None) -> Response:
    sets = engine.model.manifest.label_sets
    return page(request, viewer, "kb_form.html", status_code, active="kb", values=values, new=new,
                problems=problems or [], topics=sets.get("topic", []), products=sets.get("product", []))


@router.get("/kb/add")
def add_form(request: Request, viewer: KbViewer, engine: EngineDep) -> Response:
    return form_page(request, viewer, engine, {}, new=True)


@router.get("/kb/a/{answer_id}")
def show_answer(answer_id: str, request: Request, viewer: KbViewer, engine: EngineDep) -> Response:
    answer = load_answer(engine, answer_id)
    if answer is None:
        return not_found(request, viewer)
    saved = request.query_params.get("opgeslagen") == "1"
    return page(request, viewer, "kb_answer.html", active="kb", answer=answer, saved=saved)


@router.get("/kb/a/{answer_id}/edit")
def edit_form(answer_id: str, request: Request, viewer: KbViewer, engine: EngineDep) -> Response:
    answer = load_answer(engine, answer_id)
    return not_found(request, viewer) if answer is None else form_page(request, viewer, engine, answer, new=False)


def checked_answer(engine: Engine, values: dict[str, str]) -> tuple[dict[str, Any] | None, list[Problem]]:
    problems = []
    sets = engine.model.manifest.label_sets
    for head in ("topic", "product"):
        if values.get(head) and head in sets and values[head] not in sets[head]:
            problems.append(Problem(head, f"{values[head]!r} is geen waarde van {head}"))
    url = values.get("url", "").strip()
    if url and web_link(url) is None:
        problems.append(Problem("url", "een link begint met https:// of http://"))
    try:
        answer = AnswerIn(**{k: values[k] for k in FIELDS if values.get(k, "").strip()})
    except ValidationError as exc:
        problems += [Problem(".".join(str(p) for p in e["loc"]) or "formulier", e["msg"]) for e in exc.errors()]
        return None, problems
    return (None, problems) if problems else (answer.model_dump(exclude_none=True), [])


@router.post("/kb/add")
async def add_answer(request: Request, viewer: KbViewer, engine: EngineDep) -> Response:
    form = await checked_form(request, viewer)
    values = {k: str(v) for k, v in form.items() if k != "csrf_token"}
    answer_id = values.get("id", "").strip()
    values["id"] = answer_id
    answer, problems = checked_answer(engine, values)
    if not re.fullmatch(ID_PATTERN, answer_id):
        problems.insert(0, Problem("id", "1 tot 128 tekens: letters, cijfers en . _ : - (begin met een letter of "
                                         "cijfer), bijvoorbeeld kb-0042"))
    elif engine.store.get_answer(answer_id) is not None:
        problems.insert(0, Problem("id", f"er is al een antwoord {answer_id}; kies een andere id of bewerk dat"))
        return form_page(request, viewer, engine, values, True, 409, problems)
    if problems or answer is None:
        return form_page(request, viewer, engine, values, True, 422, problems)
    write_answers(engine, [{**answer, "id": answer_id}])
    return redirect(request, viewer, f"/console/kb/a/{answer_id}?opgeslagen=1")


@router.post("/kb/a/{answer_id}/edit")
async def save_answer(answer_id: str, request: Request, viewer: KbViewer, engine: EngineDep) -> Response:
    form = await checked_form(request, viewer)
    existing = load_answer(engine, answer_id)
    if existing is None:
        return not_found(request, viewer)
    values = {k: str(v) for k, v in form.items() if k != "csrf_token"}
    answer, problems = checked_answer(engine, values)
    if problems or answer is None:
        return form_page(request, viewer, engine, {**values, "id": answer_id}, False, 422, problems)
    # fields the console does not edit (an import's extra fields) are kept; updated_at becomes now
    kept = {k: v for k, v in existing.items() if k not in (*FIELDS, "updated_at")}
    write_answers(engine, [{**kept, **answer, "id": answer_id}])
    return redirect(request, viewer, f"/console/kb/a/{answer_id}?opgeslagen=1")


@router.post("/kb/a/{answer_id}/delete")
async def delete_answer(answer_id: str, request: Request, viewer: KbViewer, engine: EngineDep) -> Response:
    await checked_form(request, viewer)
    if load_answer(engine, answer_id) is None:
        return not_found(request, viewer)
    remove_answer(engine, answer_id)
    return redirect(request, viewer, f"/console/kb?verwijderd={answer_id}")
