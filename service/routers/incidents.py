from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query

from service.auth import require_scope
from service.deps import EngineDep
from service.incident_schemas import IncidentDetail, IncidentList, IncidentOut, StatusIn
from service.incidents import IncidentClosed, IncidentNotFound, IncidentService
from service.schemas import ID_PATTERN

router = APIRouter(prefix="/v1/incidents", tags=["incidents"], dependencies=[Depends(require_scope("incidents"))])
IncidentId = Annotated[str, Path(pattern=ID_PATTERN, description="incident id, e.g. inc-3f9a1c2b7d4e")]


def get_incidents(engine: EngineDep) -> IncidentService:
    if engine.incidents is None:
        raise HTTPException(503, "incident detection is not running")
    return engine.incidents


IncidentsDep = Annotated[IncidentService, Depends(get_incidents)]


def _not_found(incident_id: str) -> HTTPException:
    return HTTPException(404, f"incident_id: no incident {incident_id!r}")


@router.get("", response_model=IncidentList, summary="Open and recently closed incidents, newest first")
def list_incidents(incidents: IncidentsDep,
                   status: Literal["open", "closed"] | None = Query(None, description="only open or only closed"),
                   limit: int = Query(100, ge=1, le=1000)) -> IncidentList:
    return IncidentList(incidents=incidents.list(status, limit))


@router.get("/{incident_id}", response_model=IncidentDetail, summary="One incident with its member posts")
def get_incident(incident_id: IncidentId, incidents: IncidentsDep) -> IncidentDetail:
    try:
        return incidents.detail(incident_id)
    except IncidentNotFound as exc:
        raise _not_found(incident_id) from exc


@router.put("/{incident_id}/status", response_model=IncidentOut,
            summary="Post webcare's status message: later posts in the incident go to peers with it as the reply")
def set_status(incident_id: IncidentId, body: StatusIn, incidents: IncidentsDep) -> IncidentOut:
    try:
        return incidents.set_status(incident_id, body.text)
    except IncidentNotFound as exc:
        raise _not_found(incident_id) from exc
    except IncidentClosed as exc:
        raise HTTPException(409, f"incident_id: incident {incident_id!r} is closed; a status applies to open "
                                 "incidents only") from exc


@router.post("/{incident_id}/close", response_model=IncidentOut, summary="Close an incident now")
def close_incident(incident_id: IncidentId, incidents: IncidentsDep) -> IncidentOut:
    try:
        return incidents.close(incident_id)
    except IncidentNotFound as exc:
        raise _not_found(incident_id) from exc
