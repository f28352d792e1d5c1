"""Post: one logged post as it was triaged, with the actions correct, mark as solved and copy a reply."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError

from service import triage_log
from service.console.access import Viewer, checked_form
from service.console.inbox import InboxViewer
from service.console.problems import Problem
from service.console.render import page, redirect
from service.deps import EngineDep
from service.incidents import IncidentNotFound
from service.routers.feedback import FeedbackProblem, write_feedback
from service.schemas import ID_PATTERN, FeedbackIn, Message
from service.triage import Engine
from service.triage_log import LoggedPost

router = APIRouter(prefix="/console", include_in_schema=False)
FEEDBACK_ROLES = ("webcare", "moderator")  # who corrects in the console (FeedbackIn.role)


def default_role(viewer: Viewer) -> str:
    return "webcare" if viewer.role == "webcare" else "moderator"


def heads_of(engine: Engine, post: LoggedPost) -> list[dict[str, Any]]:
    """Every head: the logged label and confidence, and the alternatives when the response was kept."""
    answered = (post.result or {}).get("labels", {})
    out = []
    for head, labels in engine.model.manifest.label_sets.items():
        logged = post.labels.get(head, {})
        res = answered.get(head, {})
        out.append({"head": head, "labels": labels, "label": logged.get("label"),
                    "confidence": logged.get("confidence"), "uncertain": bool(res.get("uncertain", logged.get(
                        "uncertain", False))), "alternatives": res.get("alternatives", [])})
    return out


def suggestions_of(engine: Engine, post: LoggedPost) -> list[dict[str, Any]]:
    out = []
    for s in (post.result or {}).get("suggestions", []):
        answer_id = s.get("answer_id", "")
        is_status = answer_id.startswith("incident:")
        answer = None if is_status else engine.store.get_answer(answer_id)
        reply = s.get("passage", "") if is_status else (answer or {}).get("answer")
        out.append({**s, "is_status": is_status, "exists": is_status or answer is not None, "reply": reply})
    return out


def incident_of(engine: Engine, post: LoggedPost) -> Any:
    if post.incident_id is None or engine.incidents is None:
        return None
    try:
        return engine.incidents.get_row(post.incident_id)
    except IncidentNotFound:
        return None  # purged after the retention period


def post_page(request: Request, viewer: Viewer, engine: Engine, post: LoggedPost, status_code: int = 200,
              problems: list[Problem] | None = None, form: dict[str, str] | None = None) -> Response:
    route = (post.result or {}).get("route") or {"target": post.route, "reasons": post.reasons}
    heads = heads_of(engine, post)
    chosen = {h["head"]: h["label"] for h in heads}
    chosen["route"] = post.route
    chosen["role"] = default_role(viewer)
    chosen.update(form or {})
    saved = request.query_params.get("opgeslagen")
    return page(request, viewer, "post.html", status_code, active="inbox", post=post, route=route, heads=heads,
                suggestions=suggestions_of(engine, post), incident=incident_of(engine, post),
                experts=route.get("experts") or [], feedback=engine.store.feedback_of(post.post_id, 20),
                problems=problems or [], chosen=chosen, roles=FEEDBACK_ROLES,
                saved=saved if saved and saved.isdigit() else None, recorded=post.result is not None,
                is_critical=post.labels.get("urgency", {}).get("label") == "critical")


def load_post(engine: Engine, post_id: str) -> LoggedPost | None:
    return triage_log.get(engine.store, post_id) if re.fullmatch(ID_PATTERN, post_id) else None


def not_found(request: Request, viewer: Viewer) -> Response:
    return page(request, viewer, "error.html", 404, title="Bericht niet gevonden",
                problems=[Problem("post_id", "geen bericht met deze id in het triagelogboek (misschien ouder "
                                             "dan de bewaartermijn)")], back="/console/inbox")


@router.get("/posts/{post_id}")
def show_post(post_id: str, request: Request, viewer: InboxViewer, engine: EngineDep) -> Response:
    post = load_post(engine, post_id)
    return not_found(request, viewer) if post is None else post_page(request, viewer, engine, post)


def store_feedback(engine: Engine, post: LoggedPost, fields: dict[str, Any]) -> tuple[int | None, list[Problem]]:
    """Feedback about a logged post, with its (already redacted) text so it can become training data."""
    role = fields.get("role")
    if role not in FEEDBACK_ROLES:
        return None, [Problem("role", f"kies een van {', '.join(FEEDBACK_ROLES)}")]
    try:
        fb = FeedbackIn(post_id=post.post_id, post=Message(title=post.title, body=post.body), **fields)
        return write_feedback(engine, fb), []
    except ValidationError as exc:
        return None, [Problem(".".join(str(p) for p in e["loc"]) or "formulier", e["msg"]) for e in exc.errors()]
    except FeedbackProblem as exc:
        return None, [Problem(exc.field, exc.reason)]


@router.post("/posts/{post_id}/feedback")
async def correct_post(post_id: str, request: Request, viewer: InboxViewer, engine: EngineDep) -> Response:
    form = await checked_form(request, viewer)
    post = load_post(engine, post_id)
    if post is None:
        return not_found(request, viewer)
    heads = [h for h in engine.model.manifest.label_sets if h != "route"]
    given = {k: str(v) for k, v in form.items() if k != "csrf_token"}
    labels = {h: given[h] for h in heads if given.get(h)}
    fields: dict[str, Any] = {"role": given.get("role"), "labels": labels, "route": given.get("route") or None,
                              "comment": given.get("comment", "").strip() or None}
    feedback_id, problems = store_feedback(engine, post, fields)
    if problems:
        return post_page(request, viewer, engine, post, 422, problems, given)
    return redirect(request, viewer, f"/console/posts/{post_id}?opgeslagen={feedback_id}#corrigeren")


@router.post("/posts/{post_id}/solved")
async def mark_solved(post_id: str, request: Request, viewer: InboxViewer, engine: EngineDep) -> Response:
    form = await checked_form(request, viewer)
    post = load_post(engine, post_id)
    if post is None:
        return not_found(request, viewer)
    answer_id = str(form.get("answer_id") or "")
    if not answer_id:
        return post_page(request, viewer, engine, post, 422, [Problem("answer_id", "geen antwoord gekozen")])
    feedback_id, problems = store_feedback(engine, post, {"role": form.get("role") or default_role(viewer),
                                                          "solved_by": answer_id})
    if problems:
        return post_page(request, viewer, engine, post, 422, problems)
    return redirect(request, viewer, f"/console/posts/{post_id}?opgeslagen={feedback_id}#antwoorden")
