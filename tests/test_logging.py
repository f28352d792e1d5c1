"""Structured logs: JSON lines with a request id, one access line per request, never post text or API keys."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.request_log import request_id_from
from service.settings import Settings
from tests.conftest import MINI
from tests.test_service_process import free_port

KEYS = {"forum-key-000000000001": "forum", "admin-key-0000000000001": "admin"}
FORUM = {"X-API-Key": "forum-key-000000000001"}
NAME, PHONE, EMAIL = "Marijke Verhoeven", "06-12345678", "marijke.verhoeven@example.nl"
POST = {"title": f"Storing bij {NAME}", "body": f"Bel mij terug op {PHONE} of mail {EMAIL}, internet ligt eruit."}
SECRETS = (NAME, PHONE, "12345678", EMAIL, "internet ligt eruit", *KEYS)


def make_client(tiny_model: Path, tmp_path: Path, **overrides: object) -> TestClient:
    settings = Settings(model_dir=tiny_model, store_path=tmp_path / "store.sqlite3", api_keys=KEYS,
                        seed_kb=MINI / "kb.jsonl", **overrides)
    return TestClient(create_app(settings), raise_server_exceptions=False)


@pytest.fixture()
def client(tiny_model: Path, tmp_path: Path) -> Iterator[TestClient]:
    with make_client(tiny_model, tmp_path) as c:
        yield c


def json_lines(text: str) -> list[dict]:
    """Every non-empty line must be one JSON object (fails the test otherwise)."""
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines, "nothing was logged"
    parsed = [json.loads(line) for line in lines]
    assert all(isinstance(p, dict) for p in parsed)
    return parsed


def access_lines(lines: list[dict]) -> list[dict]:
    return [line for line in lines if line.get("logger") == "wegwijzer.access"]


def assert_no_secrets(text: str) -> None:
    leaked = [s for s in SECRETS if s in text]
    assert not leaked, f"found in the logs: {leaked}"


def test_request_id_from_header() -> None:
    assert request_id_from("req-42_a.b:c") == "req-42_a.b:c"
    assert request_id_from("a" * 128) == "a" * 128
    for insane in (None, "", "a" * 129, "has space", "quote\"d", "semi;colon", "naïve", "<script>"):
        new = request_id_from(insane)
        assert new != insane and len(new) == 32 and int(new, 16) >= 0


def test_triage_lines_are_json_and_carry_the_response_request_id(client: TestClient,
                                                                  capsys: pytest.CaptureFixture) -> None:
    capsys.readouterr()
    r = client.post("/v1/triage", json=POST, headers=FORUM)
    assert r.status_code == 200, r.text
    request_id = r.headers["X-Request-ID"]
    err = capsys.readouterr().err
    lines = json_lines(err)
    for line in lines:
        assert {"timestamp", "level", "logger", "event"} <= set(line)
        assert line["timestamp"].endswith("Z")
    (access,) = access_lines(lines)
    assert access["request_id"] == request_id
    assert access["event"] == "request" and access["level"] == "info"
    assert access["method"] == "POST" and access["path"] == "/v1/triage" and access["route"] == "/v1/triage"
    assert access["status"] == 200 and isinstance(access["duration_ms"], float) and access["duration_ms"] > 0
    assert access["role"] == "forum"
    assert_no_secrets(err)


def test_route_template_role_and_no_query_string(client: TestClient, capsys: pytest.CaptureFixture) -> None:
    capsys.readouterr()
    r = client.get("/v1/answers/kb-does-not-exist?token=geheim", headers={"X-API-Key": "admin-key-0000000000001"})
    assert r.status_code == 404
    (access,) = access_lines(json_lines(capsys.readouterr().err))
    assert access["path"] == "/v1/answers/kb-does-not-exist" and access["route"] == "/v1/answers/{answer_id}"
    assert access["status"] == 404 and access["role"] == "admin"
    client.get("/v1/model", headers={"X-API-Key": "not-a-configured-key-0001"})
    (access,) = access_lines(json_lines(capsys.readouterr().err))
    assert access["status"] == 401 and access["role"] == "unknown"
    assert "geheim" not in json.dumps(access) and "not-a-configured-key-0001" not in json.dumps(access)


def test_sane_request_id_is_echoed(client: TestClient, capsys: pytest.CaptureFixture) -> None:
    capsys.readouterr()
    r = client.post("/v1/triage", json=POST, headers={**FORUM, "X-Request-ID": "forum-7f3a.42"})
    assert r.status_code == 200 and r.headers["X-Request-ID"] == "forum-7f3a.42"
    (access,) = access_lines(json_lines(capsys.readouterr().err))
    assert access["request_id"] == "forum-7f3a.42"


@pytest.mark.parametrize("insane", ["x" * 129, "twee woorden", "id;DROP TABLE", "{json}"])
def test_insane_request_id_is_replaced(client: TestClient, capsys: pytest.CaptureFixture, insane: str) -> None:
    capsys.readouterr()
    r = client.get("/healthz", headers={"X-Request-ID": insane})
    new = r.headers["X-Request-ID"]
    assert new != insane and len(new) == 32
    err = capsys.readouterr().err
    (access,) = access_lines(json_lines(err))
    assert access["request_id"] == new and insane not in err


def test_request_ids_differ_between_requests(client: TestClient) -> None:
    ids = {client.get("/healthz").headers["X-Request-ID"] for _ in range(3)}
    assert len(ids) == 3


def test_micro_batch_worker_lines_carry_the_request_id(tiny_model: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture) -> None:
    """The batching worker thread runs the request's work: its lines name the request, at the most
    verbose level no line holds the post's text."""
    with make_client(tiny_model, tmp_path, micro_batch_max=4, micro_batch_wait_ms=1, log_level="debug") as c:
        capsys.readouterr()
        r = c.post("/v1/triage", json=POST, headers=FORUM)
        assert r.status_code == 200, r.text
        err = capsys.readouterr().err
    lines = json_lines(err)
    batch_lines = [line for line in lines if line.get("logger") == "wegwijzer.batching"]
    assert batch_lines and all(line["request_ids"] == [r.headers["X-Request-ID"]] for line in batch_lines)
    assert batch_lines[0]["level"] == "debug" and "micro-batch of 1 posts" in batch_lines[0]["event"]
    assert access_lines(lines)[0]["request_id"] == r.headers["X-Request-ID"]
    assert_no_secrets(err)


def test_unhandled_error_keeps_type_and_traceback_not_the_post(client: TestClient, capsys: pytest.CaptureFixture,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(posts: list) -> list:
        raise ValueError(f"kapot voor klant {PHONE}")

    monkeypatch.setattr(client.app.state.engine, "triage", boom)
    capsys.readouterr()
    r = client.post("/v1/triage/batch", json={"posts": [POST]}, headers=FORUM)
    assert r.status_code == 500
    request_id = r.headers["X-Request-ID"]
    err = capsys.readouterr().err
    lines = json_lines(err)
    errors = [line for line in lines if line["level"] == "error"]
    assert errors and all(line["request_id"] == request_id for line in errors)
    assert "ValueError" in errors[0]["event"]
    assert "Traceback" in errors[0]["exception"] and "ValueError: kapot voor klant [TELEFOON]" in errors[0]["exception"]
    (access,) = access_lines(lines)
    assert access["status"] == 500 and access["level"] == "warning" and access["request_id"] == request_id
    assert_no_secrets(err)


def test_console_format(tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with make_client(tiny_model, tmp_path, log_format="console") as c:
        capsys.readouterr()
        r = c.get("/healthz", headers={"X-Request-ID": "console-1"})
        err = capsys.readouterr().err
    assert r.status_code == 200
    line = next(line for line in err.splitlines() if "console-1" in line)
    assert "request" in line and "status=200" in line
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)


def test_log_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="log_format"):
        Settings(auth_enabled=False, log_format="xml")
    with pytest.raises(ValueError, match="log_level"):
        Settings(auth_enabled=False, log_level="loud")
    assert Settings(auth_enabled=False, log_level="WARNING").log_level == "warning"


def test_server_process_logs_only_json_with_one_access_line_per_request(tiny_model: Path, tmp_path: Path) -> None:
    """`python -m service`: uvicorn's own lines are JSON too, and its access log is off (no duplicates)."""
    port = free_port()
    env = {**os.environ, "WEGWIJZER_MODEL_DIR": str(tiny_model), "WEGWIJZER_STORE_PATH": str(tmp_path / "s.sqlite3"),
           "WEGWIJZER_API_KEYS": json.dumps(KEYS), "WEGWIJZER_SEED_KB": str(MINI / "kb.jsonl"),
           "WEGWIJZER_PORT": str(port), "WEGWIJZER_LOG_LEVEL": "info"}
    env.pop("WEGWIJZER_LOG_FORMAT", None)
    log_file = tmp_path / "stderr.log"
    root = Path(__file__).resolve().parents[1]
    with log_file.open("w") as stderr:
        proc = subprocess.Popen([sys.executable, "-m", "service"], cwd=root, env=env, stderr=stderr)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 120
            while True:
                assert proc.poll() is None and time.monotonic() < deadline, "server did not become ready"
                try:
                    if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            r = httpx.post(f"{url}/v1/triage", json=POST, headers={**FORUM, "X-Request-ID": "proc-1"}, timeout=10)
            assert r.status_code == 200 and r.headers["X-Request-ID"] == "proc-1"
        finally:
            proc.terminate()
            proc.wait(10)
    text = log_file.read_text(encoding="utf-8")
    lines = json_lines(text)
    assert any(line["logger"].startswith("uvicorn") and "Uvicorn running" in line["event"] for line in lines)
    assert not [line for line in lines if line["logger"] == "uvicorn.access"]
    triage_lines = [line for line in access_lines(lines) if line["request_id"] == "proc-1"]
    assert len(triage_lines) == 1 and triage_lines[0]["status"] == 200
    assert_no_secrets(text)


def test_a_line_logged_by_the_redaction_itself_does_not_recurse(monkeypatch: pytest.MonkeyPatch) -> None:
    """A failing redaction detector logs a warning while a line is being formatted; that warning is written
    once, not redacted again (which would recurse), and the original line still comes out redacted."""
    import io

    import service.logs

    def redact_that_warns(text: str) -> str:
        logging.getLogger("models.redaction").warning("redaction detector names failed: ValueError")
        return text.replace(PHONE, "[TELEFOON]")

    monkeypatch.setattr(service.logs, "redact", redact_that_warns)
    out = io.StringIO()
    service.logs.configure_logging("info", "json", stream=out)
    try:
        logging.getLogger("wegwijzer").warning("terugbellen op %s", PHONE)
    finally:
        service.logs.configure_logging("info", "json")
    lines = json_lines(out.getvalue())
    assert [line["event"] for line in lines] == ["redaction detector names failed: ValueError",
                                                 "terugbellen op [TELEFOON]"]
