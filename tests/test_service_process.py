"""The service as a real process: uvicorn in a subprocess, kill -9 durability, no torch on import."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import MINI

ROOT = Path(__file__).resolve().parents[1]
KEY = "admin-key-0000000000001"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(model: Path, store: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "WEGWIJZER_MODEL_DIR": str(model), "WEGWIJZER_STORE_PATH": str(store),
           "WEGWIJZER_API_KEYS": json.dumps({KEY: "admin"}), "WEGWIJZER_SEED_KB": str(MINI / "kb.jsonl"),
           "WEGWIJZER_PORT": str(port), "WEGWIJZER_LOG_LEVEL": "warning"}
    proc = subprocess.Popen([sys.executable, "-m", "service"], cwd=ROOT, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not become ready")


@pytest.fixture()
def server(tiny_model: Path, tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen, Path]]:
    port = free_port()
    store = tmp_path / "store.sqlite3"
    proc = start_server(tiny_model, store, port)
    yield f"http://127.0.0.1:{port}", proc, store
    if proc.poll() is None:
        proc.terminate()
        proc.wait(10)


def test_end_to_end_over_http(server: tuple[str, subprocess.Popen, Path]) -> None:
    url, _, _ = server
    r = httpx.post(f"{url}/v1/triage", json={"title": "Geen bereik", "body": "Sinds vanochtend geen 4G in Zwolle"},
                   headers={"X-API-Key": KEY}, timeout=10)
    assert r.status_code == 200 and r.json()["route"]["target"] in {"peers", "klantexpert", "webcare"}
    assert httpx.get(f"{url}/healthz").json() == {"status": "ok"}


def test_acknowledged_writes_survive_kill_9(server: tuple[str, subprocess.Popen, Path], tiny_model: Path) -> None:
    url, proc, store = server
    headers = {"X-API-Key": KEY}
    ids = [f"kb-crash-{i}" for i in range(20)]
    for i, answer_id in enumerate(ids):
        r = httpx.put(f"{url}/v1/answers/{answer_id}", json={"title": f"Antwoord {i}", "answer": f"Stap {i}: herstart"},
                      headers=headers, timeout=10)
        assert r.status_code == 200
    r = httpx.post(f"{url}/v1/feedback", json={"role": "moderator", "route": "webcare", "comment": "te laat"},
                   headers=headers, timeout=10)
    assert r.status_code == 201
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    con = sqlite3.connect(store)
    stored = {row[0] for row in con.execute("SELECT id FROM answers WHERE id LIKE 'kb-crash-%'")}
    assert stored == set(ids)
    assert con.execute("SELECT COUNT(*) FROM feedback").fetchone()[0] == 1
    con.close()
    port = free_port()
    restarted = start_server(tiny_model, store, port)
    try:
        got = httpx.get(f"http://127.0.0.1:{port}/v1/answers/kb-crash-19", headers=headers, timeout=10)
        assert got.status_code == 200 and got.json()["title"] == "Antwoord 19"
    finally:
        restarted.terminate()
        restarted.wait(10)


def test_service_does_not_import_torch(tiny_model: Path, tmp_path: Path) -> None:
    """Nor, on SQLite, the PostgreSQL driver (0.17 s of start-up)."""
    code = f"""
import sys
from fastapi.testclient import TestClient
from service.app import create_app
from service.settings import Settings
s = Settings(model_dir={str(tiny_model)!r}, store_path={str(tmp_path / 's.sqlite3')!r}, auth_enabled=False,
             seed_kb={str(MINI / 'kb.jsonl')!r})
with TestClient(create_app(s)) as c:
    assert c.post('/v1/triage', json={{'body': 'hoi'}}).status_code == 200
    assert c.post('/v1/answers/bulk', content=b'{{"id": "a1", "title": "t", "answer": "a"}}').status_code == 200
bad = [m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules]
assert not bad, bad
assert 'psycopg' not in sys.modules, 'a SQLite service loaded the PostgreSQL driver'
"""
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
