"""The store on SQLite and PostgreSQL (migrations, answers, feedback, the change feed) and the in-memory
vector index."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from models.index import VectorIndex
from service.db import changes
from service.db.migrate import head_revision
from service.db.url import parse_store_url
from service.store import Store
from tests.tiny import random_unit

HEAD = int(head_revision())

# The schema steps before Alembic (service/store.py's MIGRATIONS list, SQLite user_version 1-4),
# verbatim: files made by them must open and upgrade.
LEGACY = [
    """
    CREATE TABLE answers (id TEXT PRIMARY KEY, title TEXT NOT NULL, question TEXT, answer TEXT NOT NULL,
        topic TEXT, product TEXT, url TEXT, updated_at TEXT NOT NULL, extra TEXT NOT NULL DEFAULT '{}',
        embedding BLOB NOT NULL, model_sha256 TEXT NOT NULL);
    CREATE TABLE feedback (id INTEGER PRIMARY KEY AUTOINCREMENT, post_id TEXT, role TEXT NOT NULL,
        created_at TEXT NOT NULL, payload TEXT NOT NULL);
    """,
    """
    CREATE TABLE threads (thread_id TEXT PRIMARY KEY, content_sha256 TEXT NOT NULL, created_at TEXT NOT NULL,
        route TEXT, topic TEXT, product TEXT, labelled INTEGER NOT NULL, first_answer_s REAL, solution_s REAL,
        answer_id TEXT, solver_id TEXT, solver_role TEXT, solver_reply_s REAL, solver_last_at TEXT,
        imported_at TEXT NOT NULL);
    CREATE INDEX threads_solver ON threads (solver_id);
    CREATE TABLE experts (id TEXT PRIMARY KEY, name TEXT, name_by_hand INTEGER NOT NULL DEFAULT 0,
        role TEXT NOT NULL, available INTEGER NOT NULL DEFAULT 1, max_open INTEGER,
        open_questions INTEGER NOT NULL DEFAULT 0, specialities TEXT NOT NULL DEFAULT '[]', updated_at TEXT NOT NULL);
    """,
    """
    CREATE TABLE triage_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE triage_log (post_id TEXT PRIMARY KEY, created_ts REAL NOT NULL, stored_ts REAL NOT NULL,
        thread_id TEXT, author_key TEXT, title TEXT NOT NULL, body TEXT NOT NULL, labels TEXT NOT NULL,
        route TEXT NOT NULL, reasons TEXT NOT NULL, embedding BLOB NOT NULL, incident_id TEXT);
    CREATE INDEX triage_log_created ON triage_log (created_ts);
    CREATE INDEX triage_log_stored ON triage_log (stored_ts);
    CREATE INDEX triage_log_incident ON triage_log (incident_id);
    CREATE TABLE incidents (id TEXT PRIMARY KEY, status TEXT NOT NULL CHECK (status IN ('open', 'closed')),
        opened_ts REAL NOT NULL, last_seen_ts REAL NOT NULL, post_count INTEGER NOT NULL,
        author_count INTEGER NOT NULL, summary TEXT NOT NULL, terms TEXT NOT NULL DEFAULT '[]', topic TEXT,
        product TEXT, representative TEXT, status_message TEXT, status_ts REAL, closed_ts REAL, closed_reason TEXT,
        updated_ts REAL NOT NULL);
    CREATE INDEX incidents_opened ON incidents (opened_ts);
    """,
    # issue 15 (the console), user_version 4: revision 0005 now, after the change feed
    """
    ALTER TABLE triage_log ADD COLUMN result TEXT;
    CREATE INDEX feedback_post ON feedback (post_id);
    """,
]


def test_sqlite_store_is_wal_and_versioned(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    assert store.schema_version == HEAD
    con = sqlite3.connect(tmp_path / "s.sqlite3")
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("PRAGMA user_version").fetchone()[0] == HEAD
    store.close()
    assert Store(f"sqlite:///{tmp_path / 's.sqlite3'}").schema_version == HEAD  # reopening migrates nothing


def test_head_is_alembics_newest_revision_and_a_current_store_opens_without_sqlalchemy(tmp_path: Path) -> None:
    import subprocess
    import sys

    from service.db import migrate

    assert migrate.HEAD == head_revision()
    path = tmp_path / "s.sqlite3"
    assert migrate.stored_revision(parse_store_url(f"sqlite:///{path}")) is None  # no file yet
    Store(path).close()
    assert migrate.stored_revision(parse_store_url(f"sqlite:///{path}")) == migrate.HEAD
    code = ("import sys; from service.store import Store; s = Store(sys.argv[1]); "
            "print(s.schema_version, 'sqlalchemy' in sys.modules, 'alembic' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True)
    assert out.stdout.split() == [str(HEAD), "False", "False"]


@pytest.mark.parametrize("version", [1, 2, 3, 4])
def test_pre_alembic_sqlite_files_open_and_upgrade(tmp_path: Path, version: int) -> None:
    path = tmp_path / "old.sqlite3"
    con = sqlite3.connect(path, isolation_level=None)
    for target in range(version):
        con.executescript("BEGIN;" + LEGACY[target] + f"PRAGMA user_version={target + 1};COMMIT;")
    emb = random_unit(1, 8).astype(np.float32)
    con.execute("INSERT INTO answers VALUES ('kb-1','T',NULL,'A',NULL,NULL,NULL,'2026-01-01','{\"x\": 1}',?,'sha')",
                (emb.tobytes(),))
    con.execute("INSERT INTO feedback (post_id, role, created_at, payload) VALUES ('p1','webcare','t','{}')")
    con.close()
    store = Store(path)
    assert store.schema_version == HEAD
    rows, matrix, _ = store.all_answers()
    assert rows == [{"id": "kb-1", "title": "T", "answer": "A", "updated_at": "2026-01-01", "x": 1}]
    assert np.array_equal(matrix, emb)
    assert store.add_feedback("p2", "webcare", {"topic": "sim"}) == 2  # the id sequence continues
    store.upsert_answers([{"id": "kb-2", "title": "U", "answer": "B"}], emb, "sha")
    assert store.count_answers() == 2
    assert [r[0] for r in store.query("SELECT post_id FROM triage_log")] == []  # later tables exist
    assert [r[0] for r in store.query("SELECT result FROM triage_log")] == []  # the console's column too
    assert store.change_watermark() >= 0
    con = sqlite3.connect(path)
    assert con.execute("SELECT COUNT(*) FROM sqlite_master WHERE type='index' AND name='feedback_post'").fetchone()[0]
    con.close()


def test_store_url_parsing() -> None:
    assert parse_store_url("var/x.sqlite3").path == Path("var/x.sqlite3")
    assert parse_store_url("sqlite:///var/x.sqlite3").path == Path("var/x.sqlite3")
    assert parse_store_url("sqlite:////abs/x.sqlite3").path == Path("/abs/x.sqlite3")
    pg = parse_store_url("postgres://u:secret@db:5432/wegwijzer")
    assert pg.dialect == "postgresql" and pg.url == "postgresql://u:secret@db:5432/wegwijzer"
    assert "secret" not in pg.redacted()
    for bad in ("sqlite:///", "sqlite:///:memory:", "mysql://h/db", "postgresql://host", "postgresql://h:x/db", ""):
        with pytest.raises(ValueError):
            parse_store_url(bad)


def test_answers_round_trip(store_url: str) -> None:
    store = Store(store_url)
    assert store.schema_version == HEAD
    emb = random_unit(2, 8)
    store.upsert_answers([{"id": "a", "title": "A", "answer": "x", "extra_field": 1},
                          {"id": "b", "title": "B", "answer": "y", "product": "apple"}], emb, "sha")
    assert store.get_answer("a")["extra_field"] == 1
    rows, matrix, shas = store.all_answers()
    assert [r["id"] for r in rows] == ["a", "b"] and np.allclose(matrix, emb) and shas == {"sha"}
    store.upsert_answers([{"id": "a", "title": "A2", "answer": "z"}], emb[:1], "sha2")
    replaced = store.get_answer("a")
    assert replaced is not None and replaced["title"] == "A2" and "extra_field" not in replaced
    assert store.delete_answer("a") and not store.delete_answer("a")
    assert store.count_answers() == 1
    got, m, _ = store.answers_by_id(["a", "b"])
    assert [r["id"] for r in got] == ["b"] and np.allclose(m, emb[1:])
    store.close()
    assert Store(store_url).schema_version == HEAD  # reopening migrates nothing


def test_answer_pages_cover_every_answer_once_in_id_order(store_url: str) -> None:
    store = Store(store_url)
    emb = random_unit(7, 8)
    store.upsert_answers([{"id": f"a{i}", "title": f"T{i}", "answer": "x"} for i in range(7)], emb, "sha")
    store.upsert_answers([{"id": "a3", "title": "T3", "answer": "x"}], emb[3:4], "old-model")
    pages = list(store.answer_pages(3))
    assert [len(rows) for rows, _, _ in pages] == [3, 3, 1]
    rows, matrix, _ = store.all_answers()
    assert [r for page, _, _ in pages for r in page] == rows
    assert np.array_equal(np.concatenate([m for _, m, _ in pages]), matrix)
    assert [sha for _, _, shas in pages for sha in shas] == ["sha"] * 3 + ["old-model"] + ["sha"] * 3
    assert list(store.answer_pages(10))[0][2] == ["sha"] * 3 + ["old-model"] + ["sha"] * 3
    store.close()


def test_feedback_ids_and_times_round_trip(store_url: str) -> None:
    store = Store(store_url)
    first = store.add_feedback("p1", "webcare", {"topic": "sim"})
    second = store.add_feedback(None, "forum", {"solved_by": "kb-1"})
    assert second > first
    assert [(f["id"], f["post_id"], f.get("topic")) for f in store.feedback()] == [(first, "p1", "sim"),
                                                                                  (second, None, None)]
    with store.transaction() as c:  # times keep double precision on both (REAL in SQLite, FLOAT8 in PostgreSQL)
        c.execute("INSERT INTO triage_meta (key, value) VALUES (?, ?)", ("k", "v"))
        c.execute("INSERT INTO incidents (id, status, opened_ts, last_seen_ts, post_count, author_count, summary, "
                  "updated_ts) VALUES (?,?,?,?,?,?,?,?)", ("i", "open", 1765000000.123456, 1765000000.5, 1, 1, "", 0.0))
    assert store.query("SELECT opened_ts FROM incidents")[0][0] == 1765000000.123456


def test_a_failed_transaction_writes_nothing(store_url: str) -> None:
    store = Store(store_url)
    with pytest.raises(RuntimeError), store.transaction() as c:
        c.execute("INSERT INTO triage_meta (key, value) VALUES (?, ?)", ("k", "v"))
        raise RuntimeError("boom")
    assert store.query("SELECT COUNT(*) FROM triage_meta")[0][0] == 0


def test_answer_writes_and_deletes_enter_the_change_feed(store_url: str) -> None:
    store = Store(store_url)
    start = store.change_watermark()
    emb = random_unit(2, 8)
    store.upsert_answers([{"id": "a", "title": "A", "answer": "x"}, {"id": "b", "title": "B", "answer": "y"}],
                         emb, "sha")
    store.delete_answer("a")
    store.delete_answer("missing")
    feed = changes.since(store.query, start)
    assert [(k, key) for _, k, key in feed] == [("answer", "a"), ("answer", "b"), ("answer", "a")]
    assert [s for s, _, _ in feed] == sorted(s for s, _, _ in feed) and store.change_watermark() == feed[-1][0]


def test_index_search_upsert_delete_filters() -> None:
    vecs = random_unit(50, 16, seed=1)
    idx = VectorIndex(16)
    idx.rebuild([f"a{i}" for i in range(50)], vecs, [{"product": "apple" if i % 2 else "samsung"} for i in range(50)])
    hits = idx.search(vecs[[7]], 3)[0]
    assert hits[0].answer_id == "a7" and hits[0].score > 0.99
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    filtered = idx.search(vecs[[7]], 3, {"product": "samsung"})[0]
    assert all(int(h.answer_id[1:]) % 2 == 0 for h in filtered)
    new = random_unit(1, 16, seed=2)
    idx.upsert(["a7"], new, [{"product": "apple"}])
    assert idx.search(new, 1)[0][0].answer_id == "a7" and len(idx) == 50
    idx.delete("a7")
    assert len(idx) == 49 and all(h.answer_id != "a7" for h in idx.search(new, 49)[0])


def test_empty_index_returns_no_hits() -> None:
    assert VectorIndex(4).search(random_unit(2, 4), 3) == [[], []]
