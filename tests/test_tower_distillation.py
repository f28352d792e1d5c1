"""The tower-distillation experiment runs end to end on the tiny base and reports the teacher
and each student on the same retrieval checks."""

from __future__ import annotations

import json
from pathlib import Path

from eval.tower_distillation import main
from tests.conftest import MINI


def test_distillation_experiment_reports_teacher_and_student(tiny_base: Path, tmp_path: Path) -> None:
    faq = tmp_path / "faq.tsv"
    faq.write_text("question\tanswer_passage\n"
                   "Hoe vraag ik huurtoeslag aan?\tHuurtoeslag vraagt u aan bij Toeslagen.\n"
                   "Wanneer krijg ik kinderbijslag?\tDe SVB betaalt kinderbijslag per kwartaal.\n")
    out = tmp_path / "result.json"
    assert main(["--base", str(tiny_base), "--data", str(MINI), "--trunk", "1", "--layers", "1",
                 "--epochs", "1", "--faq", str(faq), "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["distillation_texts"] > 0
    teacher, student = result["results"].values()
    for scores in (teacher, student):
        assert set(scores) >= {"test_recall@1", "test_mrr@10", "faq_recall@1", "faq_mrr@10"}
        assert all(0 <= scores[k] <= 1 for k in ("test_recall@1", "faq_mrr@10"))


def test_students_on_the_head_branch_with_generated_answers(tiny_base: Path, tiny_model: Path,
                                                            tmp_path: Path) -> None:
    faq = tmp_path / "faq.tsv"
    faq.write_text("question\tanswer_passage\nHoe vraag ik huurtoeslag aan?\tHuurtoeslag vraagt u aan bij Toeslagen.\n")
    plain, more = tmp_path / "plain.json", tmp_path / "more.json"
    common = ["--base", str(tiny_base), "--data", str(MINI), "--student-on", "heads", "--model", str(tiny_model),
              "--epochs", "1", "--faq", str(faq)]
    assert main([*common, "--layers", "linear", "1", "--json", str(plain)]) == 0
    assert main([*common, "--layers", "linear", "--extra-kb", "20", "--json", str(more)]) == 0
    result = json.loads(plain.read_text())
    assert result["student_on"] == "heads"
    assert list(result["results"])[1:] == ["student on the head branch: a linear map",
                                           "student on the head branch: 1 layers from (1,)"]
    # 20 generated answers add their passages and customer questions as text
    assert 20 <= json.loads(more.read_text())["distillation_texts"] - result["distillation_texts"] <= 40
