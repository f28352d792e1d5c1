"""`python -m eval agreement`: Cohen's kappa between the corpus labels and a second annotation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.agreement import agreement, load_second
from eval.cli import main
from eval.inputs import EvalInputError
from models.schema import LabelConfig
from tests.conftest import MINI

HEADS = LabelConfig.from_file().heads


def _first() -> dict[str, dict]:
    return {r["id"]: r for r in map(json.loads, (MINI / "posts.jsonl").read_text().splitlines())}


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def test_identical_annotations_agree_fully_and_one_change_lowers_kappa(tmp_path: Path) -> None:
    first = _first()
    rows = [{"id": i, **{h: r[h] for h in HEADS}} for i, r in list(first.items())[:40]]
    same = agreement(first, load_second(_write(tmp_path / "a.jsonl", rows), HEADS), HEADS)
    assert same["n"] == 40 and all(v["kappa"] == pytest.approx(1.0) for v in same["heads"].values())
    other = next(x for x in HEADS["route"] if x != rows[0]["route"])
    rows[0] = {**rows[0], "route": other}
    changed = agreement(first, load_second(_write(tmp_path / "b.jsonl", rows), HEADS), HEADS)
    assert changed["heads"]["route"]["agreement"] == pytest.approx(39 / 40)
    assert changed["heads"]["route"]["kappa"] < 1.0 and changed["heads"]["topic"]["kappa"] == pytest.approx(1.0)


def test_bad_second_annotation_names_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = _first()
    good = {"id": next(iter(first)), **{h: v[0] for h, v in HEADS.items()}}
    path = _write(tmp_path / "bad.jsonl", [good, {**good, "id": "x", "route": "moderator"}])
    with pytest.raises(EvalInputError, match=r"bad.jsonl:2: route 'moderator'"):
        load_second(path, HEADS)
    assert main(["agreement", "--second", str(path), "--data", str(MINI)]) == 1
    assert "moderator" in capsys.readouterr().err
