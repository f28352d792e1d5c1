"""Incidents: open ones with counts and a sparkline, one incident's posts, its status message and closing."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import ValidationError

from service import triage_log
from service.console.access import Viewer, checked_form, need
from service.console.inbox import is_critical, is_uncertain
from service.console.problems import Problem
from service.console.render import page, redirect
from service.console.sparkline import sparkline
from service.deps import EngineDep
from service.incident_schemas import StatusIn
from service.incidents import IncidentClosed, IncidentNotFound, IncidentService, Row
from service.schemas import ID_PATTERN
from service.triage import Engine
from service.triage_log import LogFilter

router = APIRouter(prefix="/console", include_in_schema=False)
IncidentViewer = Annotated[Viewer, Depends(need("incidents"))]
MEMBERS_SHOWN = 100  # newest member posts on an incident's page


def service_of(engine: Engine) -> IncidentService:
    if engine.incidents is None:
        raise RuntimeError("incident detection is not running")  # build_engine always attaches it
    return engine.incidents


@router.get("/incidents")
def list_incidents(request: Request, viewer: IncidentViewer, engine: EngineDep) -> Response:
    incidents = service_of(engine)
    listed = incidents.list(None, 100)  # open and recently closed, newest first
    open_ids = [i.id for i in listed if i.status == "open"]
    rows = {i: incidents.get_row(i) for i in open_ids}
    hist = triage_log.incident_histogram(engine.store, open_ids)
    sparks = {i: sparkline(hist[i], rows[i].opened_ts, rows[i].last_seen_ts) for i in open_ids}
    return page(request, viewer, "incidents.html", active="incidents", open=[rows[i] for i in open_ids],
                closed=[i for i in listed if i.status == "closed"], sparks=sparks)


def incident_page(request: Request, viewer: Viewer, engine: Engine, row: Row, status_code: int = 200,
                  problems: list[Problem] | None = None, draft: str | None = None) -> Response:
    members = triage_log.recent(engine.store, LogFilter(incident_id=row.id), limit=MEMBERS_SHOWN)
    hist = triage_log.incident_histogram(engine.store, [row.id])[row.id]
    saved = request.query_params.get("opgeslagen")
    return page(request, viewer, "incident.html", status_code, active="incidents", incident=row,
                spark=sparkline(hist, row.opened_ts, row.last_seen_ts, max_buckets=72, width=480, height=64),
                posts=members, is_critical=is_critical, is_uncertain=is_uncertain, problems=problems or [],
                draft=(row.status_message or "") if draft is None else draft,
                saved=saved if saved in ("status", "gesloten") else None)


def load_row(engine: Engine, incident_id: str) -> Row | None:
    if not re.fullmatch(ID_PATTERN, incident_id):
        return None
    try:
        return service_of(engine).get_row(incident_id)
    except IncidentNotFound:
        return None


def not_found(request: Request, viewer: Viewer) -> Response:
    return page(request, viewer, "error.html", 404, title="Incident niet gevonden",
                problems=[Problem("incident_id", "geen incident met deze id (misschien ouder dan de bewaartermijn)")],
                back="/console/incidents")


@router.get("/incidents/{incident_id}")
def show_incident(incident_id: str, request: Request, viewer: IncidentViewer, engine: EngineDep) -> Response:
    row = load_row(engine, incident_id)
    return not_found(request, viewer) if row is None else incident_page(request, viewer, engine, row)


@router.post("/incidents/{incident_id}/status")
async def post_status(incident_id: str, request: Request, viewer: IncidentViewer, engine: EngineDep) -> Response:
    form = await checked_form(request, viewer)
    row = load_row(engine, incident_id)
    if row is None:
        return not_found(request, viewer)
    text = str(form.get("text") or "")
    try:
        status = StatusIn(text=text)
    except ValidationError as exc:
        problems = [Problem("text", e["msg"]) for e in exc.errors()]
        return incident_page(request, viewer, engine, row, 422, problems, text)
    try:
        service_of(engine).set_status(incident_id, status.text)  # redacts before it is stored
    except IncidentClosed:
        return incident_page(request, viewer, engine, row, 409, [Problem(
            "incident_id", "dit incident is gesloten; een statusbericht kan alleen bij een open incident")], text)
    return redirect(request, viewer, f"/console/incidents/{incident_id}?opgeslagen=status")


@router.post("/incidents/{incident_id}/close")
async def close_incident(incident_id: str, request: Request, viewer: IncidentViewer, engine: EngineDep) -> Response:
    await checked_form(request, viewer)
    if load_row(engine, incident_id) is None:
        return not_found(request, viewer)
    service_of(engine).close(incident_id)
    return redirect(request, viewer, f"/console/incidents/{incident_id}?opgeslagen=gesloten")
