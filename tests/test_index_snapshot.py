"""The approximate (HNSW) mode of the answer index and its snapshots: a restart loads the index
from disk, applies the store's changes after the snapshot's watermark, and rebuilds from the store
when the snapshot is missing, damaged, or made with another model or from another store."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from models.index import AnnConfig, VectorIndex
from service import index_loading, snapshot
from service.app import create_app
from service.settings import Settings
from service.store import Store
from tests.conftest import MINI, tiny_config
from tests.test_service_api import ADMIN, KEYS, WEBCARE
from tests.tiny import random_unit

WORDS = ["modem", "factuur", "esim", "roaming", "storing", "wifi", "pincode", "bundel", "abonnement", "telefoon"]
# ef >= answers: the graph sees every answer; float32 graph distances rank like the exact re-scoring.
# (bench/ann.py measures the int8 graph against exact search on real queries.)
SMALL_ANN = AnnConfig(min_answers=100, expansion_search=400, build_threads=1, dtype="f32", exact_share=0.1)


def corpus(n: int, dim: int = 16, seed: int = 0) -> tuple[list[str], np.ndarray, list[dict], list[str]]:
    rng = np.random.default_rng(seed)
    ids = [f"a{i}" for i in range(n)]
    meta = [{"product": ["apple", "samsung", "prepaid"][i % 3] if i % 7 else "rare", "topic": f"t{i % 4}"}
            for i in range(n)]
    texts = [" ".join(rng.choice(WORDS, size=6)) for _ in range(n)]
    return ids, random_unit(n, dim, seed=seed), meta, texts


def ranked(hits: list[list]) -> list[list[str]]:
    return [[h.answer_id for h in row] for row in hits]


def same(a: list[list], b: list[list]) -> bool:
    """Same answers in the same order, with the same scores (up to float summation order)."""
    return ranked(a) == ranked(b) and all(abs(x.score - y.score) < 1e-5 and abs(x.lexical - y.lexical) < 1e-5
                                          for ra, rb in zip(a, b, strict=True) for x, y in zip(ra, rb, strict=True))


def test_hnsw_top_k_equals_exact_and_keeps_the_contract() -> None:
    ids, vecs, meta, texts = corpus(300)
    idx = VectorIndex(16, lexical_weight=0.05, lexical_candidates=20, ann=SMALL_ANN)
    idx.rebuild(ids, vecs, meta, texts)
    assert idx.approximate
    queries = random_unit(20, 16, seed=9)
    qtexts = [" ".join(WORDS[i % 10: i % 10 + 2]) for i in range(20)]
    for kw in ({}, {"texts": qtexts}, {"filters": {"product": "apple"}}, {"filters": {"product": "rare"}},
               {"filters": {"product": "samsung", "topic": "t1"}, "texts": qtexts}):
        assert same(idx.search(queries, 5, **kw), idx.search(queries, 5, exact=True, **kw)), kw
    hits = idx.search(vecs[[7]], 3)[0]
    assert hits[0].answer_id == "a7" and hits[0].score == pytest.approx(1.0, abs=1e-6)  # exact re-scoring
    assert all(h.product == "rare" for h in idx.search(queries, 10, {"product": "rare"})[0])
    assert idx.search(queries[:1], 3, {"product": "nothing"}) == [[]]
    new = random_unit(1, 16, seed=5)  # upsert moves an answer, delete removes it, slots are reused
    idx.upsert(["a7"], new, [{"product": "apple"}], ["nieuwe tekst"])
    assert idx.search(new, 1)[0][0].answer_id == "a7" and len(idx) == 300
    idx.delete("a7")
    assert len(idx) == 299 and all(h.answer_id != "a7" for h in idx.search(new, 50)[0])
    idx.upsert(["b1"], new, [{"product": "samsung"}], ["modem"])
    assert idx.search(new, 1)[0][0].answer_id == "b1" and idx.search(new, 1, {"product": "samsung"})[0][0].score > 0.99


def test_the_graph_is_asked_for_fewer_bm25_candidates_with_lexical_fetch() -> None:
    """lexical_fetch sizes the pool BM25 re-scores on its own (None: rerank times, as before); the
    answers served still get `rerank` times their number, and the ranking stays exact here."""
    import dataclasses

    ids, vecs, meta, texts = corpus(300)
    idx = VectorIndex(16, lexical_weight=0.05, lexical_candidates=20, ann=dataclasses.replace(SMALL_ANN, rerank=4))
    idx.rebuild(ids, vecs, meta, texts)
    asked: list[int] = []
    graph_search = idx._graph.search  # noqa: SLF001 - counting what the graph is asked for
    idx._graph.search = lambda q, count, **kw: (asked.append(count), graph_search(q, count, **kw))[1]  # noqa: SLF001
    queries, qtexts = random_unit(5, 16, seed=3), [" ".join(WORDS[i:i + 2]) for i in range(5)]
    for fetch, wanted in ((None, 80), (1.0, 32), (2.0, 40)):  # 20 candidates x 4; max(5 x 4, 20, 32); 20 x 2
        idx.ann = dataclasses.replace(idx.ann, lexical_fetch=fetch)
        assert same(idx.search(queries, 5, texts=qtexts), idx.search(queries, 5, texts=qtexts, exact=True)), fetch
        assert asked[-1] == wanted, fetch
        idx.search(queries, 5)  # no lexical part: k x rerank, whatever lexical_fetch is
        assert asked[-1] == 32


def test_the_index_turns_approximate_at_its_size_threshold() -> None:
    ids, vecs, meta, _ = corpus(120)
    idx = VectorIndex(16, ann=SMALL_ANN)
    idx.rebuild(ids[:99], vecs[:99], meta[:99])
    assert not idx.approximate and idx.search(vecs[:1], 1)[0][0].score == pytest.approx(1.0, abs=1e-6)
    idx.upsert(ids[99:], vecs[99:], meta[99:])
    assert idx.approximate and idx.search(vecs[110:111], 1)[0][0].answer_id == "a110"


@pytest.mark.parametrize("ann", [AnnConfig(), SMALL_ANN], ids=["exact", "hnsw"])
def test_snapshot_round_trip_gives_the_same_results(tmp_path: Path, ann: AnnConfig) -> None:
    ids, vecs, meta, texts = corpus(300)
    idx = VectorIndex(16, lexical_weight=0.05, lexical_candidates=20, ann=ann)
    idx.rebuild(ids, vecs, meta, texts)
    idx.delete("a3")  # a free slot survives the round trip
    snapshot.save(idx, tmp_path, watermark=42, model_sha="sha", store_id="s")
    loaded = VectorIndex(16, lexical_weight=0.05, lexical_candidates=20, ann=ann)
    assert snapshot.load(loaded, tmp_path, "sha", "s") == 42
    assert loaded.approximate == idx.approximate and len(loaded) == 299
    queries = random_unit(10, 16, seed=3)
    qtexts = ["modem wifi"] * 10
    before = idx.search(queries, 5, texts=qtexts)
    for kw in ({}, {"texts": qtexts}, {"filters": {"product": "prepaid"}, "texts": qtexts}):
        assert same(loaded.search(queries, 5, **kw), idx.search(queries, 5, **kw))
    for target in (idx, loaded):  # the loaded index takes writes like the original
        target.upsert(["a3", "z"], vecs[:2], [{"product": "apple"}, {}], ["esim", "factuur"])
        target.upsert(["a5"], vecs[7:8], [{"product": "apple"}], ["modem wifi modem"])  # a restored slot, rewritten
        target.delete("a10")
    assert same(loaded.search(queries, 5, texts=qtexts), idx.search(queries, 5, texts=qtexts))
    again = VectorIndex(16, lexical_weight=0.05, lexical_candidates=20, ann=ann)  # the loaded index's writes
    assert snapshot.load(again, tmp_path, "sha", "s") == 42  # stayed in its process: the files are unchanged
    assert same(again.search(queries, 5, texts=qtexts), before) and len(again) == 299
    snapshot.save(again, tmp_path, watermark=42, model_sha="sha", store_id="s")  # saved from its own mapped files
    assert snapshot.load(again, tmp_path, "sha", "s") == 42 and same(again.search(queries, 5, texts=qtexts), before)
    meta = json.loads((tmp_path / snapshot.META).read_text())
    assert sorted(meta["mapped"]) == ["lex_counts", "lex_terms", "matrix"]
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == sorted(
        [snapshot.META, *meta["mapped"].values(), *(n for n in (meta[k] for k in ("data", "graph")) if n)])
    snapshot.save(loaded, tmp_path, watermark=43, model_sha="sha", store_id="s")  # old generation files go
    assert len([p for p in tmp_path.iterdir() if p.suffix in (".npz", ".usearch")]) == (2 if ann is SMALL_ANN else 1)


def test_foreign_or_damaged_snapshots_are_not_used(tmp_path: Path) -> None:
    ids, vecs, meta, texts = corpus(150)
    idx = VectorIndex(16, lexical_weight=0.05, ann=SMALL_ANN)
    idx.rebuild(ids, vecs, meta, texts)
    saved = snapshot.save(idx, tmp_path, 7, "sha", "store")
    fresh = VectorIndex(16, lexical_weight=0.05, ann=SMALL_ANN)
    assert snapshot.load(fresh, tmp_path, "other-model", "store") is None and len(fresh) == 0
    assert snapshot.load(fresh, tmp_path, "sha", "another-store") is None
    assert snapshot.load(VectorIndex(8, lexical_weight=0.05), tmp_path, "sha", "store") is None  # other dim
    assert snapshot.load(VectorIndex(16), tmp_path, "sha", "store") is None  # no lexical part here
    for changed in ({"connectivity": 8}, {"dtype": "i8"}):  # the graph's settings changed: rebuild with them
        other = VectorIndex(16, lexical_weight=0.05, ann=dataclasses.replace(SMALL_ANN, **changed))
        assert snapshot.load(other, tmp_path, "sha", "store") is None and len(other) == 0
    assert snapshot.load(fresh, tmp_path, "sha", "store") == 7 and len(fresh) == 150  # the same settings: used
    fresh = VectorIndex(16, lexical_weight=0.05, ann=SMALL_ANN)
    (tmp_path / saved["graph"]).write_bytes(b"not a graph")
    assert snapshot.load(fresh, tmp_path, "sha", "store") is None and len(fresh) == 0
    snapshot.save(idx, tmp_path, 7, "sha", "store")
    meta_now = json.loads((tmp_path / snapshot.META).read_text())
    data = tmp_path / meta_now["data"]
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])  # truncated
    assert snapshot.load(fresh, tmp_path, "sha", "store") is None and len(fresh) == 0
    (tmp_path / snapshot.META).write_text("{")
    assert snapshot.load(fresh, tmp_path, "sha", "store") is None


# the service: snapshot at start, changes after its watermark, rebuilds -----------------------------------------

QUERY = "Hoe zet ik de voicemail uit op mijn Fairphone 5?"
ANSWER = {"title": "Voicemail uitzetten op een Fairphone", "question": QUERY,
          "answer": "Bel ##002# en druk op de belknop; daarna is doorschakelen naar voicemail uit.",
          "topic": "device", "product": "other_device"}


def ids_near(client: TestClient, vector: np.ndarray, k: int = 3) -> list[str]:
    """The served index's nearest answers to `vector` (exact dense search, no lexical part)."""
    return [h.answer_id for h in client.app.state.engine.index.search(vector[None], k)[0]]


def test_restart_loads_the_snapshot_and_applies_later_changes(tiny_model: Path, store_url: str, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(model_dir=tiny_model, store_url=store_url, api_keys=KEYS, seed_kb=MINI / "kb.jsonl",
                        index_dir=tmp_path / "index")
    with TestClient(create_app(settings)) as c:
        answers = c.get("/readyz").json()["answers"]
        assert c.put("/v1/answers/kb-voicemail", json=ANSWER, headers=ADMIN).status_code == 200
    assert (tmp_path / "index" / snapshot.META).is_file()
    # meanwhile, another process writes the store: one answer in, one out (the change feed has both)
    store = Store(store_url)
    rows, emb, shas = store.all_answers()
    gone = rows[0]["id"]
    voicemail = emb[[r["id"] for r in rows].index("kb-voicemail")]
    store.upsert_answers([{**rows[1], "id": "kb-other-writer"}], emb[1:2] * 0 + voicemail, shas.pop())
    store.delete_answer(gone)
    store.close()
    rebuilt = []
    monkeypatch.setattr(index_loading, "rebuild_index", lambda engine: rebuilt.append(engine))
    with TestClient(create_app(settings)) as c:
        assert c.get("/readyz").json()["answers"] == answers + 1
        assert set(ids_near(c, voicemail, 2)) == {"kb-voicemail", "kb-other-writer"}
        assert gone not in ids_near(c, emb[0], answers + 1)
        assert "kb-voicemail" in suggested(c)
    assert not rebuilt  # loaded, not rebuilt


def suggested(client: TestClient) -> list[str]:
    r = client.post("/v1/suggestions", json={"post": {"body": QUERY}, "filters": {"product": "other_device"},
                                             "limit": 5}, headers=WEBCARE)
    assert r.status_code == 200, r.text
    return [s["answer_id"] for s in r.json()["suggestions"]]


def test_a_snapshot_from_another_model_or_a_damaged_one_means_a_rebuild(tiny_model: Path, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(model_dir=tiny_model, store_url=f"sqlite:///{tmp_path / 's.sqlite3'}", api_keys=KEYS,
                        seed_kb=MINI / "kb.jsonl")
    folder = tmp_path / "index"  # the default: beside the SQLite store
    assert settings.index_snapshot_dir == folder
    with TestClient(create_app(settings)) as c:
        probe = c.app.state.engine.store.all_answers()[1][3]  # a stored answer's own vector
        first = (suggested(c), ids_near(c, probe, 5))
    rebuilds = []
    real = index_loading.rebuild_index
    monkeypatch.setattr(index_loading, "rebuild_index", lambda engine: (rebuilds.append(1), real(engine)))
    meta = json.loads((folder / snapshot.META).read_text())
    (folder / snapshot.META).write_text(json.dumps({**meta, "model_sha": "another-model"}))
    with TestClient(create_app(settings)) as c:
        assert (suggested(c), ids_near(c, probe, 5)) == first
    assert len(rebuilds) == 1
    meta = json.loads((folder / snapshot.META).read_text())
    (folder / meta["data"]).write_bytes(b"garbage")
    with TestClient(create_app(settings)) as c:
        assert (suggested(c), ids_near(c, probe, 5)) == first
    assert len(rebuilds) == 2
    with TestClient(create_app(settings)) as c:  # the rebuild wrote a good snapshot again
        assert (suggested(c), ids_near(c, probe, 5)) == first
    assert len(rebuilds) == 2


def test_a_rebuilt_index_is_served_from_its_mapped_snapshot(tiny_model: Path, tmp_path: Path) -> None:
    """After a rebuild the index is saved and mapped back, so a first start holds what a restart holds;
    with snapshots off it stays in RAM and serves the same answers."""
    found = {}
    for snapshots in (True, False):
        settings = Settings(model_dir=tiny_model, store_url=f"sqlite:///{tmp_path / str(snapshots) / 's.sqlite3'}",
                            api_keys=KEYS, seed_kb=MINI / "kb.jsonl", index_snapshots=snapshots)
        with TestClient(create_app(settings)) as c:
            index = c.app.state.engine.index
            assert index.memory_mapped is snapshots
            found[snapshots] = suggested(c)
            assert c.put("/v1/answers/kb-voicemail", json=ANSWER, headers=ADMIN).status_code == 200  # writable
            assert "kb-voicemail" in suggested(c)
    assert found[True] == found[False]


def test_the_rebuild_reads_pages_and_re_embeds_only_another_models_answers(tiny_model: Path, tmp_path: Path) -> None:
    settings = Settings(model_dir=tiny_model, store_url=f"sqlite:///{tmp_path / 's.sqlite3'}", api_keys=KEYS,
                        seed_kb=MINI / "kb.jsonl", index_snapshots=False)
    with TestClient(create_app(settings)) as c:
        engine = c.app.state.engine
        rows, emb, _ = engine.store.all_answers()
        expected = suggested(c)
        stale = [rows[1], rows[4]]
        engine.store.upsert_answers(stale, emb[[1, 4]] * 0 + 1 / np.sqrt(emb.shape[1]), "an-older-model")
        embedded: list[int] = []
        real = engine.model.embed_passages
        engine.model.embed_passages = lambda texts: (embedded.append(len(texts)), real(texts))[1]
        index_loading.rebuild_index(engine, page=2)
        assert embedded == [1, 1]  # only the two answers of the other model, each in its page
        again, emb_again, shas = engine.store.all_answers()
        assert shas == {engine.model.embedding_sha} and np.allclose(emb_again, emb, atol=1e-6)
        assert len(engine.index) == len(rows) and suggested(c) == expected


def test_a_snapshot_that_cannot_be_read_back_after_the_rebuild_means_rebuilding_again(
        tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def unreadable(index, *args):  # noqa: ANN001, ANN202 - what snapshot.load does with a damaged file
        index.rebuild([], np.zeros((0, index.dim), np.float32), [], [] if index.lexical_weight else None)

    monkeypatch.setattr(index_loading.snapshot, "load", unreadable)
    settings = Settings(model_dir=tiny_model, store_url=f"sqlite:///{tmp_path / 's.sqlite3'}", api_keys=KEYS,
                        seed_kb=MINI / "kb.jsonl")
    with TestClient(create_app(settings)) as c:
        engine = c.app.state.engine
        assert len(engine.index) == engine.store.count_answers() > 0 and not engine.index.memory_mapped
        rows, emb, _ = engine.store.all_answers()
        assert ids_near(c, emb[2], 1) == [rows[2]["id"]]  # served from the rebuilt index in memory


def test_an_unchanged_index_is_not_written_again_at_shutdown(tiny_model: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A restart that changed nothing keeps the snapshot on disk as it is; one write means a new one,
    and the next start loads it (no rebuild) with that write in it."""
    settings = Settings(model_dir=tiny_model, store_url=f"sqlite:///{tmp_path / 's.sqlite3'}", api_keys=KEYS,
                        seed_kb=MINI / "kb.jsonl")
    meta = settings.index_snapshot_dir / snapshot.META
    with TestClient(create_app(settings)):
        pass  # first start: seeded, rebuilt and saved; the seeding changed the index, so saved at shutdown too
    first = json.loads(meta.read_text())["data"]
    with TestClient(create_app(settings)) as c:
        assert c.get("/readyz").status_code == 200
    assert json.loads(meta.read_text())["data"] == first  # nothing changed: not rewritten
    with TestClient(create_app(settings)) as c:
        assert c.put("/v1/answers/kb-voicemail", json=ANSWER, headers=ADMIN).status_code == 200
    assert json.loads(meta.read_text())["data"] != first
    rebuilt: list[object] = []
    monkeypatch.setattr(index_loading, "rebuild_index", lambda engine: rebuilt.append(engine))
    with TestClient(create_app(settings)) as c:
        assert "kb-voicemail" in suggested(c)
    assert not rebuilt


def test_a_retrained_model_on_the_same_tower_keeps_the_stored_embeddings_and_the_snapshot(
        tiny_model: Path, tiny_base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Retraining on one base with the frozen tower changes the heads and the graph, not the passage
    embedding: the new model serves the store's embeddings and the index snapshot as they are. Another
    embedding (here: another length limit) means re-embedding, as before."""
    from models.artifact import load_manifest
    from training.train import train_model

    retrained, other_tower = tmp_path / "retrained", tmp_path / "other-tower"
    train_model(MINI, retrained, tiny_config(tiny_base, epochs=1, seed=7))
    train_model(MINI, other_tower, tiny_config(tiny_base, epochs=1, max_length=48))
    first, second, third = (load_manifest(m, verify_files=False) for m in (tiny_model, retrained, other_tower))
    assert first.files["model.onnx"] != second.files["model.onnx"]
    assert first.retrieval["embedding_sha"] == second.retrieval["embedding_sha"]
    assert third.retrieval["embedding_sha"] != first.retrieval["embedding_sha"]

    store = f"sqlite:///{tmp_path / 's.sqlite3'}"
    with TestClient(create_app(Settings(model_dir=tiny_model, store_url=store, api_keys=KEYS,
                                        seed_kb=MINI / "kb.jsonl"))) as c:
        probe = c.app.state.engine.store.all_answers()[1][2]  # a stored answer's own vector
        near = ids_near(c, probe, 5)
    rebuilt: list[object] = []
    real = index_loading.rebuild_index
    monkeypatch.setattr(index_loading, "rebuild_index", lambda engine: (rebuilt.append(engine), real(engine))[1])
    with TestClient(create_app(Settings(model_dir=retrained, store_url=store, api_keys=KEYS))) as c:
        embedded: list[int] = []
        model = c.app.state.engine.model
        assert ids_near(c, probe, 5) == near  # the same vectors
        real_embed = model.embed_passages
        model.embed_passages = lambda texts: (embedded.append(len(texts)), real_embed(texts))[1]
    assert not rebuilt and not embedded  # snapshot loaded, nothing re-embedded
    with TestClient(create_app(Settings(model_dir=other_tower, store_url=store, api_keys=KEYS))) as c:
        assert c.get("/readyz").status_code == 200
        _, _, shas = c.app.state.engine.store.all_answers()
        assert shas == {third.retrieval["embedding_sha"]}  # re-embedded and written back for this model
    assert len(rebuilt) == 1
