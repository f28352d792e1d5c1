"""Expert records (GET, PUT /v1/experts/{id}) and matching a post to klantexperts (POST /v1/experts/match)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Path

from service.auth import require_scope
from service.deps import EngineDep, SettingsDep, check_text_limits
from service.expert_schemas import ExpertIn, ExpertRecordOut, ExpertsOut, MatchIn, MatchOut
from service.experts import ExpertDirectory, ExpertRecord
from service.schemas import ID_PATTERN, ErrorOut, ExpertOut
from service.triage import Engine

router = APIRouter(prefix="/v1/experts", tags=["experts"])
ExpertId = Path(..., pattern=ID_PATTERN, description="the forum's author id, e.g. u-17")


def _directory(engine: Engine) -> ExpertDirectory:
    if engine.experts is None:
        raise HTTPException(503, "expert records are still loading")
    return engine.experts


def _out(record: ExpertRecord) -> ExpertRecordOut:
    return ExpertRecordOut(**record.as_dict())


@router.get("", response_model=ExpertsOut, dependencies=[Depends(require_scope("experts"))],
            summary="All expert records, most accepted solutions first")
def list_experts(engine: EngineDep) -> ExpertsOut:
    return ExpertsOut(experts=[_out(r) for r in _directory(engine).all()])


@router.post("/match", response_model=MatchOut, dependencies=[Depends(require_scope("experts"))],
             summary="Up to 3 fitting klantexperts for a post, best first, with reasons; empty when none fits")
def match(post: MatchIn, engine: EngineDep, settings: SettingsDep) -> MatchOut:
    check_text_limits(post.title, post.body, settings)
    directory = _directory(engine)
    preds, emb = engine.model.predict([engine.text_of(post.title, post.body)])
    found = directory.match(emb[0], {h: p.label for h, p in preds[0].items()})
    return MatchOut(experts=[ExpertOut(id=m.id, name=m.name, score=m.score, reasons=m.reasons) for m in found])


@router.get("/{expert_id}", response_model=ExpertRecordOut, dependencies=[Depends(require_scope("experts"))],
            responses={404: {"model": ErrorOut}})
def get_expert(engine: EngineDep, expert_id: str = ExpertId) -> ExpertRecordOut:
    record = _directory(engine).get(expert_id)
    if record is None:
        raise HTTPException(404, f"expert {expert_id!r} not found")
    return _out(record)


@router.put("/{expert_id}", response_model=ExpertRecordOut, dependencies=[Depends(require_scope("threads"))],
            responses={422: {"model": ErrorOut}},
            summary="Set display name, availability, open-question limit and extra specialities; creates "
                    "the record of a klantexpert not seen in the imported threads yet")
def put_expert(change: ExpertIn, engine: EngineDep, expert_id: str = ExpertId) -> ExpertRecordOut:
    fields = change.model_dump(exclude_unset=True)
    if "specialities" in fields:
        if fields["specialities"] is None:
            raise HTTPException(422, [{"field": "specialities", "reason": "use [] to remove every speciality"}])
        sets = engine.model.manifest.label_sets
        allowed = set(sets.get("topic", [])) | set(sets.get("product", []))
        unknown = [s for s in fields["specialities"] if s not in allowed]
        if unknown:
            raise HTTPException(422, [{"field": "specialities", "reason": f"{', '.join(map(repr, unknown))} "
                                       f"is not a topic or product label ({', '.join(sorted(allowed))})"}])
    for name in ("available", "open_questions", "name"):
        if name in fields and fields[name] is None:
            raise HTTPException(422, [{"field": name, "reason": f"{name} cannot be null"}])
    return _out(_directory(engine).update(expert_id, fields))
