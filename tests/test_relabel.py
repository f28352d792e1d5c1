"""Applying a reviewed label audit: only `change` lines, idempotent, loud on a mismatch."""

from __future__ import annotations

import json

import pytest

from models.schema import DEFAULT_LABELS, LabelConfig
from training.__main__ import main
from training.relabel import RelabelError, apply_review

LABELS = LabelConfig.from_file(DEFAULT_LABELS)
POST = {"id": "p-1", "title": "t", "body": "b", "topic": "other", "product": "none", "sentiment": "neutral",
        "urgency": "low", "route": "peers"}


def review(**kw):
    return {"id": "p-1", "head": "urgency", "given": "low", "decision": "change", "label": "normal", **kw}


def test_applies_changes_only_and_keeps_the_rest():
    posts, applied = apply_review([POST, {**POST, "id": "p-2"}],
                                  [review(), review(id="p-2", decision="keep", label="low")], LABELS)
    assert [p["urgency"] for p in posts] == ["normal", "low"]
    assert applied == [{"id": "p-1", "head": "urgency", "from": "low", "to": "normal"}]
    assert POST["urgency"] == "low"  # the input rows are not mutated


def test_applying_twice_changes_nothing():
    once, _ = apply_review([POST], [review()], LABELS)
    twice, applied = apply_review(once, [review()], LABELS)
    assert twice == once and applied == []


@pytest.mark.parametrize("line, reason", [
    (review(given="high"), "expected 'high'"),
    (review(label="urgent"), "not a label of the scheme"),
    (review(id="p-9"), "no such post"),
])
def test_a_review_that_does_not_fit_fails_loudly(line, reason):
    with pytest.raises(RelabelError, match=reason):
        apply_review([POST], [line], LABELS)


def test_cli_rewrites_posts_in_place(tmp_path, capsys):
    (tmp_path / "posts.jsonl").write_text(json.dumps(POST) + "\n")
    (tmp_path / "review.jsonl").write_text(json.dumps(review()) + "\n")
    assert main(["apply-relabels", "--data", str(tmp_path), "--review", str(tmp_path / "review.jsonl")]) == 0
    assert json.loads((tmp_path / "posts.jsonl").read_text())["urgency"] == "normal"
    assert main(["apply-relabels", "--data", str(tmp_path), "--review", str(tmp_path / "review.jsonl")]) == 0
    assert "nothing left to apply" in capsys.readouterr().out
