"""The Ray backfill with the tiny model: results equal the API's /v1/triage/batch for the same posts,
bad rows are reported with their line (never dropped), done partitions are skipped on a rerun, and
Parquet input reads like JSONL."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.settings import Settings
from tests.conftest import MINI
from tests.test_service_api import ADMIN, KEYS
from tests.test_service_process import ROOT

POSTS = [json.loads(line) for line in (MINI / "posts.jsonl").read_text(encoding="utf-8").splitlines()][:23]
BAD = {3: "{not json", 8: '{"title": "zonder body"}', 12: '{"body": "   "}', 17: "[1, 2]"}  # line -> text


@pytest.fixture(scope="module")
def ray_local() -> Iterator[None]:
    import ray

    yield
    ray.shutdown()


@pytest.fixture()
def kb_store(tiny_model: Path, tmp_path: Path) -> Iterator[tuple[str, TestClient]]:
    """A seeded store, and the API on it (to compare with)."""
    settings = Settings(model_dir=tiny_model, store_url=f"sqlite:///{tmp_path / 'kb.sqlite3'}", api_keys=KEYS,
                        seed_kb=MINI / "kb.jsonl", max_batch=256)
    with TestClient(create_app(settings)) as client:
        yield settings.store_url, client


def write_input(path: Path) -> dict[int, dict]:
    """JSONL with the posts and, at the BAD lines, bad rows; returns line -> post."""
    lines, by_line, posts = [], {}, iter(POSTS)
    for n in range(1, len(POSTS) + len(BAD) + 1):
        if n in BAD:
            lines.append(BAD[n])
        else:
            by_line[n] = next(posts)
            lines.append(json.dumps(by_line[n], ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return by_line


def run(args: list[str]) -> int:
    from service.backfill.__main__ import main

    return main([*args, "--no-progress"])


def read_output(out: Path) -> list[dict]:
    rows = [r for p in sorted(out.glob("part-*.parquet")) for r in pq.read_table(p).to_pylist()]
    return sorted(rows, key=lambda r: r["line"])


def test_backfill_equals_the_api_reports_bad_rows_and_resumes(ray_local: None, kb_store: tuple, tiny_model: Path,
                                                              tmp_path: Path) -> None:
    store_url, client = kb_store
    src = tmp_path / "posts.jsonl"
    by_line = write_input(src)
    out = tmp_path / "out"
    args = ["--input", str(src), "--output", str(out), "--model", str(tiny_model), "--store", store_url,
            "--workers", "1", "--batch-size", "4", "--partition-size", "10"]
    assert run(args) == 0
    assert sorted(p.name for p in out.glob("part-*.parquet")) == ["part-00000.parquet", "part-00001.parquet",
                                                                  "part-00002.parquet"]
    rows = read_output(out)
    assert [r["line"] for r in rows] == sorted(by_line)  # every valid post, once
    assert [r["post_id"] for r in rows] == [by_line[r["line"]]["id"] for r in rows]

    errors = [json.loads(line) for f in sorted((out / "errors").glob("*.jsonl"))
              for line in f.read_text(encoding="utf-8").splitlines()]
    assert [(e["line"], e["file"]) for e in errors] == [(n, str(src)) for n in sorted(BAD)]
    reasons = {e["line"]: e["error"] for e in errors}
    assert "invalid JSON" in reasons[3] and "body" in reasons[8] and "empty" in reasons[12]
    assert "object" in reasons[17]

    api = client.post("/v1/triage/batch", json={"posts": [by_line[r["line"]] for r in rows]}, headers=ADMIN)
    assert api.status_code == 200
    for row, want in zip(rows, api.json()["results"], strict=True):
        for head, h in want["labels"].items():
            assert row[head] == h["label"], (row["line"], head)
            assert row[f"{head}_confidence"] == pytest.approx(h["confidence"], abs=2e-3)
        assert row["route_target"] == want["route"]["target"] and row["route_reasons"] == want["route"]["reasons"]
        assert row["suggestion_ids"] == [s["answer_id"] for s in want["suggestions"]]
        assert row["suggestion_scores"] == pytest.approx([s["score"] for s in want["suggestions"]], abs=2e-3)
        assert row["model_version"] == want["model_version"] and row["language"] == want["language"]
    assert any(r["suggestion_ids"] for r in rows)  # the knowledge base was searched

    first = {p.name: p.stat().st_mtime_ns for p in out.glob("part-*.parquet")}
    (out / "part-00001.parquet").unlink()  # as if the run had stopped before this partition was done
    assert run(args) == 0
    again = {p.name: p.stat().st_mtime_ns for p in out.glob("part-*.parquet")}
    assert again["part-00000.parquet"] == first["part-00000.parquet"]
    assert again["part-00002.parquet"] == first["part-00002.parquet"]
    assert again["part-00001.parquet"] != first["part-00001.parquet"]
    assert read_output(out) == rows


def test_parquet_input_and_two_workers(ray_local: None, kb_store: tuple, tiny_model: Path, tmp_path: Path) -> None:
    import pyarrow as pa

    store_url, _ = kb_store
    src = tmp_path / "in"
    src.mkdir()
    posts = [{"id": p["id"], "title": p["title"], "body": p["body"]} for p in POSTS]
    pq.write_table(pa.Table.from_pylist(posts[:12]), src / "a.parquet")
    pq.write_table(pa.Table.from_pylist(posts[12:] + [{"id": "leeg", "title": "x", "body": " "}]), src / "b.parquet")
    out = tmp_path / "out"
    assert run(["--input", str(src), "--output", str(out), "--model", str(tiny_model), "--store", store_url,
                "--workers", "2", "--batch-size", "5"]) == 0
    rows = read_output(out)
    assert sorted(r["post_id"] for r in rows) == sorted(p["id"] for p in posts)
    [error] = [json.loads(line) for line in (out / "errors" / "part-00000.jsonl").read_text().splitlines()]
    assert error["file"].endswith("b.parquet") and error["line"] == len(posts) - 12 + 1


def test_bad_arguments_are_reported(tiny_model: Path, tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        run(["--input", str(tmp_path), "--output", str(tmp_path / "o"), "--workers", "0", "--model", str(tiny_model)])
    assert exc.value.code == 2
    assert run(["--input", str(tmp_path / "missing.jsonl"), "--output", str(tmp_path / "o"),
                "--model", str(tiny_model), "--store", str(tmp_path / "kb.sqlite3")]) == 2
    assert not (tmp_path / "o").exists()


def test_the_service_never_imports_ray(tiny_model: Path, tmp_path: Path) -> None:
    code = ("import sys, service.app, service.backfill, service.backfill.inputs\n"
            "assert 'ray' not in sys.modules, 'ray imported'\n")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
