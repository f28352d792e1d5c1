"""Fast tests of the eval package: a tiny model (one encoder layer, one epoch) is
trained once per module on a tiny Dutch data set written to a temp directory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from models.data_io import write_jsonl

ROOT = Path(__file__).resolve().parents[1]
LABELS = {
    "topic": ["billing", "contract", "network", "home_internet", "device", "roaming", "sim", "account",
              "security", "other"],
    "product": ["apple", "samsung", "other_device", "modem_tv", "sim_only", "prepaid", "none"],
    "sentiment": ["negative", "neutral", "positive"],
    "urgency": ["low", "normal", "high", "critical"],
    "route": ["peers", "klantexpert", "webcare"],
}
TOPIC_TEXT = {
    "billing": "mijn factuur is deze maand veel hoger dan normaal",
    "contract": "ik wil mijn abonnement verlengen of een andere bundel kiezen",
    "network": "ik heb al dagen geen bereik in huis en bellen lukt niet",
    "home_internet": "de glasvezel thuis valt steeds weg en de tv hapert",
    "device": "de batterij van mijn telefoon loopt na de update snel leeg",
    "roaming": "bellen en internetten in Spanje kost opeens extra geld",
    "sim": "mijn simkaart is geblokkeerd en vraagt om een PUK-code",
    "account": "ik kan niet meer inloggen in de app met mijn wachtwoord",
    "security": "ik kreeg een verdachte sms met een link over een pakketje",
    "other": "complimenten voor de vriendelijke medewerker in de winkel",
}
PRODUCT_TEXT = {"apple": "Het gaat om mijn iPhone.", "samsung": "Ik gebruik een Samsung Galaxy.",
                "other_device": "Ik heb een Google Pixel.", "modem_tv": "Het modem knippert oranje.",
                "sim_only": "Ik heb een sim only abonnement.", "prepaid": "Ik bel met prepaid beltegoed.",
                "none": ""}
SENTIMENT_TEXT = {"negative": "Echt heel vervelend dit.", "neutral": "Weet iemand hoe dit zit?",
                  "positive": "Verder ben ik erg tevreden!"}
URGENCY_TEXT = {"low": "Geen haast hoor.", "normal": "Graag een reactie.", "high": "Ik vertrek morgen al!",
                "critical": "Er wordt nu geld van mijn rekening gehaald!"}
PLACES = ["Utrecht", "Zwolle", "Breda", "Leiden", "Venlo", "Assen", "Delft", "Gouda", "Hoorn", "Emmen",
          "Almere", "Tiel"]
KB = [
    ("kb-billing", "Hogere factuur verklaard", "Waarom is mijn rekening hoger?",
     "Bekijk je specificatie in de app; extra kosten buiten je bundel staan daar per dag.", "billing"),
    ("kb-roaming", "Bellen in de EU", "Kost bellen in Spanje extra?",
     "Binnen de EU bel en internet je gewoon vanuit je eigen bundel zonder extra kosten.", "roaming"),
    ("kb-puk", "PUK-code opvragen", "Mijn simkaart vraagt om een PUK-code",
     "Je PUK-code vind je in de app onder Mijn simkaart of op het plastic kaartje.", "sim"),
    ("kb-login", "Inloggen lukt niet", "Ik kan niet inloggen in de app",
     "Vraag een nieuw wachtwoord aan via de inlogpagina en controleer je e-mailadres.", "account"),
    ("kb-phishing", "Verdachte sms ontvangen", "Is deze sms met link echt?",
     "Klik nooit op links in onverwachte sms'jes; meld het bericht en verwijder het.", "security"),
    ("kb-modem", "Internet valt weg", "Mijn glasvezel valt steeds weg",
     "Herstart het modem en controleer of de glasvezelkabel goed vastzit.", "home_internet"),
]
QUERY_TEXT = {
    "kb-billing": ["Waarom moet ik deze maand zoveel meer betalen?", "Rekening van juni is twee keer zo hoog",
                   "Extra kosten op mijn nota die ik niet snap", "Hoe kan mijn maandbedrag ineens stijgen?"],
    "kb-roaming": ["Ik ga op vakantie naar Spanje, kost internetten daar meer?", "Bundel gebruiken in Italie",
                   "Roaming binnen Europa gratis of niet?", "Zomer in Frankrijk: moet ik iets bijkopen?"],
    "kb-puk": ["Telefoon vraagt om PUK na drie keer verkeerde pincode", "Sim geblokkeerd door foute pin",
               "Waar staat mijn pukcode?", "Na herstart wil mijn mobiel een code van acht cijfers"],
    "kb-login": ["Wachtwoord vergeten, kom de app niet meer in", "Inlogcode werkt niet op Mijn omgeving",
                 "Account geblokkeerd na te vaak inloggen", "Hoe reset ik mijn wachtwoord voor de app?"],
    "kb-phishing": ["Rare sms gekregen met een link, is dat nep?", "Bericht over een pakketje, betrouwbaar?",
                    "Is dit een phishing bericht namens jullie?", "Vreemde WhatsApp van onbekend nummer"],
    "kb-modem": ["Wifi thuis valt elke avond uit via glasvezel", "Router verliest steeds verbinding",
                 "Internet thuis hapert en modem knippert", "Glasvezelverbinding weg sinds de storm"],
}
NO_ANSWER = ["Wat vinden jullie van het nieuwe logo?", "Welke film moet ik vanavond kijken?",
             "Hoe laat gaat de bakker open op zondag?", "Tips voor een leuke verjaardag?",
             "Wie wint het voetbal dit weekend?", "Recept voor appeltaart gezocht"]
NO_ANSWER_AT = {3, 7, 11, 17, 23, 29}  # q-003 lands in test, q-007/017/029 in dev


def tiny_posts(n: int = 60) -> list[dict]:
    rows = []
    for i in range(n):
        lab = {h: v[i % len(v)] for h, v in LABELS.items()}
        body = " ".join(x for x in (f"Hoi, {TOPIC_TEXT[lab['topic']]}.", PRODUCT_TEXT[lab["product"]],
                                    SENTIMENT_TEXT[lab["sentiment"]], URGENCY_TEXT[lab["urgency"]],
                                    f"Groet uit {PLACES[i % len(PLACES)]}, klant {1000 + 37 * i}.") if x)
        rows.append({"id": f"p-{i:03d}", "title": f"Vraag {i} over {lab['topic']}", "body": body, **lab})
    return rows


def tiny_kb() -> list[dict]:
    return [{"id": i, "title": t, "question": q, "answer": a, "topic": topic} for i, t, q, a, topic in KB]


def tiny_queries() -> list[dict]:
    answerable = [(kb_id, texts[i]) for i in range(4) for kb_id, texts in QUERY_TEXT.items()]
    rows, empty = [], iter(NO_ANSWER)
    for i in range(len(answerable) + len(NO_ANSWER)):
        if i in NO_ANSWER_AT:
            rows.append({"id": f"q-{i:03d}", "body": next(empty), "relevant": []})
        else:
            kb_id, text = answerable.pop(0)
            rows.append({"id": f"q-{i:03d}", "body": text, "relevant": [kb_id]})
    return rows


def write_tiny_data(data: Path) -> Path:
    write_jsonl(data / "posts.jsonl", tiny_posts())
    write_jsonl(data / "kb.jsonl", tiny_kb())
    write_jsonl(data / "queries.jsonl", tiny_queries())
    return data


# --------------------------------------------------------------------------- fixtures

def _external_or_skip() -> Path:
    from eval.external import default_external_dir

    ext = default_external_dir()
    if not ext.is_dir():
        pytest.skip(f"{ext} is absent (third-party evaluation data, not part of the project)")
    return ext


def _tiny_config(**overrides):  # noqa: ANN202 - TrainConfig
    from training.config import TrainConfig

    values = {"keep_layers": 1, "epochs": 1, "max_train_posts": 64,
              "quantize": True, "retrieval": "shared", "freeze_layers": 0}
    return TrainConfig(**{**values, **overrides})


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory, tiny_base: Path) -> tuple[Path, Path]:
    """(data dir, model dir): a one-layer model trained for one epoch on 60 tiny posts."""
    from training.train import train_model

    cfg = _tiny_config(base=str(tiny_base))
    root = tmp_path_factory.mktemp("eval-tiny")
    data = write_tiny_data(root / "data")
    train_model(data, root / "model", cfg)
    return data, root / "model"


def _in_unit_interval(*values: float) -> bool:
    return all(0.0 <= v <= 1.0 for v in values)


def _is_png(path: Path) -> bool:
    return path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------- posts

def test_posts_json_shape_and_report(tiny: tuple[Path, Path], tmp_path: Path) -> None:
    from eval.cli import main

    data, model = tiny
    out, report = tmp_path / "posts.json", tmp_path / "report"
    assert main(["posts", str(data / "posts.jsonl"), "--model", str(model), "--json", str(out),
                 "--report", str(report), "--latency-posts", "5"]) == 0
    result = json.loads(out.read_text())
    assert set(result) == {"n", "heads"}
    assert result["n"] == 60
    assert list(result["heads"]) == list(LABELS)
    for head, m in result["heads"].items():
        assert {"accuracy", "macro_f1", "ece"} <= set(m)
        assert _in_unit_interval(m["accuracy"], m["macro_f1"], m["ece"])
        assert set(m["per_class"]) == set(LABELS[head])
    text = (report / "report.md").read_text()
    assert "Latency per post" in text and "ECE" in text
    for head in LABELS:
        assert f"## {head}" in text
        assert _is_png(report / f"confusion_{head}.png")
        assert _is_png(report / f"reliability_{head}.png")
        assert f"confusion_{head}.png" in text


def test_posts_csv_with_some_heads(tiny: tuple[Path, Path], tmp_path: Path) -> None:
    """CSV input; only the heads that appear as columns are evaluated."""
    import csv

    from eval.cli import main

    _, model = tiny
    path = tmp_path / "few.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["id", "title", "body", "topic", "sentiment"])
        w.writeheader()
        for r in tiny_posts(20):
            w.writerow({k: r[k] for k in ("id", "title", "body", "topic", "sentiment")})
    out = tmp_path / "few.json"
    assert main(["posts", str(path), "--model", str(model), "--json", str(out), "--report",
                 str(tmp_path / "r"), "--latency-posts", "0"]) == 0
    result = json.loads(out.read_text())
    assert result["n"] == 20 and list(result["heads"]) == ["topic", "sentiment"]


def test_malformed_posts_file_exits_1_with_problems_and_no_traceback(tiny: tuple[Path, Path],
                                                                     tmp_path: Path) -> None:
    _, model = tiny
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "body": "Hoi", "topic": "billing"}\n'
                   '{"id": "b", "body": "", "topic": "weer"}\n'
                   "dit is geen json\n"
                   '{"id": "a", "body": "Nog een"}\n', encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "eval", "posts", str(bad), "--model", str(model)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1
    assert "Traceback" not in output
    assert "bad.jsonl:2: body is empty" in output
    assert "bad.jsonl:2: topic 'weer' is not one of" in output
    assert "bad.jsonl:3: invalid JSON" in output
    assert "bad.jsonl:4: topic is missing" in output
    assert "bad.jsonl:4: id 'a' repeats line 1" in output


def test_bad_queries_and_missing_inputs_exit_1(tiny: tuple[Path, Path], tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    from eval.cli import main

    data, model = tiny
    queries = tmp_path / "queries.jsonl"
    write_jsonl(queries, [{"id": "q1", "body": "Waar is mijn PUK?", "relevant": ["kb-bestaat-niet"]},
                          {"id": "q2", "body": "Hoi", "relevant": "kb-puk"}])
    assert main(["retrieval", "--kb", str(data / "kb.jsonl"), "--queries", str(queries),
                 "--model", str(model)]) == 1
    err = capsys.readouterr().err
    assert "queries.jsonl:1: relevant id 'kb-bestaat-niet' is not in the knowledge base" in err
    assert "queries.jsonl:2: relevant must be a list of answer ids" in err
    assert main(["posts", str(tmp_path / "nope.jsonl"), "--model", str(model)]) == 1
    assert main(["posts", str(data / "posts.jsonl"), "--model", str(tmp_path)]) == 1
    (tmp_path / "posts.txt").write_text("x")
    assert main(["posts", str(tmp_path / "posts.txt"), "--model", str(model)]) == 1
    err = capsys.readouterr().err
    assert "no such file" in err and "no manifest.json" in err and "unsupported format" in err


# --------------------------------------------------------------------------- retrieval

def test_retrieval_json_shape_and_report(tiny: tuple[Path, Path], tmp_path: Path) -> None:
    from eval.cli import main

    data, model = tiny
    out, report = tmp_path / "retrieval.json", tmp_path / "report"
    assert main(["retrieval", "--kb", str(data / "kb.jsonl"), "--queries", str(data / "queries.jsonl"),
                 "--model", str(model), "--json", str(out), "--report", str(report)]) == 0
    result = json.loads(out.read_text())
    assert list(result) == ["n", "recall@1", "recall@3", "mrr@10", "ndcg@10",
                            "abstain_precision", "abstain_recall", "abstain_f1"]
    assert result["n"] == 30
    assert _in_unit_interval(*(v for k, v in result.items() if k != "n"))
    assert result["recall@1"] <= result["recall@3"]
    assert "threshold" in (report / "report.md").read_text()
    assert _is_png(report / "top_scores.png")


# --------------------------------------------------------------------------- baselines

def test_baselines_on_tiny_data(tiny: tuple[Path, Path], tmp_path: Path, tiny_base: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    from eval.cli import main

    data, _ = tiny
    out = tmp_path / "baselines.json"
    assert main(["baselines", "--data", str(data), "--base", str(tiny_base), "--max-length", "64",
                 "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    for method in ("tfidf_logreg", "frozen_encoder_logreg"):
        assert list(result["heads"][method]) == list(LABELS)
        for m in result["heads"][method].values():
            assert _in_unit_interval(m["accuracy"], m["macro_f1"])
    for method in ("bm25", "frozen_encoder"):
        m = result["retrieval"][method]
        assert _in_unit_interval(m["recall@1"], m["recall@3"], m["mrr@10"], m["ndcg@10"], m["abstain_f1"])
    table = capsys.readouterr().out
    assert "| tfidf_logreg | topic |" in table and "| bm25 |" in table


def test_bm25_scores_shape_with_no_queries() -> None:
    from eval.baselines import bm25_scorer

    assert bm25_scorer(["een twee", "drie vier"])([]).shape == (0, 2)
    assert bm25_scorer(["een twee", "drie vier"])(["twee"]).argmax() == 0


# --------------------------------------------------------------------------- external data

def test_sentence_polarity_keeps_only_single_polarity() -> None:
    from eval.external import sentence_polarity

    assert sentence_polarity("FOOD#QUALITY|positive|NULL") == "positive"
    assert sentence_polarity("A|negative|x ;; B|negative|NULL") == "negative"
    assert sentence_polarity("A|negative|x ;; B|positive|NULL") is None


def test_external_checks_on_tiny_model(tiny: tuple[Path, Path], tmp_path: Path) -> None:
    from eval.cli import main

    _external_or_skip()
    _, model = tiny
    out = tmp_path / "external.json"
    assert main(["external", "--model", str(model), "--limit", "30", "--no-base", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    s, f = result["sentiment"], result["faq_retrieval"]
    assert s["zero_shot"] is True and s["n"] == 30
    assert _in_unit_interval(s["accuracy"], s["macro_f1"])
    assert f["n"] == 30
    assert list(f["encoders"])[0] == "model@128" and "bm25" in f["encoders"]
    assert _in_unit_interval(*(v for m in f["encoders"].values() for v in m.values()))


def test_xsid_trains_a_foreign_label_set_end_to_end(tmp_path: Path, tiny_base: Path) -> None:
    from eval.cli import main
    from models.artifact import load_manifest

    _external_or_skip()
    base = tiny_base
    out, js = tmp_path / "xsid-model", tmp_path / "xsid.json"
    sets = ["keep_layers=1", "epochs=1", "max_train_posts=64", "retrieval=shared", "freeze_layers=0"]
    argv = ["xsid", "--base", str(base), "--out", str(out), "--json", str(js)]
    assert main(argv + [a for s in sets for a in ("--set", s)]) == 0
    assert list(load_manifest(out).label_sets) == ["intent"]
    result = json.loads(js.read_text())
    assert result["n"] + result["left_out_unseen_intent"] == 500
    assert _in_unit_interval(result["accuracy"], result["macro_f1"])


def test_record_writes_results_into_manifest_and_card(tiny: tuple[Path, Path], tmp_path: Path) -> None:
    import shutil

    from eval.cli import main
    from models.artifact import load_manifest

    _, model = tiny
    copy = tmp_path / "model"
    shutil.copytree(model, copy)
    result = tmp_path / "r.json"
    result.write_text(json.dumps({"n": 3, "recall@1": 0.5}))
    assert main(["record", "--model", str(copy), "--result", f"test_retrieval={result}"]) == 0
    assert load_manifest(copy).metrics["test_retrieval"] == {"n": 3, "recall@1": 0.5}
    assert "| test_retrieval | recall@1 | 0.5000 |" in (copy / "README.md").read_text()
    assert main(["record", "--model", str(copy), "--result", "no-equals-sign"]) == 1
