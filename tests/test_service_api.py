"""The real FastAPI app with a tiny ONNX model, the default policy and a real store: a SQLite file, then a
PostgreSQL database (the `store_url` fixture)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.settings import Settings
from tests.conftest import MINI
from tests.dbutil import db_rows

KEYS = {"forum-key-000000000001": "forum", "webcare-key-00000000001": "webcare", "admin-key-0000000000001": "admin"}
FORUM, WEBCARE, ADMIN = ({"X-API-Key": k} for k in KEYS)


@pytest.fixture()
def settings(tiny_model: Path, store_url: str) -> Settings:
    return Settings(model_dir=tiny_model, store_url=store_url, api_keys=KEYS,
                    seed_kb=MINI / "kb.jsonl", max_batch=4, max_body_chars=2000)


@pytest.fixture()
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


POST = {"title": "Dubbel afgeschreven", "body": "Twee keer €35 van mijn rekening, ik wil mijn geld terug!",
        "author": {"is_new_member": True, "followers": 3}}


def test_triage_shape(client: TestClient) -> None:
    r = client.post("/v1/triage", json=POST, headers=FORUM)
    assert r.status_code == 200, r.text
    out = r.json()
    assert set(out["labels"]) == {"topic", "product", "sentiment", "urgency", "route"}
    for head in out["labels"].values():
        assert 0 <= head["confidence"] <= 1 and len(head["alternatives"]) == 3
        assert head["alternatives"][0]["label"] == head["label"]
        assert isinstance(head["uncertain"], bool)
    route = out["route"]
    assert route["target"] in {"peers", "klantexpert", "webcare"}
    assert route["reasons"] and route["explanation"] and route["expected_response"]
    assert isinstance(route["rules_fired"], list) and isinstance(route["fallback"], bool)
    assert out["language"] == "nl" and len(out["suggestions"]) <= 3


def test_batch_and_limits(client: TestClient) -> None:
    r = client.post("/v1/triage/batch", json={"posts": [POST, {"body": "Modem knippert rood"}]}, headers=FORUM)
    assert r.status_code == 200 and len(r.json()["results"]) == 2
    r = client.post("/v1/triage/batch", json={"posts": [POST] * 5}, headers=FORUM)
    assert r.status_code == 413 and "limit is 4" in r.json()["detail"]


@pytest.mark.parametrize("body, field", [({"title": "x"}, "body"), ({"body": "   \n "}, "body"),
                                         ({"body": 12}, "body"), ({"body": "hoi", "author": {"followers": -1}},
                                                                  "author.followers")])
def test_bad_post_is_422_naming_the_field(client: TestClient, body: dict, field: str) -> None:
    r = client.post("/v1/triage", json=body, headers=FORUM)
    assert r.status_code == 422
    assert field in [d["field"] for d in r.json()["detail"]]


def test_invalid_json_is_422(client: TestClient) -> None:
    r = client.post("/v1/triage", content=b'{"body": "hoi"', headers={**FORUM, "Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "json_invalid"


def test_body_over_limit_is_413_with_limit(client: TestClient) -> None:
    r = client.post("/v1/triage", json={"body": "a" * 2001}, headers=FORUM)
    assert r.status_code == 413 and "2000" in r.json()["detail"]


def test_non_dutch_post_is_tagged_with_language(client: TestClient) -> None:
    r = client.post("/v1/triage", json={"body": "How do I cancel my subscription without a BSN? I want to know it"},
                    headers=FORUM)
    assert r.status_code == 200
    assert r.json()["language"] == "en" and "not_dutch" in r.json()["route"]["rules_fired"]


def test_html_is_stripped_before_inference(client: TestClient) -> None:
    a = client.post("/v1/triage", json={"body": "<p>Mijn <b>modem</b> knippert rood</p>"}, headers=FORUM).json()
    b = client.post("/v1/triage", json={"body": "Mijn modem knippert rood"}, headers=FORUM).json()
    assert a["labels"] == b["labels"]


def test_auth(client: TestClient) -> None:
    assert client.post("/v1/triage", json=POST).status_code == 401
    assert client.post("/v1/triage", json=POST, headers={"X-API-Key": "nope-nope-nope-nope"}).status_code == 401
    r = client.put("/v1/answers/kb-x", json={"title": "t", "answer": "a"}, headers=FORUM)
    assert r.status_code == 403 and "answers" in r.json()["detail"]
    assert client.post("/v1/suggestions", json={"post": {"body": "hoi"}}, headers=FORUM).status_code == 403
    assert client.post("/v1/suggestions", json={"post": {"body": "hoi"}}, headers=WEBCARE).status_code == 200
    assert client.get("/v1/model", headers=WEBCARE).status_code == 403
    assert client.get("/v1/model", headers=ADMIN).status_code == 200


def test_auth_can_be_disabled(tiny_model: Path, tmp_path: Path) -> None:
    s = Settings(model_dir=tiny_model, store_path=tmp_path / "s.sqlite3", auth_enabled=False, seed_kb=None)
    with TestClient(create_app(s)) as c:
        assert c.post("/v1/triage", json=POST).status_code == 200


def test_settings_fail_fast_without_keys(tiny_model: Path) -> None:
    with pytest.raises(ValueError, match="no API keys"):
        Settings(model_dir=tiny_model, api_keys={})
    with pytest.raises(ValueError, match="unknown role"):
        Settings(model_dir=tiny_model, api_keys={"x" * 20: "root"})


def test_answer_lifecycle_and_immediate_search(client: TestClient) -> None:
    answer = {"title": "Voicemail uitzetten op een Fairphone",
              "question": "Hoe zet ik de voicemail uit op mijn Fairphone 5?",
              "answer": "Bel ##002# en druk op de belknop; daarna is doorschakelen naar voicemail uit.",
              "topic": "device", "product": "other_device", "url": "https://forum.example/t/9"}
    assert client.put("/v1/answers/kb-new-1", json=answer, headers=ADMIN).status_code == 200
    assert client.get("/v1/answers/kb-new-1", headers=ADMIN).json()["title"] == answer["title"]
    query = {"post": {"body": answer["question"]}, "filters": {"product": "other_device"}, "limit": 5}
    r = client.post("/v1/suggestions", json=query, headers=WEBCARE).json()
    assert r["reason"] == "ok" and r["suggestions"][0]["answer_id"] == "kb-new-1"
    assert client.delete("/v1/answers/kb-new-1", headers=ADMIN).status_code == 204
    assert client.get("/v1/answers/kb-new-1", headers=ADMIN).status_code == 404
    assert client.delete("/v1/answers/kb-new-1", headers=ADMIN).status_code == 404


def test_suggestions_nothing_fits_and_thread(client: TestClient) -> None:
    r = client.post("/v1/suggestions", json={"post": {"body": "eSIM"}, "filters": {"product": "geen-product"}},
                    headers=WEBCARE)
    assert r.status_code == 200 and r.json() == {"suggestions": [], "reason": "nothing_fits",
                                                 "threshold": r.json()["threshold"]}
    thread = [{"title": "Roaming", "body": "Ik ga naar Zwitserland"}, {"body": "Werkt mijn bundel daar?"}]
    assert client.post("/v1/suggestions", json={"thread": thread}, headers=WEBCARE).status_code == 200
    assert client.post("/v1/suggestions", json={}, headers=WEBCARE).status_code == 422


def test_bulk_import_is_all_or_nothing(client: TestClient) -> None:
    good = {"id": "kb-bulk-1", "title": "PUK kwijt", "answer": "Je vindt de PUK in de app onder Mijn sim."}
    bad = "\n".join([json.dumps(good), json.dumps({"id": "kb-bulk-2", "title": "x"}), "{nope"])
    r = client.post("/v1/answers/bulk", content=bad.encode(), headers={**ADMIN, "Content-Type": "application/x-ndjson"})
    assert r.status_code == 422
    assert [(d["line"], d["field"]) for d in r.json()["detail"]] == [(2, "answer"), (3, "")]
    assert client.get("/v1/answers/kb-bulk-1", headers=ADMIN).status_code == 404
    r = client.post("/v1/answers/bulk", content=json.dumps(good).encode(), headers=ADMIN)
    assert r.status_code == 200 and r.json() == {"written": 1, "ids": ["kb-bulk-1"]}


def test_feedback_is_stored_redacted(client: TestClient, settings: Settings) -> None:
    fb = {"post_id": "p-1", "role": "webcare", "labels": {"topic": "billing", "urgency": "high"},
          "route": "webcare", "post": {"title": "", "body": "Bel me op 06-12345678 of mail jan@voorbeeld.nl"},
          "comment": "IBAN NL91ABNA0417164300"}
    r = client.post("/v1/feedback", json=fb, headers=WEBCARE)
    assert r.status_code == 201, r.text
    [row] = db_rows(settings.store, "SELECT role, payload FROM feedback")
    assert row[0] == "webcare"
    assert "06-12345678" not in row[1] and "jan@voorbeeld.nl" not in row[1] and "NL91" not in row[1]
    assert "[TELEFOON]" in row[1]
    bad = client.post("/v1/feedback", json={**fb, "labels": {"topic": "nonsense"}}, headers=WEBCARE)
    assert bad.status_code == 422 and "labels.topic" in bad.json()["detail"]


def test_operations_endpoints(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ok" and ready["answers"] > 0
    client.post("/v1/triage", json=POST, headers=FORUM)
    metrics = client.get("/metrics").text
    for name in ("wegwijzer_requests_total", "wegwijzer_request_seconds_bucket", "wegwijzer_routes_total",
                 "wegwijzer_labels_total"):
        assert name in metrics
    model = client.get("/v1/model", headers=ADMIN).json()
    assert model["label_sets"]["urgency"] == ["low", "normal", "high", "critical"]


def test_unknown_answer_id_404_and_bad_id_422(client: TestClient) -> None:
    assert client.get("/v1/answers/kb-404", headers=ADMIN).status_code == 404
    assert client.get("/v1/answers/%20bad%20id", headers=ADMIN).status_code == 422


def test_export_feedback_writes_labelled_posts(client: TestClient, settings: Settings, tmp_path: Path) -> None:
    from models.data_io import load_posts
    from training.__main__ import main

    full = {"post_id": "p-7", "role": "moderator", "post": {"title": "Storing", "body": "Geen 4G, bel 0612345678"},
            "labels": {"topic": "network", "product": "none", "sentiment": "negative", "urgency": "high"},
            "route": "webcare"}
    assert client.post("/v1/feedback", json=full, headers=WEBCARE).status_code == 201
    partial = {"role": "klantexpert", "post": {"body": "Modem knippert"}, "labels": {"topic": "home_internet"}}
    assert client.post("/v1/feedback", json=partial, headers=WEBCARE).status_code == 201
    out = tmp_path / "fb.jsonl"
    assert main(["export-feedback", "--store", settings.store_url, "--out", str(out)]) == 0
    rows = load_posts(out)  # validates against the default label sets
    assert len(rows) == 1 and rows[0]["route"] == "webcare" and "0612345678" not in rows[0]["body"]
    assert main(["export-feedback", "--store", settings.store_url, "--out", str(out), "--partial"]) == 0
    assert len(out.read_text().splitlines()) == 2


def test_overload_is_503_with_retry_after(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from service.batching import Overloaded

    def full(*_: object, **__: object) -> None:
        raise Overloaded("64 posts are waiting; the limit is 64")

    monkeypatch.setattr(client.app.state.batcher, "submit", full)  # type: ignore[attr-defined]
    r = client.post("/v1/triage", json=POST, headers=FORUM)
    assert r.status_code == 503 and r.headers["retry-after"] == "1" and "limit is 64" in r.json()["detail"]


def test_concurrent_single_posts_match_one_at_a_time(client: TestClient) -> None:
    """Requests that share a micro-batch get the result of their own post."""
    from concurrent.futures import ThreadPoolExecutor

    posts = [{"title": "", "body": b} for b in ("Mijn modem knippert rood", "Dubbel afgeschreven €35",
                                                 "Hoe zet ik mijn eSIM over?", "Roaming in Turkije kost veel")]
    alone = [client.post("/v1/triage", json=p, headers=FORUM).json() for p in posts]
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(lambda p: client.post("/v1/triage", json=p, headers=FORUM).json(), posts * 4))
    for i, out in enumerate(together):
        want = alone[i % len(posts)]
        assert {h: v["label"] for h, v in out["labels"].items()} == {h: v["label"] for h, v in want["labels"].items()}
