"""SQLite store (WAL, migrations) and the in-memory vector index."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np

from service.index import VectorIndex
from service.store import MIGRATIONS, Store
from tests.tiny import random_unit


def test_store_is_wal_and_versioned(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    assert store.schema_version == len(MIGRATIONS)
    con = sqlite3.connect(tmp_path / "s.sqlite3")
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.close()
    assert Store(tmp_path / "s.sqlite3").schema_version == len(MIGRATIONS)  # reopening migrates nothing


def test_answers_round_trip(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    emb = random_unit(2, 8)
    store.upsert_answers([{"id": "a", "title": "A", "answer": "x", "extra_field": 1},
                          {"id": "b", "title": "B", "answer": "y", "product": "apple"}], emb, "sha")
    assert store.get_answer("a")["extra_field"] == 1
    rows, matrix, shas = store.all_answers()
    assert [r["id"] for r in rows] == ["a", "b"] and np.allclose(matrix, emb) and shas == {"sha"}
    assert store.delete_answer("a") and not store.delete_answer("a")
    assert store.count_answers() == 1


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
