"""The HTTP path around triage (issue 12, part 4): what the client gets is what it got before the path was
made cheaper: the same JSON content and content type, the same error bodies, request ids and metrics.
Behaviour only; `python -m bench.http_overhead` measures the speed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.encoders import jsonable_encoder
from fastapi.testclient import TestClient

from service.app import create_app
from service.incident_schemas import IncidentRef
from service.schemas import Alternative, ExpertOut, HeadOut, RouteOut, Suggestion, TriageOut
from service.settings import Settings
from tests.conftest import MINI

KEYS = {"forum-key-000000000001": "forum", "webcare-key-00000000001": "webcare"}
FORUM, WEBCARE = ({"X-API-Key": k} for k in KEYS)
POST = {"title": "Dubbel afgeschreven", "body": "Twee keer €35 van mijn rekening, ik wil mijn geld terug!"}


@pytest.fixture()
def client(tiny_model: Path, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(model_dir=tiny_model, store_path=tmp_path / "s.sqlite3", api_keys=KEYS,
                        seed_kb=MINI / "kb.jsonl", max_batch=4, max_body_chars=2000)
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


def fixed_result() -> TriageOut:
    """Every kind of field the response has: floats, non-ASCII text, None, nested lists, an incident."""
    head = HeadOut(label="billing", confidence=0.9312, uncertain=False,
                   alternatives=[Alternative(label="billing", confidence=0.9312),
                                 Alternative(label="network", confidence=0.0001),
                                 Alternative(label="sim", confidence=0)])
    route = RouteOut(target="klantexpert", reasons=["factuur €35 dubbel", "niet-Nederlands: é ü ß"],
                     explanation="Één klantexpert", expected_response="binnen 4 uur", rules_fired=["billing"],
                     fallback=False, experts=[ExpertOut(id="u-1", name="Joëlle", score=0.5, reasons=["sim"])])
    return TriageOut(labels={"topic": head}, language="nl", model_version="abc123def456",
                     suggestions=[Suggestion(answer_id="kb-1", title="Terugbetaling", url=None, score=-0.0123,
                                             answerability=None, passage="Je krijgt het geld “terug” ✓")],
                     route=route, incident=IncidentRef(id="inc-1", summary="Storing", post_count=3,
                                                       opened_at="2026-11-20T09:14:00+00:00"))


def old_json(model: object) -> object:
    """What FastAPI's jsonable_encoder + json.dumps path (the old JSON encoding) made of a response model."""
    return json.loads(json.dumps(jsonable_encoder(model), ensure_ascii=False, allow_nan=False, separators=(",", ":")))


def test_triage_json_has_the_same_content_and_type(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    out = fixed_result()
    monkeypatch.setattr(client.app.state.batcher, "submit", lambda *_, **__: out)  # type: ignore[attr-defined]
    r = client.post("/v1/triage", json=POST, headers=FORUM)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.json() == old_json(out) == out.model_dump(mode="json")
    assert "€35" in r.content.decode("utf-8") and "Joëlle" in r.content.decode("utf-8")  # UTF-8, not \\u escapes


def test_batch_json_has_the_same_content_and_type(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    out = fixed_result()
    monkeypatch.setattr(client.app.state.engine, "triage", lambda posts: [out for _ in posts])  # type: ignore[attr-defined]
    r = client.post("/v1/triage/batch", json={"posts": [POST, POST]}, headers=FORUM)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.json() == {"results": [old_json(out), old_json(out)]}


def test_real_triage_round_trips_through_the_response_model(client: TestClient) -> None:
    r = client.post("/v1/triage", json=POST, headers=FORUM)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert TriageOut.model_validate_json(r.content).model_dump(mode="json") == r.json()


def test_error_bodies_are_unchanged(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    r = client.post("/v1/triage", json={"title": "x", "author": {"followers": -1}}, headers=FORUM)
    assert r.status_code == 422 and r.headers["content-type"] == "application/json"
    assert {(d["field"], d["type"]) for d in r.json()["detail"]} == {("body", "missing"),
                                                                      ("author.followers", "greater_than_equal")}
    assert all(set(d) == {"field", "reason", "type"} and d["reason"] for d in r.json()["detail"])
    r = client.post("/v1/triage", json={"body": "a" * 2001}, headers=FORUM)
    assert r.status_code == 413 and r.json() == {"detail": "body has 2001 characters; the limit is 2000"}
    r = client.post("/v1/triage", json=POST)
    assert r.status_code == 401 and r.headers["www-authenticate"] == "APIKey"
    assert r.json() == {"detail": "missing API key: send it in the X-API-Key header"}
    r = client.post("/v1/triage", json=POST, headers={"X-API-Key": "nope-nope-nope-nope"})
    assert r.status_code == 401 and r.json() == {"detail": "unknown API key"}
    r = client.post("/v1/suggestions", json={"post": {"body": "hoi"}}, headers=FORUM)
    assert r.status_code == 403 and r.json() == {"detail": "this API key's role may not use 'suggestions' "
                                                           "(allowed: triage)"}

    def too_slow(*_: object, **__: object) -> None:
        raise TimeoutError

    monkeypatch.setattr(client.app.state.batcher, "submit", too_slow)  # type: ignore[attr-defined]
    r = client.post("/v1/triage", json=POST, headers=FORUM)
    assert r.status_code == 503 and r.headers["retry-after"] == "1"
    assert r.json() == {"detail": "not triaged within 30.0 s; retry shortly"}


def test_still_loading_is_503(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client.app.state, "engine", None)  # type: ignore[attr-defined]
    for path, body in (("/v1/triage", POST), ("/v1/triage/batch", {"posts": [POST]})):
        r = client.post(path, json=body, headers=FORUM)
        assert r.status_code == 503 and r.json() == {"detail": "model and store are still loading"}


def metric(client: TestClient, line_start: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_every_answered_request_is_counted_and_timed_with_its_route(client: TestClient) -> None:
    ok = 'wegwijzer_requests_total{endpoint="/v1/triage",status="200"}'
    bad = 'wegwijzer_requests_total{endpoint="/v1/triage",status="422"}'
    timed = 'wegwijzer_request_seconds_count{endpoint="/v1/triage"}'
    unmatched = 'wegwijzer_requests_total{endpoint="unmatched",status="404"}'
    before = [metric(client, k) for k in (ok, bad, timed, unmatched)]
    assert client.post("/v1/triage", json=POST, headers=FORUM).status_code == 200
    assert client.post("/v1/triage", json={"title": "x"}, headers=FORUM).status_code == 422
    assert client.get("/v1/nothing-here").status_code == 404
    after = [metric(client, k) for k in (ok, bad, timed, unmatched)]
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1, 2, 1]


def test_request_id_on_answers_and_errors(client: TestClient) -> None:
    r = client.post("/v1/triage", json=POST, headers={**FORUM, "X-Request-ID": "req-42"})
    assert r.status_code == 200 and r.headers["x-request-id"] == "req-42"
    r = client.post("/v1/triage", json={"title": "x"}, headers={**FORUM, "X-Request-ID": "req-43"})
    assert r.status_code == 422 and r.headers["x-request-id"] == "req-43"
