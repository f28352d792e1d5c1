"""The language detector's tables kept as mapped .npy files (models/langid_tables.py): the same
ranking as the detector built in memory, written once, rebuilt when damaged, and used by
textprep when the service gives it a cache folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval.langid import load
from models import langid_tables, textprep
from models.textprep import LANGUAGES

ROWS = load(Path(__file__).parent / "data" / "langid.jsonl")


@pytest.fixture(scope="module")
def built():
    return langid_tables.build(LANGUAGES)


def test_mapped_tables_rank_every_text_as_the_built_detector(tmp_path: Path, built) -> None:
    mapped = langid_tables.cached(LANGUAGES, tmp_path)
    folders = list(tmp_path.iterdir())
    assert [f.name for f in folders] == [f"langid-{langid_tables.cache_key(LANGUAGES)}"]
    assert isinstance(mapped.tk_nextmove, memoryview) and mapped.tk_nextmove.readonly
    texts = [r["text"] for r in ROWS] + ["", "!!!", "Mijn iPhone 15 Pro heeft geen 5G sinds de update"]
    assert [mapped.rank(t) for t in texts] == [built.rank(t) for t in texts]


def test_second_use_maps_without_building(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    langid_tables.cached(LANGUAGES, tmp_path)

    def no_build(languages):
        raise AssertionError("the tables were built again although the folder was there")

    monkeypatch.setattr(langid_tables, "build", no_build)
    assert langid_tables.cached(LANGUAGES, tmp_path).rank("geen internet sinds vanochtend")[0][0] == "nl"


@pytest.mark.parametrize("damage", ["header", "cut", "empty", "classes"])
def test_damaged_tables_are_rebuilt(tmp_path: Path, built, damage: str) -> None:
    langid_tables.cached(LANGUAGES, tmp_path)
    folder = tmp_path / f"langid-{langid_tables.cache_key(LANGUAGES)}"
    table = folder / "nextmove.npy"
    if damage == "header":
        (folder / "output.npy").write_bytes(b"\x93NUMPY truncated")
    elif damage == "cut":
        table.write_bytes(table.read_bytes()[: table.stat().st_size // 2])
    elif damage == "empty":
        table.write_bytes(b"")
    else:
        (folder / "classes.json").write_text("[", encoding="utf-8")
    again = langid_tables.cached(LANGUAGES, tmp_path)
    texts = [r["text"] for r in ROWS[:20]]
    assert [again.rank(t) for t in texts] == [built.rank(t) for t in texts]
    assert len(list(folder.iterdir())) == 6 and table.stat().st_size > 1_000_000


def test_another_language_list_gets_its_own_folder(tmp_path: Path) -> None:
    assert langid_tables.cache_key(LANGUAGES) != langid_tables.cache_key(("nl", "en"))
    two = langid_tables.cached(("nl", "en"), tmp_path)
    assert sorted(two.nb_classes) == ["en", "nl"] and len(list(tmp_path.iterdir())) == 1


def test_unwritable_cache_serves_from_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, built) -> None:
    def fail(identifier, folder):
        raise PermissionError("read-only file system")

    monkeypatch.setattr(langid_tables, "save", fail)
    ident = langid_tables.cached(LANGUAGES, tmp_path)
    assert ident.rank(ROWS[1]["text"]) == built.rank(ROWS[1]["text"]) and not any(tmp_path.iterdir())


def test_textprep_uses_the_cache_it_is_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(textprep, "_identifier", None)
    monkeypatch.setattr(textprep, "_table_root", None)
    textprep.use_table_cache(tmp_path)
    assert textprep.detect_language("Sinds gisteren valt mijn wifi steeds weg") == "nl"
    assert isinstance(textprep.language_identifier().tk_nextmove, memoryview)
    assert (tmp_path / f"langid-{langid_tables.cache_key(LANGUAGES)}" / "nextmove.npy").is_file()


def test_stale_tables_of_another_version_are_removed(tmp_path: Path) -> None:
    import os

    old = tmp_path / "langid-0123456789abcdef"
    old.mkdir()
    recent = tmp_path / "langid-fedcba9876543210"
    recent.mkdir()
    foreign = tmp_path / "langid-notours"
    foreign.mkdir()
    month_ago = os.path.getmtime(old) - 30 * 86400
    for folder in (old, foreign):
        os.utime(folder, (month_ago, month_ago))
    langid_tables.cached(LANGUAGES, tmp_path)
    names = sorted(p.name for p in tmp_path.iterdir())
    ours = f"langid-{langid_tables.cache_key(LANGUAGES)}"
    assert names == sorted(["langid-fedcba9876543210", "langid-notours", ours])
