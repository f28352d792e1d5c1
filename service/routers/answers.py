from __future__ import annotations

import json
from typing import Any

import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response

from models.inference import passage_text
from models.schema import Problem, duplicate_id_problems, validate_answer
from service.auth import require_scope
from service.deps import EngineDep
from service.schemas import ID_PATTERN, AnswerIn, AnswerOut, BulkOut

router = APIRouter(prefix="/v1/answers", tags=["knowledge base"], dependencies=[Depends(require_scope("answers"))])
MAX_BULK_BYTES = 50 * 1024 * 1024
AnswerId = Path(..., pattern=ID_PATTERN, description="answer id, e.g. kb-0001")


def write_answers(engine: EngineDep, answers: list[dict[str, Any]]) -> np.ndarray:
    """Embed, commit to SQLite (durable), then update the in-memory index; returns the embeddings."""
    passages = [passage_text(a) for a in answers]
    emb = engine.model.embed_passages(passages)
    engine.store.upsert_answers(answers, emb, engine.model.embedding_sha)
    engine.index.upsert([a["id"] for a in answers], emb,
                        [{"product": a.get("product"), "topic": a.get("topic")} for a in answers], passages)
    return emb


@router.put("/{answer_id}", response_model=AnswerOut, summary="Add or replace an accepted answer")
def put_answer(answer: AnswerIn, engine: EngineDep, answer_id: str = AnswerId) -> AnswerOut:
    row = {**answer.model_dump(exclude_none=True), "id": answer_id}
    write_answers(engine, [row])
    return AnswerOut(**row)


@router.get("/{answer_id}", response_model=AnswerOut)
def get_answer(engine: EngineDep, answer_id: str = AnswerId) -> AnswerOut:
    row = engine.store.get_answer(answer_id)
    if row is None:
        raise HTTPException(404, f"answer {answer_id!r} not found")
    return AnswerOut(**row)


def remove_answer(engine: EngineDep, answer_id: str) -> bool:
    """Delete from SQLite (committed), then from the in-memory index; False when there was no such answer."""
    if not engine.store.delete_answer(answer_id):
        return False
    engine.index.delete(answer_id)
    return True


@router.delete("/{answer_id}", status_code=204)
def delete_answer(engine: EngineDep, answer_id: str = AnswerId) -> Response:
    if not remove_answer(engine, answer_id):
        raise HTTPException(404, f"answer {answer_id!r} not found")
    return Response(status_code=204)


@router.post("/bulk", response_model=BulkOut, summary="Import answers as JSON Lines (labels.md format); "
             "all or nothing: any invalid line rejects the whole file with every problem listed",
             openapi_extra={"requestBody": {"content": {"application/x-ndjson": {"schema": {"type": "string"}}},
                                            "required": True}})
async def bulk(request: Request, engine: EngineDep) -> BulkOut:
    raw = await request.body()
    if len(raw) > MAX_BULK_BYTES:
        raise HTTPException(413, f"bulk file has {len(raw)} bytes; the limit is {MAX_BULK_BYTES}")
    rows, problems = parse_jsonl(raw)
    for line, row in rows:
        problems += validate_answer(row, None, "bulk", line)
        if isinstance(row.get("id"), str) and not _valid_id(row["id"]):
            problems.append(Problem("bulk", line, "id", f"id {row['id']!r} must match {ID_PATTERN}"))
    problems += duplicate_id_problems(rows, "bulk")
    if not rows and not problems:
        problems.append(Problem("bulk", 0, "", "no answers in the request body"))
    if problems:
        raise HTTPException(422, [{"line": p.line, "field": p.field, "reason": p.reason}
                                  for p in sorted(problems, key=lambda p: p.line)])
    answers = [row for _, row in rows]
    for i in range(0, len(answers), 256):
        write_answers(engine, answers[i:i + 256])
    return BulkOut(written=len(answers), ids=[a["id"] for a in answers])


def _valid_id(value: str) -> bool:
    import re

    return re.fullmatch(ID_PATTERN, value) is not None


def parse_jsonl(raw: bytes) -> tuple[list[tuple[int, dict]], list[Problem]]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return [], [Problem("bulk", 0, "", f"body is not UTF-8: {exc}")]
    rows, problems = [], []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(Problem("bulk", n, "", f"invalid JSON ({exc.msg} at column {exc.colno})"))
            continue
        if not isinstance(obj, dict):
            problems.append(Problem("bulk", n, "", "a line must hold one JSON object"))
            continue
        rows.append((n, obj))
    return rows, problems
