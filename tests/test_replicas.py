"""Replicas on one PostgreSQL database: other replicas' writes reach each replica's memory (answers in
the index, expert records), incidents are detected as by one detector, the change feed catches up
after a lost connection, and (with two real uvicorn processes) an acknowledged write survives kill -9
of the replica that acknowledged it. Convergence is awaited with a generous deadline: these tests
check that replicas agree, not how fast (bench/replicas.py measures the lag)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.db import changes
from service.db.sync import ChangeFollower
from service.settings import Settings
from service.store import Store
from tests.conftest import MINI
from tests.dbutil import db_rows
from tests.test_incidents_api import NEAR, send, threshold  # noqa: F401 - threshold is a fixture
from tests.test_service_api import ADMIN, KEYS, WEBCARE
from tests.test_service_process import ROOT, free_port
from tests.test_threads import MODEM, NDJSON, SAMSUNG, ndjson

DEADLINE_S = 15.0


def eventually(check: Callable[[], bool], deadline_s: float = DEADLINE_S) -> bool:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.05)
    return check()


def suggested(client: TestClient | httpx.Client, text: str, headers: dict) -> list[str]:
    query = {"post": {"body": text}, "filters": {"product": "other_device"}, "limit": 5}
    r = client.post("/v1/suggestions", json=query, headers=headers)
    assert r.status_code == 200, r.text
    return [s["answer_id"] for s in r.json()["suggestions"]]


QUERY = "Hoe zet ik de voicemail uit op mijn Fairphone 5?"
ANSWER = {"title": "Voicemail uitzetten op een Fairphone", "question": QUERY,
          "answer": "Bel ##002# en druk op de belknop; daarna is doorschakelen naar voicemail uit.",
          "topic": "device", "product": "other_device"}


# in-process replicas ----------------------------------------------------------------------------------

@pytest.fixture()
def two_apps(tiny_model: Path, pg_url: str, threshold: float) -> Iterator[tuple[TestClient, ...]]:  # noqa: F811
    common = {"model_dir": tiny_model, "store_url": pg_url, "api_keys": KEYS, "seed_kb": MINI / "kb.jsonl",
              "incident_similarity": threshold, "incident_join_similarity": threshold, "incident_min_authors": 3,
              "incident_window_minutes": 60, "incident_quiet_minutes": 120, "sync_poll_s": 3600}
    with TestClient(create_app(Settings(**common)), raise_server_exceptions=False) as a, \
            TestClient(create_app(Settings(**common)), raise_server_exceptions=False) as b:
        yield a, b


def test_answers_written_or_deleted_through_one_replica_are_searched_by_the_other(two_apps: tuple) -> None:
    a, b = two_apps
    assert "kb-voicemail" not in suggested(b, QUERY, WEBCARE)
    assert a.put("/v1/answers/kb-voicemail", json=ANSWER, headers=ADMIN).status_code == 200
    assert suggested(a, QUERY, WEBCARE)[0] == "kb-voicemail"  # the writer: at once
    assert eventually(lambda: "kb-voicemail" in suggested(b, QUERY, WEBCARE))
    assert b.get("/readyz").json()["answers"] == a.get("/readyz").json()["answers"]
    assert b.delete("/v1/answers/kb-voicemail", headers=ADMIN).status_code == 204
    assert eventually(lambda: "kb-voicemail" not in suggested(a, QUERY, WEBCARE))
    assert a.get("/readyz").json()["answers"] == b.get("/readyz").json()["answers"]
    b.app.state.engine.follower.stop()  # deaf to the other replicas: out of the load balancer
    assert b.get("/readyz").status_code == 503 and a.get("/readyz").status_code == 200


def test_expert_records_and_load_are_shared(two_apps: tuple) -> None:
    a, b = two_apps
    r = a.post("/v1/threads/bulk", content=ndjson(SAMSUNG, MODEM), headers={**ADMIN, **NDJSON})
    assert r.status_code == 200, r.text
    assert eventually(lambda: b.get("/v1/experts/u-1", headers=WEBCARE).status_code == 200)
    assert b.get("/v1/experts/u-1", headers=WEBCARE).json()["solved"] == 1
    post = {"title": SAMSUNG["title"], "body": SAMSUNG["posts"][0]["body"]}

    def matched(client: TestClient) -> list[str]:
        return [e["id"] for e in client.post("/v1/experts/match", json=post, headers=WEBCARE).json()["experts"]]

    assert matched(b)[0] == "u-1"
    assert a.put("/v1/experts/u-1", json={"max_open": 2, "open_questions": 2}, headers=ADMIN).status_code == 200
    assert eventually(lambda: b.get("/v1/experts/u-1", headers=WEBCARE).json()["open_questions"] == 2)
    assert "u-1" not in matched(b)  # at its limit on every replica


def test_incidents_are_detected_as_by_one_detector(two_apps: tuple) -> None:
    a, b = two_apps
    assert send(a, "p1", "alice", 0)["incident"] is None
    assert send(b, "p2", "bob", 3, " !")["incident"] is None
    opened = send(a, "p3", "carla", 6, " ??")["incident"]  # a sees b's post: three authors
    assert opened is not None and opened["post_count"] == 3
    joined = send(b, "p4", "dirk", 8, NEAR[0])["incident"]  # b sees the incident a opened
    assert joined is not None and joined["id"] == opened["id"] and joined["post_count"] == 4
    r = a.put(f"/v1/incidents/{opened['id']}/status", json={"text": "Storing bekend, we werken eraan."},
              headers=WEBCARE)
    assert r.status_code == 200, r.text
    later = send(b, "p5", "eva", 9, NEAR[1])["incident"]
    assert later["id"] == opened["id"] and later["status_message"] == "Storing bekend, we werken eraan."
    assert [i["id"] for i in b.get("/v1/incidents?status=open", headers=WEBCARE).json()["incidents"]] == [opened["id"]]
    assert b.post(f"/v1/incidents/{opened['id']}/close", headers=WEBCARE).status_code == 200
    assert send(a, "p6", "fred", 10, " echt")["incident"] is None  # closed everywhere
    assert db_rows(a.app.state.engine.store.url, "SELECT COUNT(*) FROM incidents")[0][0] == 1


# the change feed ----------------------------------------------------------------------------------------

def test_follower_catches_up_from_its_watermark_and_after_a_lost_connection(pg_url: str) -> None:
    store = Store(pg_url)
    seen: list[tuple[int, str, str]] = []
    follower = ChangeFollower(store, seen.extend, store.change_watermark(), poll_s=3600)
    with store.transaction() as c:
        store.record_change(c, changes.ANSWER, ["a", "b"])
    with store.transaction() as c:
        store.record_change(c, changes.EXPERTS, ["u-1"])
    assert follower.catch_up() == 3 and [(k, key) for _, k, key in seen] == [("answer", "a"), ("answer", "b"),
                                                                            ("experts", "u-1")]
    assert follower.catch_up() == 0  # the watermark moved on
    follower.start()
    try:
        assert follower.connected.wait(DEADLINE_S)
        with psycopg.connect(pg_url, autocommit=True) as admin:
            killed = admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                                   "application_name='wegwijzer-follower' AND datname=current_database()").fetchall()
            assert killed == [(True,)]
        with store.transaction() as c:
            store.record_change(c, changes.ANSWER, ["c"])
        assert eventually(lambda: [k for _, _, k in seen][-1:] == ["c"])
        assert follower.connected.is_set() or eventually(follower.connected.is_set)
    finally:
        follower.stop()
        store.close()


def test_uncommitted_changes_are_never_seen(pg_url: str) -> None:
    store = Store(pg_url)
    follower = ChangeFollower(store, lambda rows: None, 0, poll_s=3600)
    with pytest.raises(RuntimeError), store.transaction() as c:
        store.record_change(c, changes.ANSWER, ["never"])
        raise RuntimeError("rolled back")
    assert follower.catch_up() == 0
    store.close()


# two real uvicorn processes -------------------------------------------------------------------------------

def start_replica(model: Path, url: str, port: int) -> subprocess.Popen:
    env = {**os.environ, "WEGWIJZER_MODEL_DIR": str(model), "WEGWIJZER_STORE_URL": url,
           "WEGWIJZER_API_KEYS": json.dumps(KEYS), "WEGWIJZER_SEED_KB": str(MINI / "kb.jsonl"),
           "WEGWIJZER_PORT": str(port), "WEGWIJZER_LOG_LEVEL": "warning", "WEGWIJZER_SYNC_POLL_S": "3600"}
    env.pop("WEGWIJZER_STORE_PATH", None)
    return subprocess.Popen([sys.executable, "-m", "service"], cwd=ROOT, env=env)


def wait_ready(proc: subprocess.Popen, base: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"replica exited with {proc.returncode}")
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("replica did not become ready")


@pytest.fixture()
def replicas(tiny_model: Path, pg_url: str) -> Iterator[list[tuple[str, subprocess.Popen]]]:
    ports = [free_port(), free_port()]
    procs = [start_replica(tiny_model, pg_url, p) for p in ports]  # started together: one migrates, one waits
    out = [(f"http://127.0.0.1:{p}", proc) for p, proc in zip(ports, procs, strict=True)]
    try:
        for base, proc in out:
            wait_ready(proc, base)
        yield out
    finally:
        for _, proc in out:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(10)


def test_two_uvicorn_replicas_agree_and_survive_kill_9(replicas: list, pg_url: str) -> None:
    (base_a, proc_a), (base_b, _) = replicas
    with httpx.Client(base_url=base_a, timeout=10) as a, httpx.Client(base_url=base_b, timeout=10) as b:
        assert a.get("/readyz").json()["answers"] == b.get("/readyz").json()["answers"] > 0  # seeded once
        assert a.put("/v1/answers/kb-voicemail", json=ANSWER, headers=ADMIN).status_code == 200
        assert eventually(lambda: "kb-voicemail" in suggested(b, QUERY, WEBCARE))
        assert b.delete("/v1/answers/kb-voicemail", headers=ADMIN).status_code == 204
        assert eventually(lambda: "kb-voicemail" not in suggested(a, QUERY, WEBCARE))

        ids = [f"kb-crash-{i}" for i in range(10)]
        for i, answer_id in enumerate(ids):
            r = a.put(f"/v1/answers/{answer_id}", json={"title": f"Antwoord {i}", "answer": f"Stap {i}: herstart"},
                      headers=ADMIN)
            assert r.status_code == 200
        r = a.post("/v1/triage", json={"post_id": "crash-post", "body": "Geen bereik in Zwolle sinds vanochtend"},
                   headers=ADMIN)
        assert r.status_code == 200
        proc_a.send_signal(signal.SIGKILL)  # right after the last acknowledgement
        proc_a.wait(10)
        stored = {row[0] for row in db_rows(pg_url, "SELECT id FROM answers WHERE id LIKE 'kb-crash-%'")}
        assert stored == set(ids)
        assert db_rows(pg_url, "SELECT COUNT(*) FROM triage_log WHERE post_id='crash-post'")[0][0] == 1
        assert eventually(lambda: b.get("/v1/answers/kb-crash-9", headers=ADMIN).status_code == 200)
        total = db_rows(pg_url, "SELECT COUNT(*) FROM answers")[0][0]
        assert eventually(lambda: b.get("/readyz").json()["answers"] == total)


def test_an_unreachable_store_is_503_never_acknowledged(tiny_model: Path, pg_url: str, pg_cluster) -> None:  # noqa: ANN001
    settings = Settings(model_dir=tiny_model, store_url=pg_url, api_keys=KEYS, seed_kb=None)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        engine = client.app.state.engine
        engine.follower.stop()
        engine.store.close()  # every connection attempt fails, as on a PoolTimeout (both OperationalError)
        r = client.put("/v1/answers/kb-x", json=ANSWER, headers=ADMIN)
        assert r.status_code == 503 and r.headers["Retry-After"] == "2" and "retry" in r.json()["detail"]
        assert client.get("/readyz").status_code == 503
    assert db_rows(pg_url, "SELECT COUNT(*) FROM answers WHERE id='kb-x'")[0][0] == 0
