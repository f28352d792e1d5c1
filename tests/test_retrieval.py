"""Answer retrieval pieces: BM25 (exact under writes), the hybrid index, the frozen
retrieval tower, and the choice of the lexical weight."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from models.index import VectorIndex
from models.lexical import LexicalIndex, bm25_matrix, tokenize
from models.metrics import retrieval_report
from training.config import TrainConfig
from training.retrieval_fit import RetrievalScores, choose_lexical_weight

DOCS = ["Modem knippert rood na storing", "eSIM overzetten naar nieuwe telefoon",
        "Dubbel afgeschreven op de factuur", "Roaming buiten Europa kost extra", "modem modem herstarten"]


def reference_bm25(docs: list[str], query: str, k1: float = 1.2, b: float = 0.75) -> np.ndarray:
    """BM25 straight from the formula, document by document."""
    toks = [tokenize(d) for d in docs]
    avgdl = sum(map(len, toks)) / len(toks)
    out = np.zeros(len(docs))
    for i, t in enumerate(toks):
        tf = Counter(t)
        for term in tokenize(query):
            df = sum(term in d for d in toks)
            idf = math.log(1 + (len(docs) - df + 0.5) / (df + 0.5))
            out[i] += idf * tf[term] * (k1 + 1) / (tf[term] + k1 * (1 - b + b * len(t) / avgdl)) if tf[term] else 0
    return out


def test_bm25_matches_the_formula() -> None:
    for q in ["modem rood", "factuur dubbel afgeschreven", "onbekend woord", "modem modem"]:
        assert np.allclose(bm25_matrix(DOCS, [q])[0], reference_bm25(DOCS, q), atol=1e-5), q


def test_bm25_stays_exact_after_replace_and_delete() -> None:
    idx = LexicalIndex()
    for slot, d in enumerate(DOCS):
        idx.set(slot, d)
    idx.set(0, "Internet valt weg")  # replace
    idx.remove(3)
    live = ["Internet valt weg", DOCS[1], DOCS[2], DOCS[4]]
    got = idx.scores_for("modem internet roaming", np.arange(5))
    want = reference_bm25(live, "modem internet roaming")
    assert np.allclose(got[[0, 1, 2, 4]], want, atol=1e-5) and got[3] == 0
    assert len(idx) == 4


def test_bulk_build_equals_one_by_one_and_stays_exact_under_writes() -> None:
    """set_many packs an empty index straight into the restored layout: the same vocabulary, postings,
    export and scores as indexing the texts one by one, in any slot order, and writes still work."""
    slots = [7, 2, 0, 5, 3]  # unsorted, with gaps
    one, bulk = LexicalIndex(), LexicalIndex()
    for slot, d in sorted(zip(slots, DOCS, strict=True)):  # set_many indexes in slot order (term ids follow)
        one.set(slot, d)
    bulk.set_many(slots, DOCS, page=2)
    a, b = one.export(), bulk.export()
    for key in a:
        n = len(a["slots"]) if key == "doc_len" else None  # doc_len: one set() grows it with spare room
        assert np.array_equal(a[key][:8] if n else a[key], b[key][:8] if n else b[key]), key
    everything = np.arange(8)
    for q in ["modem rood", "factuur dubbel", "nieuw woord"]:
        assert np.array_equal(one.scores_for(q, everything), bulk.scores_for(q, everything)), q
    for idx in (one, bulk):
        idx.set(2, "Internet valt weg")
        idx.remove(5)
        idx.set(9, "modem kapot")
    q, slots10 = "modem internet", np.arange(10)
    assert np.array_equal(one.scores_for(q, slots10), bulk.scores_for(q, slots10))
    restored = LexicalIndex.restore(bulk.export())
    assert np.array_equal(restored.scores_for(q, slots10), one.scores_for(q, slots10))
    with pytest.raises(ValueError, match="one text per slot"):
        LexicalIndex().set_many([0, 1], ["a"])
    twice = LexicalIndex()
    twice.set_many([1, 1], ["modem", "factuur"])  # a repeated slot: the last text wins, as with set
    assert len(twice) == 1 and twice.scores_for("factuur", np.array([1]))[0] > 0


def unit(rows: int, dim: int, seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(rows, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_hybrid_index_ranks_by_fusion_and_reports_dense_scores() -> None:
    vecs = unit(5, 8, 0)
    ids = [f"a{i}" for i in range(5)]
    meta: list[dict[str, str | None]] = [{} for _ in ids]
    query = (vecs[1] * 0.6 + vecs[2] * 0.4)[None]
    query /= np.linalg.norm(query)
    dense_only = VectorIndex(8)
    dense_only.rebuild(ids, vecs, meta)
    assert dense_only.search(query, 1)[0][0].answer_id == "a1"
    hybrid = VectorIndex(8, lexical_weight=1.0)
    hybrid.rebuild(ids, vecs, meta, DOCS)
    hit = hybrid.search(query, 1, texts=["dubbel afgeschreven factuur"])[0][0]
    assert hit.answer_id == "a2"  # the lexical match wins the fused ranking
    assert hit.score == pytest.approx(float(query[0] @ vecs[2]), abs=1e-5)  # the reported score is the cosine
    with pytest.raises(ValueError, match="passage text"):
        hybrid.upsert(["x"], vecs[:1], [{}])


def test_index_reuses_deleted_slots_and_keeps_lexical_aligned() -> None:
    vecs = unit(6, 8, 1)
    idx = VectorIndex(8, lexical_weight=0.5)
    idx.rebuild([f"a{i}" for i in range(5)], vecs[:5], [{} for _ in range(5)], DOCS)
    idx.delete("a2")
    assert len(idx) == 4 and all(h.answer_id != "a2" for h in idx.search(vecs[2:3], 5, texts=["factuur"])[0])
    idx.upsert(["new"], vecs[5:6], [{}], ["Factuur te hoog deze maand"])
    top = idx.search(vecs[5:6], 5, texts=["factuur te hoog"])[0]
    assert top[0].answer_id == "new" and len(top) == 5 and len(idx) == 5


def test_rebuild_can_adopt_its_vectors_and_a_prebuilt_lexical_index() -> None:
    """The service's start-up rebuild hands over its own matrix and a BM25 index packed page by page;
    the index must search exactly as one rebuilt from copies and texts, and keep working under writes."""
    from models.lexical import Packer

    vecs, ids, meta = unit(6, 8, 2), [f"a{i}" for i in range(5)], [{} for _ in range(5)]
    plain = VectorIndex(8, lexical_weight=0.5)
    plain.rebuild(ids, vecs[:5].copy(), meta, DOCS)
    mine = vecs[:5].copy()
    packer = Packer(LexicalIndex())
    packer.add([0, 1, 2], DOCS[:3])
    packer.add([3, 4], DOCS[3:])
    handed = VectorIndex(8, lexical_weight=0.5)
    handed.rebuild(ids, mine, meta, adopt=True, lexical=packer.finish())
    assert np.shares_memory(handed.state(copy=False)["matrix"], mine)  # adopted, not copied
    assert not np.shares_memory(handed.state()["matrix"], mine)  # state() still copies by default
    query, text = vecs[:1] * 0.5 + vecs[2:3] * 0.5, ["dubbel afgeschreven factuur modem"]
    assert [(h.answer_id, h.score, h.lexical) for h in handed.search(query, 5, texts=text)[0]] == \
        [(h.answer_id, h.score, h.lexical) for h in plain.search(query, 5, texts=text)[0]]
    for idx in (plain, handed):
        idx.delete("a1")
        idx.upsert(["new"], vecs[5:6], [{}], ["Factuur te hoog deze maand"])
    assert [(h.answer_id, h.score) for h in handed.search(vecs[5:6], 5, texts=["factuur"])[0]] == \
        [(h.answer_id, h.score) for h in plain.search(vecs[5:6], 5, texts=["factuur"])[0]]
    strided, passed = VectorIndex(8), vecs[:5].T.copy().T  # not C-contiguous: copied instead
    strided.rebuild(ids, passed, meta, adopt=True)
    assert not np.shares_memory(strided.state(copy=False)["matrix"], passed)
    with pytest.raises(ValueError, match="prebuilt lexical"):
        VectorIndex(8, lexical_weight=0.5).rebuild(ids[:4], vecs[:4], meta[:4], lexical=Packer(LexicalIndex()).finish())
    with pytest.raises(ValueError, match="each slot once"):
        twice = Packer(LexicalIndex())
        twice.add([0, 0], DOCS[:2])
        twice.finish()


def test_lexical_weight_is_chosen_where_it_helps() -> None:
    ids = ["a", "b"]
    dense = np.array([[0.80, 0.79], [0.70, 0.75]])  # query 0 wrong on dense alone
    lexical = np.array([[0.0, 0.0], [0.0, 0.0]])
    rel = [["b"], ["b"]]
    assert choose_lexical_weight([RetrievalScores(dense, lexical, rel)], ids) == 0.0
    lexical = np.array([[0.0, 5.0], [0.0, 3.0]])
    assert choose_lexical_weight([RetrievalScores(dense, lexical, rel)], ids) > 0.0


def test_abstention_can_use_the_dense_score_while_ranking_by_fusion() -> None:
    fused = np.array([[2.0, 1.0]])
    report = retrieval_report(fused, ["a", "b"], [[]], threshold=0.5, abstain_scores=np.array([0.3]))
    assert report["abstain_recall"] == 1.0 and report["recall@1"] == 0.0


def test_tower_config_is_validated() -> None:
    with pytest.raises(ValueError, match="contrastive_weight"):
        TrainConfig(retrieval="tower", contrastive_weight=0.5)
    with pytest.raises(ValueError, match="freeze_embeddings"):
        TrainConfig(retrieval="tower", freeze_embeddings=False)
    TrainConfig(retrieval="shared", freeze_layers=0, contrastive_weight=0.5, freeze_embeddings=False)


def test_trained_tower_embeds_exactly_like_the_frozen_base(tiny_model: Path, tiny_base: Path) -> None:
    """Fine-tuning the heads must leave retrieval untouched: the served embedding of the trained
    model equals the base encoder's own mean-pooled embedding."""
    from models.encoder import load_tokenizer, load_transformer, mean_pool
    from training.train import load_checkpoint_model

    _, model = load_checkpoint_model(tiny_model, str(tiny_base))
    base = load_transformer(str(tiny_base)).eval()
    enc = load_tokenizer(tiny_base)(["query: modem knippert rood", "query: eSIM overzetten"], padding=True,
                                    return_tensors="pt")
    with torch.inference_mode():
        served = model(enc["input_ids"], enc["attention_mask"])[-1]
        hidden = base(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
        want = mean_pool(hidden, enc["attention_mask"], normalize=True)
        heads_branch = torch.nn.functional.normalize(model.pooled(enc["input_ids"], enc["attention_mask"]), dim=-1)
    assert torch.allclose(served, want, atol=1e-5)
    assert not torch.allclose(heads_branch, want, atol=1e-3)  # the heads' layers did train


def test_candidate_scoring_equals_full_scoring() -> None:
    idx = LexicalIndex()
    for slot, d in enumerate(DOCS):
        idx.set(slot, d)
    slots = np.array([4, 0, 2])
    for q in ["modem rood", "factuur", "niets"]:
        assert np.allclose(idx.scores_for(q, slots), reference_bm25(DOCS, q)[slots], atol=1e-5)


def test_offline_fusion_ranks_like_the_served_index() -> None:
    """eval/training score with `fuse` on full matrices; the service with VectorIndex: same order."""
    from models.lexical import fuse

    vecs = unit(5, 8, 3)
    queries = unit(4, 8, 4)
    texts = ["modem rood", "dubbel afgeschreven", "esim telefoon", "roaming europa"]
    index = VectorIndex(8, lexical_weight=0.05, lexical_candidates=3)
    index.rebuild([f"a{i}" for i in range(5)], vecs, [{} for _ in range(5)], DOCS)
    served = [[h.answer_id for h in hits] for hits in index.search(queries, 3, texts=texts)]
    ranking = fuse(queries @ vecs.T, bm25_matrix(DOCS, texts), 0.05, 3)
    offline = [[f"a{j}" for j in np.argsort(-row, kind="stable")[:3]] for row in ranking]
    assert served == offline
