"""Triage log and incidents through the real app (tiny ONNX model, SQLite file, default policy).

The tiny model's embeddings are not semantically meaningful, so "near in meaning" is a
near-identical text and "far" a clearly different one; the similarity threshold is set between
the two groups' measured cosines (and the test checks that such a gap exists)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from models.inference import TriageModel
from service.app import create_app
from service.settings import Settings
from tests.conftest import MINI
from tests.dbutil import db_rows
from tests.test_service_api import ADMIN, FORUM, KEYS, WEBCARE

OUTAGE = "Storing: modem knippert rood en geen internet meer hier in Hoogvliet sinds vanochtend"
NEAR = ["", " !", " ??", " echt", " Hoogvliet", " geklikt", " personenalarm"]
FAR = ["Hoe zet ik mijn eSIM over naar een nieuwe iPhone 16 van mijn dochter?",
       "Mijn factuur is dubbel afgeschreven deze maand, ik wil mijn geld terug",
       "Welke roamingbundel heb ik nodig voor drie weken vakantie in Turkije?"]
T0 = datetime(2026, 11, 3, 7, 40, tzinfo=UTC)


@pytest.fixture(scope="module")
def threshold(tiny_model: Path) -> float:
    model = TriageModel(tiny_model)
    _, near = model.predict([OUTAGE + s for s in NEAR])
    _, far = model.predict(FAR)
    near_min = float((near @ near.T).min())
    far_max = float((near @ far.T).max())
    assert near_min > far_max + 0.005, (near_min, far_max)  # the premise of these tests
    return (near_min + far_max) / 2


@pytest.fixture()
def settings(tiny_model: Path, store_url: str, threshold: float) -> Settings:
    return Settings(model_dir=tiny_model, store_url=store_url, api_keys=KEYS,
                    seed_kb=MINI / "kb.jsonl", incident_similarity=threshold, incident_join_similarity=threshold,
                    incident_min_authors=3, incident_window_minutes=60, incident_quiet_minutes=120,
                    post_retention_days=30)


@pytest.fixture()
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


def send(client: TestClient, post_id: str, author: str | None, minutes: float, suffix: str = "",
         body: str | None = None) -> dict:
    payload = {"post_id": post_id, "title": "", "body": body or OUTAGE + suffix,
               "created_at": (T0 + timedelta(minutes=minutes)).isoformat()}
    if author is not None:
        payload["author"] = {"id": author}
    r = client.post("/v1/triage", json=payload, headers=FORUM)
    assert r.status_code == 200, r.text
    return r.json()


def open_incident(client: TestClient) -> str:
    assert send(client, "p1", "alice", 0)["incident"] is None
    assert send(client, "p2", "bob", 3, " !")["incident"] is None
    inc = send(client, "p3", "carla", 6, " ??")["incident"]
    assert inc is not None and inc["post_count"] == 3
    return inc["id"]


def test_several_authors_open_an_incident_with_summary_and_members(client: TestClient) -> None:
    inc_id = open_incident(client)
    r = client.get("/v1/incidents", headers=WEBCARE)
    assert r.status_code == 200
    [listed] = r.json()["incidents"]
    assert listed["id"] == inc_id and listed["status"] == "open" and listed["author_count"] == 3
    assert listed["opened_at"].startswith("2026-11-03T07:40") and "3 berichten van 3 klanten" in listed["summary"]
    assert "hoogvliet" in listed["terms"] and listed["representative_post_id"] in {"p1", "p2", "p3"}
    detail = client.get(f"/v1/incidents/{inc_id}", headers=ADMIN).json()
    assert [p["post_id"] for p in detail["posts"]] == ["p1", "p2", "p3"]
    assert client.get("/v1/incidents?status=closed", headers=WEBCARE).json()["incidents"] == []


def test_a_lone_author_never_opens_one(client: TestClient) -> None:
    for i in range(5):
        assert send(client, f"l{i}", "alice", i, NEAR[i])["incident"] is None
    for i in range(3):  # no author id: never counted as an author
        assert send(client, f"n{i}", None, 10 + i, NEAR[i])["incident"] is None
    assert client.get("/v1/incidents", headers=WEBCARE).json()["incidents"] == []


def metric(client: TestClient, name: str) -> float:
    """A value from /metrics (the registry is process-wide, so tests compare before and after)."""
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


def test_later_posts_join_far_ones_do_not_and_metrics_count(client: TestClient) -> None:
    joined_before = metric(client, "wegwijzer_incident_posts_joined_total")
    inc_id = open_incident(client)
    assert metric(client, "wegwijzer_incidents_open") == 1
    joined = send(client, "p4", "dirk", 10, " echt")["incident"]
    assert joined["id"] == inc_id and joined["post_count"] == 4
    assert send(client, "f1", "erik", 11, body=FAR[0])["incident"] is None
    assert send(client, "p5", "fenna", 200, " Hoogvliet")["incident"] is None  # three hours later: new window
    assert metric(client, "wegwijzer_incidents_open") == 0  # the quiet period (2 h) passed at p5
    assert metric(client, "wegwijzer_incident_posts_joined_total") - joined_before == 4


def test_closes_after_the_quiet_period_by_created_at(client: TestClient) -> None:
    inc_id = open_incident(client)
    send(client, "later", "zoe", 6 + 121, body=FAR[1])  # stream time moves past the quiet period
    inc = client.get(f"/v1/incidents/{inc_id}", headers=WEBCARE).json()
    assert inc["status"] == "closed" and inc["closed_reason"] == "quiet"
    assert inc["closed_at"].startswith("2026-11-03T09:46")  # last post + 120 min
    assert client.get("/v1/incidents?status=open", headers=WEBCARE).json()["incidents"] == []


def test_manual_close(client: TestClient) -> None:
    inc_id = open_incident(client)
    r = client.post(f"/v1/incidents/{inc_id}/close", headers=WEBCARE)
    assert r.status_code == 200 and r.json()["status"] == "closed" and r.json()["closed_reason"] == "manual"
    assert send(client, "p4", "dirk", 10, " echt")["incident"] is None  # a lone newcomer does not reopen it


def test_incidents_survive_a_restart(settings: Settings) -> None:
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        inc_id = open_incident(c)
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        [listed] = c.get("/v1/incidents?status=open", headers=WEBCARE).json()["incidents"]
        assert listed["id"] == inc_id and listed["post_count"] == 3
        joined = send(c, "p4", "dirk", 10, " echt")["incident"]
        assert joined["id"] == inc_id and joined["post_count"] == 4
        assert len(c.get(f"/v1/incidents/{inc_id}", headers=WEBCARE).json()["posts"]) == 4


def test_resending_a_post_id_updates_never_duplicates(client: TestClient, settings: Settings) -> None:
    inc_id = open_incident(client)
    again = send(client, "p2", "bob", 3, " !")["incident"]
    assert again["id"] == inc_id and again["post_count"] == 3
    send(client, "solo", "x", 50, body=FAR[2])
    send(client, "solo", "x", 51, body=FAR[1])
    assert db_rows(settings.store, "SELECT COUNT(*) FROM triage_log")[0][0] == 4
    assert db_rows(settings.store, "SELECT body FROM triage_log WHERE post_id='solo'")[0][0] == FAR[1]


def test_personal_data_is_redacted_and_author_ids_are_never_stored(client: TestClient, settings: Settings) -> None:
    send(client, "pd", "jan.jansen@example.nl", 0, body="Bel me op 06-12345678, geen internet in Hoogvliet")
    if settings.store.dialect == "sqlite":
        raw = settings.store_path.read_bytes() + Path(str(settings.store_path) + "-wal").read_bytes()
        assert b"06-12345678" not in raw and b"jan.jansen@example.nl" not in raw
    stored = repr([db_rows(settings.store, f"SELECT * FROM {t}") for t in ("triage_log", "incidents", "triage_meta")])
    assert "06-12345678" not in stored and "jan.jansen@example.nl" not in stored
    [(body, key)] = db_rows(settings.store, "SELECT body, author_key FROM triage_log WHERE post_id='pd'")
    assert "[TELEFOON]" in body and len(key) == 64


def test_status_reply_routes_later_posts_to_peers_unless_they_need_webcare(client: TestClient) -> None:
    inc_id = open_incident(client)
    before = send(client, "p4", "dirk", 8, " echt")
    assert before["route"]["target"] == "webcare" and "known_incident" in before["route"]["reasons"]
    status = "Storing glasvezel in Hoogvliet bekend, monteurs zijn bezig, herstel verwacht rond 12:00."
    r = client.put(f"/v1/incidents/{inc_id}/status", json={"text": status}, headers=WEBCARE)
    assert r.status_code == 200 and r.json()["status_message"] == status
    after = send(client, "p5", "erik", 12, " Hoogvliet")
    assert after["route"]["target"] == "peers" and after["route"]["reasons"][0] == "incident_status"
    assert after["incident"]["status_message"] == status and after["suggestions"][0]["passage"] == status
    harmed = send(client, "p6", "fenna", 14, " geklikt")
    assert harmed["route"]["target"] == "webcare" and harmed["incident"]["id"] == inc_id
    vulnerable = send(client, "p7", "gijs", 15, " personenalarm")
    assert vulnerable["route"]["target"] == "webcare" and vulnerable["incident"]["id"] == inc_id


def test_scopes(client: TestClient) -> None:
    assert client.get("/v1/incidents", headers=FORUM).status_code == 403
    assert client.get("/v1/incidents").status_code == 401
    assert client.put("/v1/incidents/inc-x/status", json={"text": "x"}, headers=FORUM).status_code == 403
    assert client.get("/v1/incidents", headers=WEBCARE).status_code == 200
    assert client.get("/v1/incidents", headers=ADMIN).status_code == 200


@pytest.mark.parametrize("payload, field", [
    ({"body": "hoi", "created_at": "gisteren"}, "created_at"),
    ({"body": "hoi", "created_at": "2999-01-01T00:00:00Z"}, "created_at"),
    ({"body": "hoi", "post_id": "met spatie"}, "post_id"),
    ({"body": "hoi", "author": {"id": ""}}, "author.id"),
])
def test_bad_triage_input_is_422_naming_the_field(client: TestClient, payload: dict, field: str) -> None:
    r = client.post("/v1/triage", json=payload, headers=FORUM)
    assert r.status_code == 422 and field in [d["field"] for d in r.json()["detail"]]


def test_bad_incident_requests(client: TestClient) -> None:
    r = client.get("/v1/incidents/inc-doesnotexist", headers=WEBCARE)
    assert r.status_code == 404 and "incident_id" in r.json()["detail"]
    r = client.put("/v1/incidents/inc-doesnotexist/status", json={"text": "hersteld"}, headers=WEBCARE)
    assert r.status_code == 404
    inc_id = open_incident(client)
    r = client.put(f"/v1/incidents/{inc_id}/status", json={"text": "   "}, headers=WEBCARE)
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "text"
    r = client.get("/v1/incidents?status=dicht", headers=WEBCARE)
    assert r.status_code == 422 and "status" in r.json()["detail"][0]["field"]
    client.post(f"/v1/incidents/{inc_id}/close", headers=WEBCARE)
    r = client.put(f"/v1/incidents/{inc_id}/status", json={"text": "hersteld"}, headers=WEBCARE)
    assert r.status_code == 409 and "closed" in r.json()["detail"]


def test_retention_purge(client: TestClient, settings: Settings) -> None:
    open_incident(client)
    service = client.app.state.engine.incidents
    assert service.maintain(wall=time.time() + 10)["purged_posts"] == 0
    result = service.maintain(wall=time.time() + 31 * 86400)
    assert result == {"closed": 1, "purged_posts": 3, "purged_incidents": 1}
    assert db_rows(settings.store, "SELECT COUNT(*) FROM triage_log")[0][0] == 0
    assert db_rows(settings.store, "SELECT COUNT(*) FROM incidents")[0][0] == 0


def test_batch_posts_are_logged_and_grouped(client: TestClient) -> None:
    posts = [{"post_id": f"b{i}", "body": OUTAGE + NEAR[i], "author": {"id": f"a{i}"},
              "created_at": (T0 + timedelta(minutes=i)).isoformat()} for i in range(4)]
    r = client.post("/v1/triage/batch", json={"posts": posts}, headers=FORUM)
    assert r.status_code == 200
    incidents = [x["incident"] for x in r.json()["results"]]
    assert incidents[:2] == [None, None] and incidents[2]["id"] == incidents[3]["id"]
    assert np.isclose(incidents[3]["post_count"], 4)


def test_eval_incidents_command_replays_a_stream(tiny_model: Path, tmp_path: Path, threshold: float) -> None:
    import json

    from eval.cli import main

    rows = [{"post_id": f"s{i}", "created_at": (T0 + timedelta(minutes=i)).isoformat(), "author_id": f"a{i}",
             "title": "", "body": OUTAGE + NEAR[i], "burst": "outage"} for i in range(4)]
    rows += [{"post_id": f"o{i}", "created_at": (T0 + timedelta(days=i + 1)).isoformat(), "author_id": "b",
              "title": "", "body": FAR[i], "burst": None} for i in range(3)]
    stream = tmp_path / "stream.jsonl"
    stream.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "out.json"
    args = ["incidents", str(stream), "--model", str(tiny_model), "--json", str(out), "--similarity", str(threshold),
            "--join-similarity", str(threshold), "--min-authors", "3"]
    assert main(args) == 0
    result = json.loads(out.read_text())
    assert result["bursts"]["outage"]["posts_until_detection"] == 3 and result["burst_recall"] == 1.0
    assert result["post_recall"] == 1.0 and result["false_incidents_per_day"] == 0.0
    stream.write_text('{"post_id": "x", "created_at": "gisteren", "author_id": "a", "title": "", "body": "b", '
                      '"burst": null}\n', encoding="utf-8")
    assert main(args) == 1
