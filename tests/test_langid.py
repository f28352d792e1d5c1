"""Language detection (models.textprep.detect_language) on the hand-written forum posts of
tests/data/langid.jsonl, and the measuring script eval/langid.py."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from eval.langid import is_short, load, load_posts, tables
from models.textprep import detect_language, language_identifier

DATA = Path(__file__).parent / "data" / "langid.jsonl"
ROWS = load(DATA)

# A little below what `python -m eval.langid` measured for the shipped detector
# (nl 1.000, short Dutch 1.000, de/fr/pl/tr 1.000, en 0.969, und 0.917).
FLOORS = {"nl": 0.97, "en": 0.90, "de": 0.93, "fr": 0.93, "pl": 0.93, "tr": 0.93, "und": 0.80}


@pytest.fixture(scope="module")
def predictions() -> list[str]:
    return [detect_language(r["text"]) for r in ROWS]


def test_test_set_has_what_the_floors_need() -> None:
    counts = Counter(r["lang"] for r in ROWS)
    assert counts["nl"] >= 60 and all(counts[c] >= 25 for c in ("en", "de", "fr", "pl", "tr"))
    assert sum(r["lang"] == "nl" and is_short(r["text"]) for r in ROWS) >= 20


@pytest.mark.parametrize("lang", sorted(FLOORS))
def test_accuracy_floor_per_language(predictions: list[str], lang: str) -> None:
    pairs = [(r, p) for r, p in zip(ROWS, predictions, strict=True) if r["lang"] == lang]
    wrong = [f"{r['text']!r} -> {p}" for r, p in pairs if p != lang]
    assert 1 - len(wrong) / len(pairs) >= FLOORS[lang], wrong


def test_short_dutch_posts_are_dutch(predictions: list[str]) -> None:
    wrong = [r["text"] for r, p in zip(ROWS, predictions, strict=True)
             if r["lang"] == "nl" and is_short(r["text"]) and p != "nl"]
    assert len(wrong) <= 1, wrong


def test_no_dutch_post_is_flagged_foreign(predictions: list[str]) -> None:
    # A Dutch post taken for another language is routed as not Dutch: the costly mistake.
    flagged = [(r["text"], p) for r, p in zip(ROWS, predictions, strict=True)
               if r["lang"] == "nl" and p not in ("nl", "und")]
    assert len(flagged) <= 1, flagged


@pytest.mark.parametrize("text", [
    "Mijn Galaxy zegt SIM card not detected sinds de update",
    "Na een factory reset werkt de hotspot nog steeds niet",
    "Hoe zet ik Wi-Fi calling aan op mijn iPhone 15 Pro?",
    "Smart TV box geeft no signal, HDMI kabel al vervangen",
    "mijn mesh extender heeft steeds connection lost",
])
def test_english_product_words_do_not_make_a_dutch_post_english(text: str) -> None:
    assert detect_language(text) == "nl"


@pytest.mark.parametrize("text, lang", [
    ("My modem has been blinking red since this morning, what should I do?", "en"),
    ("Mein Handy hat seit gestern keinen Empfang mehr", "de"),
    ("Je n'ai plus de connexion internet depuis hier", "fr"),
    ("Od wczoraj nie mam internetu w domu", "pl"),
    ("Dünden beri evde internetim yok", "tr"),
])
def test_foreign_posts_are_detected(text: str, lang: str) -> None:
    assert detect_language(text) == lang


@pytest.mark.parametrize("text", ["", "   \n ", "!!! 123", "06-12345678", "😡😡😡", "👍", "€ 35,00 - € 12,50",
                                  "E-201", "5G??", "+31 6 1234 5678"])
def test_text_without_words_is_undetermined(text: str) -> None:
    assert detect_language(text) == "und"


def test_long_posts_are_detected() -> None:
    body = "Sinds de verhuizing heb ik geen internet meer en de monteur komt pas volgende week. " * 300
    assert detect_language(body) == "nl"


def test_identifier_is_built_once() -> None:
    assert language_identifier() is language_identifier()


def test_identifier_holds_only_the_served_languages_and_ranks_as_set_languages_would() -> None:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    from models.textprep import LANGUAGES

    ours = language_identifier()
    assert sorted(ours.nb_classes) == sorted(LANGUAGES) and ours.nb_ptc.shape[1] == len(LANGUAGES)
    reference = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    reference.set_languages(list(LANGUAGES))
    for row in ROWS[:40]:
        assert ours.rank(row["text"]) == reference.rank(row["text"])


def test_eval_table_counts_accuracy_and_costly_mistakes() -> None:
    rows = [{"text": "modem knippert rood", "lang": "nl"}, {"text": "geen internet", "lang": "nl"},
            {"text": "no signal since yesterday", "lang": "en"}, {"text": "!!!", "lang": "und"}]
    cost = {"cold_wall_s": 0.1, "cold_cpu_s": 0.1, "cpu_p50_us": 10.0, "cpu_p99_us": 20.0, "cpu_mean_us": 12.0,
            "wall_p50_us": 11.0, "rss_added_mb": 5.0}
    out = tables(rows, {"x": {"preds": ["nl", "en", "nl", "und"], **cost}})
    row = next(line for line in out.splitlines() if line.startswith("| x |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    # nl, en, und, all, nl short, short all, nl→foreign, foreign→nl/und
    assert cells[1:] == ["0.500", "0.000", "1.000", "0.500", "0.500", "0.500", "1", "1"]


def test_eval_reads_labelled_posts_as_titles_and_bodies(tmp_path: Path) -> None:
    path = tmp_path / "posts.jsonl"
    path.write_text("\n".join(json.dumps(p) for p in [
        {"id": "p1", "title": "Storing?", "body": "Geen internet"},
        {"id": "p2", "title": "", "body": "No internet", "language": "en"}]) + "\n", encoding="utf-8")
    assert load_posts(path, "nl") == [{"text": "Storing?", "lang": "nl"}, {"text": "Geen internet", "lang": "nl"},
                                      {"text": "No internet", "lang": "en"}]


def test_eval_worker_reports_a_missing_library(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    from eval import langid

    def needs_missing_library():  # noqa: ANN202
        raise ModuleNotFoundError("No module named 'nolib'", name="nolib")

    monkeypatch.setitem(langid.CANDIDATES, "needs nolib", needs_missing_library)
    assert langid.main(["--worker", "needs nolib", "--data", str(DATA)]) == 0
    assert json.loads(capsys.readouterr().out) == {"missing": "nolib"}
