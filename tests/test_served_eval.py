"""`python -m eval triage` and `python -m eval tune-policy` on the tiny model: the served
decision is the engine's, the JSON has the agreed shape, tuning writes a policy the service loads."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from eval.cli import main
from eval.served import post_facts, served_engine
from service.policy import Policy
from service.schemas import PostIn
from service.settings import Settings
from tests.conftest import MINI

POSTS = MINI / "posts.jsonl"


def _rows() -> list[dict]:
    return [json.loads(line) for line in POSTS.read_text().splitlines()]


def test_eval_triage_reports_the_served_route(answerable_model: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "triage.json"
    assert main(["triage", str(POSTS), "--model", str(answerable_model), "--kb", str(MINI / "kb.jsonl"),
                 "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    n = len(_rows())
    assert result["n"] == n
    route = result["route"]
    assert {"served_macro_f1", "head_macro_f1", "confusion", "critical_to_webcare", "webcare_recall",
            "peers_to_webcare", "cost"} <= set(route)
    assert sum(map(sum, route["confusion"])) == n
    assert sum(r["decided"] for r in result["rules"].values()) == n
    assert all(r["fired"] >= 0 and (r["precision"] is None or 0 <= r["precision"] <= 1)
               for r in result["rules"].values())
    gold_webcare = sum(1 for r in _rows() if r["route"] == "webcare")
    assert route["webcare_recall"] == pytest.approx(route["confusion"][2][2] / gold_webcare)
    assert "route head alone" in capsys.readouterr().out
    model = tmp_path / "model"
    shutil.copytree(answerable_model, model)
    assert main(["record", "--model", str(model), "--result", f"test_served={out}"]) == 0
    card = (model / "README.md").read_text()
    assert "## Served decision (test split)" in card
    assert f"| macro-F1 | {route['served_macro_f1']:.4f} | {route['head_macro_f1']:.4f} |" in card


def test_eval_decisions_are_the_engines(answerable_model: Path) -> None:
    rows = _rows()[:24]
    with served_engine(answerable_model, MINI / "kb.jsonl", None) as engine:
        facts = post_facts(engine, rows)
        served = engine.triage([PostIn(title=r.get("title") or "", body=r["body"]) for r in rows])
        decided = [engine.policy.decide(f) for f in facts]
    assert [d.target for d in decided] == [o.route.target for o in served]
    assert [d.rules_fired for d in decided] == [o.route.rules_fired for o in served]
    assert [f.suggestion_score is not None for f in facts] == [bool(o.suggestions) for o in served]


def test_eval_triage_refuses_posts_without_routes(answerable_model: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "no-route.jsonl"
    bad.write_text("\n".join(json.dumps({k: v for k, v in r.items() if k != "route"}) for r in _rows()[:3]))
    assert main(["triage", str(bad), "--model", str(answerable_model), "--kb", str(MINI / "kb.jsonl")]) == 1
    assert "route" in capsys.readouterr().err


def test_tune_policy_writes_a_policy_the_service_uses(answerable_model: Path, tmp_path: Path) -> None:
    model = tmp_path / "model"
    shutil.copytree(answerable_model, model)
    assert main(["tune-policy", "--data", str(MINI), "--model", str(model)]) == 0
    written = model / "policy.yaml"
    spec = Policy.from_file(written, json.loads((model / "manifest.json").read_text())["label_sets"]).spec
    tuning = spec.tuning
    assert tuning["points"] > 100 and set(tuning["chosen"]) >= {"existing_answer.min_answerability"}
    answer = next(r for r in spec.rules if r.name == "existing_answer")
    chosen = tuning["chosen"]["existing_answer.min_answerability"]
    assert (not answer.enabled) if chosen is None else (answer.enabled and answer.when.min_answerability == chosen)
    assert spec.uncertain_alternative_min_prob == tuning["chosen"]["uncertain_alternative_min_prob"]
    before, after = tuning["dev_before"], tuning["dev_after"]
    if tuning["feasible"] and before["critical_to_webcare"] == 1 and before["webcare_recall"] >= 0.95:
        assert after["served_macro_f1"] >= before["served_macro_f1"]
    assert [r["name"] for r in yaml.safe_load(written.read_text())["rules"]] == [
        r.name for r in Policy.from_file(Path("service/default_policy.yaml")).spec.rules]
    assert Settings(model_dir=model, auth_enabled=False).policy_path == written
    assert Settings(model_dir=answerable_model, auth_enabled=False).policy_path.name == "default_policy.yaml"
