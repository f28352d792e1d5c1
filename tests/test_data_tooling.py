"""Data tooling: validation messages, label configs, readers (JSONL/CSV/Parquet/datasets),
the fixed split with deduplication, the data report and the `python -m training` CLI."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest

from models.data_io import load_answers, load_posts, load_queries, read_rows, write_jsonl
from models.schema import MAX_TEXT_CHARS, DataValidationError, LabelConfig, Problem
from training.__main__ import main
from training.report import build_report, diversity, length_stats, render_markdown
from training.splits import NEAR_DUP_THRESHOLD, SPLITS, _near_duplicates, minhash, split_of, split_rows

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"
DEFAULT_HEADS = ["topic", "product", "sentiment", "urgency", "route"]
URGENCY_MSG = "is not one of low, normal, high, critical"


def post(pid: Any, body: Any = "Mijn factuur is te hoog deze maand.", **kw: Any) -> dict[str, Any]:
    row = {"id": pid, "title": "", "body": body, "topic": "billing", "product": "sim_only",
           "sentiment": "negative", "urgency": "high", "route": "webcare"}
    row.update(kw)
    return row


def write_lines(path: Path, lines: Sequence[Any]) -> Path:
    """One line per item: dicts and lists as JSON, strings verbatim (for broken lines)."""
    text = "".join((x if isinstance(x, str) else json.dumps(x, ensure_ascii=False)) + "\n" for x in lines)
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(exc: pytest.ExceptionInfo[DataValidationError]) -> list[str]:
    return [str(p) for p in exc.value.problems]


# --------------------------------------------------------------------------- validation messages


def test_problem_format() -> None:
    p = Problem("posts.jsonl", 17, "urgency", "urgency 'urgent' is not one of low, normal, high, critical")
    assert str(p) == "posts.jsonl:17: urgency 'urgent' is not one of low, normal, high, critical"


def test_posts_every_problem_reported_at_once(tmp_path: Path) -> None:
    long_body = "x" * (MAX_TEXT_CHARS + 1)
    no_route = post("p-3")
    del no_route["route"]
    no_body = post("p-5")
    del no_body["body"]
    no_id = post("p-6")
    del no_id["id"]
    no_sentiment = post("p-12", topic="weather")
    del no_sentiment["sentiment"]
    path = write_lines(tmp_path / "posts.jsonl", [
        post("p-1"),                                  # 1 valid
        post("p-2", urgency="urgent"),                # 2 unknown label value
        no_route,                                     # 3 missing label
        post("p-4", body="   "),                      # 4 empty body
        no_body,                                      # 5 missing body
        no_id,                                        # 6 missing id
        post("p-1", body="Andere tekst"),             # 7 duplicate id of line 1
        '{"id": "p-8", "body": ',                     # 8 invalid JSON
        ["not", "an", "object"],                      # 9 JSON, but not an object
        "",                                           # 10 blank: skipped, still counted
        post("p-11", body=long_body),                 # 11 over the length limit
        no_sentiment,                                 # 12 two problems on one line
        post("p-13", urgency=""),                     # 13 empty label = missing
        post("p-14", title="t" * (MAX_TEXT_CHARS + 5)),  # 14 optional title too long
    ])
    with pytest.raises(DataValidationError) as exc:
        load_posts(path)
    got = problems_of(exc)
    assert got[:7] == [
        f"posts.jsonl:2: urgency 'urgent' {URGENCY_MSG}",
        "posts.jsonl:3: route is missing",
        "posts.jsonl:4: body is empty",
        "posts.jsonl:5: body is missing",
        "posts.jsonl:6: id is missing",
        "posts.jsonl:7: id 'p-1' repeats line 1",
        got[6],
    ]
    assert got[6].startswith("posts.jsonl:8: invalid JSON (") and "column" in got[6]
    assert got[7:] == [
        "posts.jsonl:9: a line must hold one JSON object",
        f"posts.jsonl:11: body has {MAX_TEXT_CHARS + 1} characters, over {MAX_TEXT_CHARS}",
        "posts.jsonl:12: topic 'weather' is not one of billing, contract, network, home_internet, device, "
        "roaming, sim, account, security, other",
        "posts.jsonl:12: sentiment is missing",
        "posts.jsonl:13: urgency is missing",
        f"posts.jsonl:14: title has {MAX_TEXT_CHARS + 5} characters, over {MAX_TEXT_CHARS}",
    ]
    # the exception message is the same list, one per line
    assert str(exc.value).splitlines() == got
    # every problem carries its field
    assert [p.field for p in exc.value.problems][:6] == ["urgency", "route", "body", "body", "id", "id"]


def test_text_at_the_limit_and_non_text_fields(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "posts.jsonl", [
        post("p-1", body="x" * MAX_TEXT_CHARS),      # exactly at the limit: fine
        post("p-2", title=None),                     # title null: fine
        {k: v for k, v in post("p-3").items() if k != "title"},  # no title: fine
        post(17),                                    # id must be text
        post("p-5", body=["a", "list"]),             # body must be text
    ])
    with pytest.raises(DataValidationError) as exc:
        load_posts(path)
    assert problems_of(exc) == ["posts.jsonl:4: id must be text, got int",
                                "posts.jsonl:5: body must be text, got list"]


def test_valid_posts_keep_unknown_fields(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "posts.jsonl", [post("p-1", thread_id="t-9", extra={"a": 1}), post("p-2")])
    rows = load_posts(path)
    assert [r["id"] for r in rows] == ["p-1", "p-2"]
    assert rows[0]["extra"] == {"a": 1} and rows[0]["thread_id"] == "t-9"


def test_jsonl_bom_and_bad_utf8(tmp_path: Path) -> None:
    path = tmp_path / "posts.jsonl"
    good = json.dumps(post("p-1")).encode()
    bad = json.dumps(post("p-2", body="caf\u00e9")).encode().replace(b"\\u00e9", b"\xe9")  # latin-1 byte
    crlf = json.dumps(post("p-3")).encode() + b"\r\n"
    path.write_bytes(b"\xef\xbb\xbf" + good + b"\n" + bad + b"\n" + crlf)
    with pytest.raises(DataValidationError) as exc:
        load_posts(path)
    assert len(exc.value.problems) == 1
    assert str(exc.value.problems[0]).startswith("posts.jsonl:2: not valid UTF-8")
    path.write_bytes(b"\xef\xbb\xbf" + good + b"\n")
    assert [r["id"] for r in load_posts(path)] == ["p-1"]


def test_kb_problems(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "kb.jsonl", [
        {"id": "kb-1", "title": "eSIM overzetten", "answer": "Ga naar instellingen."},
        {"id": "kb-2", "answer": "Zonder titel."},
        {"id": "kb-3", "title": "Zonder antwoord"},
        {"title": "Geen id", "answer": ""},
        {"id": "kb-5", "title": "Onderwerp", "answer": "Tekst", "topic": "weather", "product": "apple"},
        {"id": "kb-1", "title": "Dubbel", "answer": "Tekst"},
    ])
    with pytest.raises(DataValidationError) as exc:
        load_answers(path, LabelConfig.from_file())
    assert problems_of(exc) == [
        "kb.jsonl:2: title is missing",
        "kb.jsonl:3: answer is missing",
        "kb.jsonl:4: id is missing",
        "kb.jsonl:4: answer is empty",
        "kb.jsonl:5: topic 'weather' is not one of billing, contract, network, home_internet, device, "
        "roaming, sim, account, security, other",
        "kb.jsonl:6: id 'kb-1' repeats line 1",
    ]
    # without a label config the optional topic is not checked
    with pytest.raises(DataValidationError) as exc:
        load_answers(path)
    assert not any("topic" in s for s in problems_of(exc))


def test_query_problems(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "queries.jsonl", [
        {"id": "q-1", "body": "eSIM naar nieuwe telefoon", "relevant": ["kb-1"]},
        {"id": "q-2", "body": "Geen antwoord bekend", "relevant": []},
        {"id": "q-3", "body": "Losse string", "relevant": "kb-1"},
        {"id": "q-4", "body": "Getallen", "relevant": [1, 2]},
        {"id": "q-5", "body": "Ontbreekt"},
        {"id": "q-6", "body": "Onbekend", "relevant": ["kb-1", "kb-9", "kb-8"]},
        {"id": "q-7", "body": "", "relevant": None},
    ])
    with pytest.raises(DataValidationError) as exc:
        load_queries(path, {"kb-1", "kb-2"})
    assert problems_of(exc) == [
        "queries.jsonl:3: relevant must be a list of answer ids",
        "queries.jsonl:4: relevant must be a list of answer ids",
        "queries.jsonl:5: relevant must be a list of answer ids",
        "queries.jsonl:6: relevant id 'kb-9' is not in the knowledge base",
        "queries.jsonl:6: relevant id 'kb-8' is not in the knowledge base",
        "queries.jsonl:7: body is empty",
        "queries.jsonl:7: relevant must be a list of answer ids",
    ]
    # without a knowledge base only the shape of `relevant` is checked
    with pytest.raises(DataValidationError) as exc:
        load_queries(path)
    assert not any("knowledge base" in s for s in problems_of(exc))


def test_missing_and_unsupported_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_posts(tmp_path / "nope.jsonl")
    (tmp_path / "posts.txt").write_text("x")
    with pytest.raises(ValueError, match="unsupported format"):
        read_rows(tmp_path / "posts.txt")


# --------------------------------------------------------------------------- CLI


def _bad_posts(tmp_path: Path) -> Path:
    return write_lines(tmp_path / "posts.jsonl", [post("p-1"), post("p-2", urgency="urgent"),
                                                  "{broken", post("p-1")])


def test_cli_validate_invalid_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["validate", str(_bad_posts(tmp_path)), "--kind", "posts"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert lines[0] == "3 problem(s) found:"
    assert lines[1] == f"  posts.jsonl:2: urgency 'urgent' {URGENCY_MSG}"
    assert lines[2].startswith("  posts.jsonl:3: invalid JSON (")
    assert lines[3] == "  posts.jsonl:4: id 'p-1' repeats line 1"


def test_cli_subprocess_no_traceback(tmp_path: Path) -> None:
    bad = _bad_posts(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "training", "validate", str(bad), "--kind", "posts"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert f"posts.jsonl:2: urgency 'urgent' {URGENCY_MSG}" in proc.stderr
    good = write_lines(tmp_path / "good.jsonl", [post("p-1"), post("p-2")])
    proc = subprocess.run([sys.executable, "-m", "training", "validate", str(good)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "2 rows, all valid" in proc.stdout


def test_cli_validate_kinds(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    kb = write_lines(tmp_path / "kb.jsonl", [{"id": "kb-1", "title": "T", "answer": "A"}])
    assert main(["validate", str(kb), "--kind", "kb"]) == 0
    bad_kb = write_lines(tmp_path / "kb2.jsonl", [{"id": "kb-1", "answer": "A"}])
    assert main(["validate", str(bad_kb), "--kind", "kb"]) == 1
    q = write_lines(tmp_path / "q.jsonl", [{"id": "q-1", "body": "b", "relevant": []}])
    assert main(["validate", str(q), "--kind", "queries"]) == 0
    bad_q = write_lines(tmp_path / "q2.jsonl", [{"id": "q-1", "body": "b", "relevant": "kb-1"}])
    assert main(["validate", str(bad_q), "--kind", "queries"]) == 1
    err = capsys.readouterr().err
    assert "kb2.jsonl:1: title is missing" in err
    assert "q2.jsonl:1: relevant must be a list of answer ids" in err
    assert "Traceback" not in err


def test_cli_file_and_label_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["validate", str(tmp_path / "missing.jsonl")]) == 2
    good = write_lines(tmp_path / "posts.jsonl", [post("p-1")])
    bad_labels = tmp_path / "labels.yaml"
    bad_labels.write_text("heads:\n  intent: [vraag]\n")
    assert main(["validate", str(good), "--labels", str(bad_labels)]) == 2
    bad_labels.write_text("heads: [unclosed\n")
    assert main(["validate", str(good), "--labels", str(bad_labels)]) == 2
    err = capsys.readouterr().err
    assert err.count("error: ") == 3
    assert "at least two distinct labels" in err and "not valid YAML" in err
    assert "Traceback" not in err


# --------------------------------------------------------------------------- label configs


def _yaml(tmp_path: Path, text: str, name: str = "labels.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_default_labels_match_the_scheme() -> None:
    labels = LabelConfig.from_file()
    assert list(labels.heads) == DEFAULT_HEADS
    assert labels.heads["urgency"] == ["low", "normal", "high", "critical"]
    assert labels.heads["route"] == ["peers", "klantexpert", "webcare"]
    assert len(labels.heads["topic"]) == 10 and len(labels.heads["product"]) == 7


def test_foreign_label_set_one_other_head(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    cfg = _yaml(tmp_path, "heads:\n  intent: [a, b, c]\n")
    labels = LabelConfig.from_file(cfg)
    assert labels.heads == {"intent": ["a", "b", "c"]}
    foreign = write_lines(tmp_path / "foreign.jsonl", [{"id": "1", "body": "x", "intent": "a"},
                                                       {"id": "2", "body": "y", "intent": "c"}])
    assert len(load_posts(foreign, labels)) == 2
    with pytest.raises(DataValidationError) as exc:          # the default set rejects it
        load_posts(foreign)
    assert problems_of(exc)[:5] == [f"foreign.jsonl:1: {h} is missing" for h in DEFAULT_HEADS]
    default_ok = write_lines(tmp_path / "default.jsonl", [post("p-1")])
    assert len(load_posts(default_ok)) == 1
    with pytest.raises(DataValidationError) as exc:          # ... and vice versa
        load_posts(default_ok, labels)
    assert problems_of(exc) == ["default.jsonl:1: intent is missing"]
    bad = write_lines(tmp_path / "bad.jsonl", [{"id": "1", "body": "x", "intent": "d"}])
    with pytest.raises(DataValidationError) as exc:
        load_posts(bad, labels)
    assert problems_of(exc) == ["bad.jsonl:1: intent 'd' is not one of a, b, c"]
    # the CLI takes the same file with --labels
    assert main(["validate", str(foreign), "--labels", str(cfg)]) == 0
    assert main(["validate", str(foreign)]) == 1
    assert main(["validate", str(default_ok), "--labels", str(cfg)]) == 1


def test_foreign_label_set_other_values_extra_and_fewer_heads(tmp_path: Path) -> None:
    cfg = _yaml(tmp_path, "heads:\n  topic: [factuur, storing, overig]\n  urgency: [laag, hoog]\n"
                          "  channel: [forum, app]\n")
    labels = LabelConfig.from_file(cfg)
    rows = [{"id": "1", "body": "x", "topic": "factuur", "urgency": "hoog", "channel": "app"}]
    path = write_lines(tmp_path / "p.jsonl", rows)
    assert load_posts(path, labels) == rows
    with pytest.raises(DataValidationError) as exc:
        load_posts(path)
    got = problems_of(exc)
    assert "p.jsonl:1: topic 'factuur' is not one of billing, contract, network, home_internet, device, " \
           "roaming, sim, account, security, other" in got
    assert f"p.jsonl:1: urgency 'hoog' {URGENCY_MSG}" in got
    assert "p.jsonl:1: product is missing" in got
    default_row = write_lines(tmp_path / "d.jsonl", [post("p-1", urgency="low")])
    with pytest.raises(DataValidationError) as exc:
        load_posts(default_row, labels)
    assert problems_of(exc) == ["d.jsonl:1: topic 'billing' is not one of factuur, storing, overig",
                                "d.jsonl:1: urgency 'low' is not one of laag, hoog",
                                "d.jsonl:1: channel is missing"]
    # the KB's optional topic is checked against the foreign set too; product is no head there
    kb = write_lines(tmp_path / "kb.jsonl", [{"id": "k", "title": "t", "answer": "a", "topic": "storing",
                                              "product": "anything"}])
    assert len(load_answers(kb, labels)) == 1


def test_numeric_yaml_labels_become_text(tmp_path: Path) -> None:
    labels = LabelConfig.from_file(_yaml(tmp_path, "heads:\n  stars: [1, 2, 3]\n"))
    assert labels.heads == {"stars": ["1", "2", "3"]}


@pytest.mark.parametrize("text, match", [
    ("heads:\n  intent: [a]\n", "head 'intent' needs a list of at least two distinct labels"),
    ("heads:\n  intent: []\n", "at least two distinct labels"),
    ("heads:\n  intent: [a, b, a]\n", "head 'intent' needs a list of at least two distinct labels"),
    ("heads:\n  intent: a\n", "at least two distinct labels"),
    ("heads:\n  intent: {a: 1, b: 2}\n", "at least two distinct labels"),
    ("labels:\n  intent: [a, b]\n", "needs a non-empty 'heads' mapping"),
    ("heads: {}\n", "needs a non-empty 'heads' mapping"),
    ("heads: [a, b]\n", "needs a non-empty 'heads' mapping"),
    ("", "needs a non-empty 'heads' mapping"),
    ("- heads\n- intent\n", "needs a non-empty 'heads' mapping"),
    ("heads:\n  answered: [yes, no]\n", "label True is not text; quote it"),
    ("heads:\n  x: [a, null]\n", "label None is not text"),
    ("heads: [unclosed\n", "not valid YAML"),
])
def test_invalid_label_configs(tmp_path: Path, text: str, match: str) -> None:
    cfg = _yaml(tmp_path, text)
    with pytest.raises(ValueError, match=match) as exc:
        LabelConfig.from_file(cfg)
    assert str(exc.value).startswith(str(cfg))


def test_quoted_yes_no_labels(tmp_path: Path) -> None:
    labels = LabelConfig.from_file(_yaml(tmp_path, 'heads:\n  answered: ["yes", "no"]\n'))
    assert labels.heads == {"answered": ["yes", "no"]}


def test_infer_label_sets() -> None:
    rows: list[dict[str, Any]] = [
        {"topic": "b", "urgency": "low"}, {"topic": "a", "urgency": ""}, {"topic": "b"},
        {"topic": 3, "urgency": "high"}, {"topic": "c", "urgency": "low", "other": "x"}]
    labels = LabelConfig.infer(rows, ["topic", "urgency", "route"])
    assert labels.heads == {"topic": ["b", "a", "c"], "urgency": ["low", "high"], "route": []}
    assert LabelConfig.infer([], ["topic"]).heads == {"topic": []}


# --------------------------------------------------------------------------- formats

FORMAT_POSTS = [
    post("0012", title="", body="Hoi, ik zie twee keer €35 van mijn rekening.\nWat nu?"),
    post("p-2", title="Storing \"Utrecht\", centrum", body="Geen bereik, al sinds 8:00; bellen lukt niet.",
         topic="network", product="none", urgency="critical"),
    post("p-3", title="NA", body="None", topic="device", product="apple", sentiment="positive",
         urgency="low", route="peers"),
]
FORMAT_QUERIES = [
    {"id": "q-1", "title": "eSIM naar nieuwe telefoon", "body": "Ik heb net een iPhone 16.",
     "relevant": ["kb-1"]},
    {"id": "q-2", "title": "", "body": "Twee antwoorden", "relevant": ["kb-1", "kb-2"]},
    {"id": "q-3", "title": "Niets", "body": "Geen antwoord bekend", "relevant": []},
]


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        for r in rows:
            w.writerow({k: json.dumps(v) if isinstance(v, list) else v for k, v in r.items()})
    return path


def _write_all_formats(tmp_path: Path, name: str, rows: list[dict[str, Any]]) -> dict[str, Path]:
    import pyarrow as pa
    import pyarrow.parquet as pq
    from datasets import Dataset, DatasetDict

    out = {"jsonl": tmp_path / f"{name}.jsonl", "csv": tmp_path / f"{name}.csv",
           "parquet": tmp_path / f"{name}.parquet", "hf": tmp_path / f"{name}_hf",
           "hf_dict": tmp_path / f"{name}_hfdict"}
    write_jsonl(out["jsonl"], rows)
    _write_csv(out["csv"], rows)
    pq.write_table(pa.Table.from_pylist(rows), out["parquet"])
    Dataset.from_list(rows).save_to_disk(str(out["hf"]))
    DatasetDict({"validation": Dataset.from_list(rows[:1]), "train": Dataset.from_list(rows)}).save_to_disk(
        str(out["hf_dict"]))
    return out


def test_same_posts_from_every_format(tmp_path: Path) -> None:
    paths = _write_all_formats(tmp_path, "posts", FORMAT_POSTS)
    for fmt, path in paths.items():
        assert load_posts(path) == FORMAT_POSTS, fmt
    # line / row numbers: JSONL lines, CSV rows start at 2 (header is line 1; row 1 has a 2-line body)
    assert [n for n, _ in read_rows(paths["csv"])[0]] == [2, 4, 5]
    assert [n for n, _ in read_rows(paths["parquet"])[0]] == [1, 2, 3]


def test_same_queries_from_every_format(tmp_path: Path) -> None:
    paths = _write_all_formats(tmp_path, "queries", FORMAT_QUERIES)
    for fmt, path in paths.items():
        assert load_queries(path, {"kb-1", "kb-2"}) == FORMAT_QUERIES, fmt


def test_csv_relevant_cells(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text('id,body,relevant\nq-1,a,"[""kb-1"", ""kb-2""]"\nq-2,b,[]\nq-3,c,"kb-1, kb-2"\n'
                    'q-4,d,kb-1;kb-2\nq-5,e,"""kb-1"""\n', encoding="utf-8")
    rows, problems = read_rows(path)
    assert problems == []
    both = ["kb-1", "kb-2"]
    assert [r["relevant"] for _, r in rows] == [both, [], both, both, "kb-1"]
    with pytest.raises(DataValidationError) as exc:
        load_queries(path, {"kb-1", "kb-2"})
    assert problems_of(exc) == ["q.csv:6: relevant must be a list of answer ids"]


def test_csv_errors_carry_the_row_line(tmp_path: Path) -> None:
    path = tmp_path / "posts.csv"
    path.write_text(
        "\ufeffid,title,body,topic,product,sentiment,urgency,route\n"          # 1 header (with a BOM)
        "p-1,,Goed bericht,billing,none,neutral,low,peers\n"                   # 2
        "p-2,Titel,\"Twee\nregels\",billing,none,neutral,urgent,peers\n"        # 3-4 (body spans two)
        "\n"                                                                   # 5 blank
        "p-4,,,billing,none,neutral,low,peers\n"                               # 6 empty body
        "p-1,,Dubbel,weather,none,neutral,low,\n"                              # 7
        "p-8,,te weinig velden\n",                                             # 8
        encoding="utf-8")
    with pytest.raises(DataValidationError) as exc:
        load_posts(path)
    assert problems_of(exc) == [
        f"posts.csv:3: urgency 'urgent' {URGENCY_MSG}",
        "posts.csv:6: body is missing",
        "posts.csv:7: topic 'weather' is not one of billing, contract, network, home_internet, device, "
        "roaming, sim, account, security, other",
        "posts.csv:7: route is missing",
        "posts.csv:7: id 'p-1' repeats line 2",
        "posts.csv:8: row has 3 fields, the header has 8",
    ]


def test_cli_validates_csv(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bad = _write_csv(tmp_path / "posts.csv", [post("p-1"), post("p-2", sentiment="boos")])
    assert main(["validate", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "posts.csv:3: sentiment 'boos' is not one of negative, neutral, positive" in err
    good = _write_csv(tmp_path / "ok.csv", [post("p-1"), post("p-2")])
    assert main(["validate", str(good)]) == 0


def test_parquet_and_datasets_errors_carry_row_numbers(tmp_path: Path) -> None:
    rows = [post("p-1"), post("p-2", urgency="urgent"), post("p-1")]
    paths = _write_all_formats(tmp_path, "bad", rows)
    for fmt in ("parquet", "hf"):
        with pytest.raises(DataValidationError) as exc:
            load_posts(paths[fmt])
        name = paths[fmt].name
        assert problems_of(exc) == [f"{name}:2: urgency 'urgent' {URGENCY_MSG}",
                                    f"{name}:3: id 'p-1' repeats line 1"], fmt


def test_checked_in_fixture_files() -> None:
    """The small checked-in fixtures: a valid posts file and a broken one."""
    assert len(load_posts(DATA / "data_tooling_posts.jsonl")) == 3
    with pytest.raises(DataValidationError) as exc:
        load_posts(DATA / "data_tooling_bad_posts.jsonl")
    assert problems_of(exc) == [
        f"data_tooling_bad_posts.jsonl:2: urgency 'urgent' {URGENCY_MSG}",
        "data_tooling_bad_posts.jsonl:3: route is missing",
        "data_tooling_bad_posts.jsonl:3: id 'p-0001' repeats line 1",
    ]


# --------------------------------------------------------------------------- splits

# computed once from sha256(id) mod 100; a change of the hash or the cut points moves rows
# between splits and breaks every model's test set, so it must show up here
FIXED_SPLITS = {
    "p-0000": "train", "p-0001": "train", "p-0002": "train", "p-0003": "dev", "p-0011": "test",
    "p-0017": "dev", "p-0018": "dev", "p-0026": "test", "q-0001": "train", "q-0006": "dev",
    "q-0007": "dev", "q-0008": "test", "kb-0001": "test", "kb-0002": "train", "Ünïcode-id": "train",
}


def test_split_of_is_stable() -> None:
    assert {i: split_of(i) for i in FIXED_SPLITS} == FIXED_SPLITS


def test_split_proportions() -> None:
    counts = Counter(split_of(f"post-{i}") for i in range(2000))
    assert counts == {"train": 1603, "dev": 213, "test": 184}   # fixed, and roughly 80/10/10
    assert 0.76 < counts["train"] / 2000 < 0.84
    assert 0.07 < counts["dev"] / 2000 < 0.13 and 0.07 < counts["test"] / 2000 < 0.13


BASE = ("Sinds gisteren werkt mijn mobiele internet niet meer in de buurt van het station. "
        "Bellen lukt wel, maar data blijft hangen op 4G zonder verbinding. Ik heb de telefoon al "
        "opnieuw opgestart en de netwerkinstellingen gereset, helaas zonder resultaat.")


def test_exact_duplicates_dropped_keeping_first() -> None:
    rows = [post("p-0017", body="Mijn  factuur is TE hoog"), post("p-0000", body="mijn factuur is te hoog "),
            post("p-0003", body="Iets heel anders over roaming in Spanje en de kosten daarvan"),
            post("p-0011", title="", body="mijn factuur\nis te hoog")]
    res = split_rows(rows)
    assert res.exact_duplicates == [("p-0000", "p-0017"), ("p-0011", "p-0017")]
    kept = [r["id"] for s in SPLITS for r in res.splits[s]]
    assert sorted(kept) == ["p-0003", "p-0017"]
    assert [r["id"] for r in res.splits["dev"]] == ["p-0017", "p-0003"]


def test_near_duplicates_in_different_splits_move_to_train() -> None:
    one_word = BASE.replace("station", "ziekenhuis")
    other = ("Mijn nieuwe Samsung laadt erg langzaam op sinds de laatste update van vorige week. "
             "Is dat bij meer mensen zo, of moet ik een andere kabel proberen?")
    other_one_word = other.replace("kabel", "lader")
    rows = [post("p-0003", body=BASE),            # dev
            post("p-0000", body=one_word),        # train: its near-twin p-0003 must join it
            post("p-0011", body=other),           # test
            post("p-0017", body=other_one_word),  # dev: different split from its twin, both to train
            post("p-0026", body="Een bericht dat nergens op lijkt, over een compliment voor de winkel.")]
    assert minhash(BASE).jaccard(minhash(one_word)) >= NEAR_DUP_THRESHOLD
    res = split_rows(rows)
    assert [r["id"] for r in res.splits["train"]] == ["p-0003", "p-0000", "p-0011", "p-0017"]
    assert res.splits["dev"] == [] and [r["id"] for r in res.splits["test"]] == ["p-0026"]
    assert sorted(res.near_duplicates) == [("p-0003", "p-0000"), ("p-0011", "p-0017"), ("p-0017", "p-0011")]
    assert res.exact_duplicates == []
    # near-twins in the same split stay where they are
    same = split_rows([post("p-0017", body=BASE), post("p-0018", body=one_word)])
    assert [r["id"] for r in same.splits["dev"]] == ["p-0017", "p-0018"] and same.near_duplicates == []


def test_near_duplicate_chains_leave_no_twin_across_splits() -> None:
    """x~y and y~z but x !~ z: x and y share dev, z is in train. Moving y to train must take x along."""
    k = 35
    x = "Vanochtend viel opeens alles uit bij mij thuis en op het werk, echt vervelend! "[:k] + BASE[k:]
    z = BASE[:-k] + " Wat kan ik nog meer proberen voordat ik naar de winkel ga met dit toestel?"[-k:]
    rows = [post("p-0017", body=x), post("p-0018", body=BASE), post("p-0000", body=z)]
    # precondition on the MinHash estimates: exactly the chain x~y, y~z
    assert sorted(_near_duplicates(rows, lambda r: r["body"])) == [("p-0000", "p-0018"), ("p-0018", "p-0017")]
    res = split_rows(rows)
    assert [r["id"] for r in res.splits["train"]] == ["p-0017", "p-0018", "p-0000"]
    assert res.splits["dev"] == [] and res.splits["test"] == []


def test_no_dev_or_test_text_has_a_near_twin_in_another_split() -> None:
    words = ("factuur modem storing roaming simkaart esim iphone samsung bundel abonnement prepaid wifi "
             "router tegoed bereik glasvezel installatie monteur wachtwoord phishing").split()
    rows = []
    for i in range(120):
        body = " ".join(words[(i * 7 + j * 3) % len(words)] + str((i * j) % 13) for j in range(25))
        rows.append(post(f"n-{i:04d}", body=body))
        if i % 3 == 0:  # a near-twin: one word changed
            rows.append(post(f"m-{i:04d}", body=body.replace(body.split()[10], "anders", 1)))
    res = split_rows(rows)
    where = {r["id"]: s for s in SPLITS for r in res.splits[s]}
    assert len(where) == len(rows) and res.exact_duplicates == []
    assert {s for s in where.values()} == set(SPLITS)
    hashes = {r["id"]: minhash(r["body"]) for r in rows}
    twins = [(a, b) for a, b in combinations(hashes, 2)
             if hashes[a].jaccard(hashes[b]) >= NEAR_DUP_THRESHOLD]
    assert len(twins) >= 40
    for a, b in twins:
        assert where[a] == where[b], (a, b, where[a], where[b])
    for i in range(0, 120, 3):
        assert where[f"n-{i:04d}"] == where[f"m-{i:04d}"]


# --------------------------------------------------------------------------- report


def _tiny_data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    write_jsonl(d / "posts.jsonl", [
        # train
        post("p-0000", title="Factuur", body="Ik heb een vraag over mijn factuur", topic="billing",
             product="none", sentiment="neutral", urgency="normal", route="peers"),          # 8 words
        post("p-0001", title="Roaming", body="Ik heb een vraag over roaming in Spanje", topic="roaming",
             product="sim_only", sentiment="neutral", urgency="low", route="peers"),         # 9 words
        post("p-0002", title="Factuur", body="ik heb een  vraag over mijn factuur", topic="billing",
             product="none", sentiment="neutral", urgency="normal", route="peers"),          # exact dup
        # dev
        post("p-0003", body="Ik heb een probleem met mijn modem", topic="home_internet",
             product="modem_tv", sentiment="negative", urgency="high", route="klantexpert"),  # 7 words
        # test
        post("p-0011", body="Mijn iPhone laadt niet meer op", topic="device", product="apple",
             sentiment="negative", urgency="normal", route="peers"),                         # 6 words
    ])
    write_jsonl(d / "kb.jsonl", [{"id": "kb-0001", "title": "Factuur lezen", "answer": "Zo lees je ..."},
                                 {"id": "kb-0002", "title": "Roaming", "answer": "In de EU ..."}])
    write_jsonl(d / "queries.jsonl", [
        {"id": "q-0001", "body": "Hoe lees ik mijn factuur?", "relevant": ["kb-0001"]},           # train
        {"id": "q-0002", "body": "Wat kost bellen in Turkije?", "relevant": []},                  # train
        {"id": "q-0006", "body": "Roaming in Frankrijk", "relevant": ["kb-0002"]},                # dev
        {"id": "q-0008", "body": "Mijn buurman heeft ook storing, wat nu?", "relevant": []},      # test
    ])
    return d


def test_length_stats_and_diversity_by_hand() -> None:
    rows = [{"body": "a b c d e"}, {"title": "t", "body": "a b c d e f"}, {"body": "x y"}]
    # words 5, 7, 2 -> p95 inclusive: position 0.95 * 2 = 1.9 -> 5 + 0.9 * (7 - 5) = 6.8
    assert length_stats(rows) == {"min": 2, "median": 5, "p95": 6.8, "max": 7, "mean": 4.7}
    assert length_stats([{"body": "een twee"}]) == {"min": 2, "median": 2, "p95": 2, "max": 2, "mean": 2.0}
    assert length_stats([])["max"] == 0
    # 3-grams: abc bcd cde | abc bcd cde def | (none) -> 7 grams, 4 distinct
    # openings: "a b c d e" twice -> 2 of 3 posts share it
    assert diversity(rows) == {"distinct_word_3gram_ratio": round(4 / 7, 4), "share_first5_shared": 0.6667,
                               "top_repeated_openings": [("a b c d e", 2)]}
    assert diversity([]) == {"distinct_word_3gram_ratio": 0.0, "share_first5_shared": 0.0,
                             "top_repeated_openings": []}


def test_p95_never_above_max() -> None:
    for n in range(2, 30):
        rows = [{"body": " ".join(["w"] * (i + 1))} for i in range(n)]
        st = length_stats(rows)
        assert st["min"] <= st["median"] <= st["p95"] <= st["max"], (n, st)


def test_build_report_on_tiny_data_dir(tmp_path: Path) -> None:
    from training.corpus import load_corpus

    corpus = load_corpus(_tiny_data_dir(tmp_path))
    rep = build_report(corpus.posts, corpus.labels, corpus.kb, corpus.queries)
    assert rep["posts"] == {"train": 2, "dev": 1, "test": 1}
    assert rep["labels"]["topic"]["billing"] == {"train": 1, "dev": 0, "test": 0}
    assert rep["labels"]["topic"]["roaming"] == {"train": 1, "dev": 0, "test": 0}
    assert rep["labels"]["topic"]["home_internet"] == {"train": 0, "dev": 1, "test": 0}
    assert rep["labels"]["topic"]["device"] == {"train": 0, "dev": 0, "test": 1}
    assert rep["labels"]["topic"]["security"] == {"train": 0, "dev": 0, "test": 0}
    assert rep["labels"]["route"] == {"peers": {"train": 2, "dev": 0, "test": 1},
                                      "klantexpert": {"train": 0, "dev": 1, "test": 0},
                                      "webcare": {"train": 0, "dev": 0, "test": 0}}
    assert list(rep["labels"]) == DEFAULT_HEADS
    # title + body words: 8, 9, 7, 6 -> p95 at position 0.95 * 3 = 2.85: 8 + 0.85 * (9 - 8)
    assert rep["length_words"] == {"min": 6, "median": 7.5, "p95": 8.85, "max": 9, "mean": 7.5}
    assert rep["duplicates"] == {"posts_exact_dropped": 1, "posts_near_moved_to_train": 0,
                                 "queries_exact_dropped": 0, "queries_near_moved_to_train": 0}
    # body 3-grams: 5 + 6 + 5 + 4 = 20, distinct 5 + 3 + 4 + 4 = 16 ("ik heb een", "heb een vraag",
    # "een vraag over" repeat); openings: "ik heb een vraag over" x2 -> 2 of 4 posts
    assert rep["diversity"] == {"distinct_word_3gram_ratio": 0.8, "share_first5_shared": 0.5,
                                "top_repeated_openings": [("ik heb een vraag over", 2)]}
    assert rep["kb_answers"] == 2
    assert rep["queries"] == {"train": 2, "dev": 1, "test": 1} and rep["queries_total"] == 4
    assert rep["queries_without_answer"] == {"train": 1, "dev": 0, "test": 1}

    md = render_markdown(rep)
    assert "| train | 2 | 2 | 1 |" in md and "| dev | 1 | 1 | 0 |" in md and "| test | 1 | 1 | 1 |" in md
    assert "Knowledge-base answers: 2" in md
    assert "**topic**" in md and "| billing | 1 | 0 | 0 | 1 |" in md and "| device | 0 | 0 | 1 | 1 |" in md
    assert "| klantexpert | 0 | 1 | 0 | 1 |" in md
    assert "Length in words (title + body): min 6, median 7.5, mean 7.5, p95 9, max 9" in md
    assert "Duplicates: 1 exact post duplicates dropped, 0 near-duplicate posts moved to train; " \
           "0 exact / 0 near query duplicates." in md
    assert "Diversity: distinct word-3-gram ratio 0.8, share of posts whose first five words open " \
           "another post 0.5" in md
    assert 'Top repeated openings: "ik heb een vraag over" ×2' in md


def test_cli_report_and_split(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    d = _tiny_data_dir(tmp_path)
    out_json = tmp_path / "report.json"
    assert main(["report", str(d), "--json", str(out_json)]) == 0
    rep = json.loads(out_json.read_text(encoding="utf-8"))
    assert rep["posts"] == {"train": 2, "dev": 1, "test": 1}
    assert rep["diversity"]["top_repeated_openings"] == [["ik heb een vraag over", 2]]
    assert "| billing | 1 | 0 | 0 | 1 |" in capsys.readouterr().out
    assert main(["split", str(d), "--out", str(tmp_path / "splits")]) == 0
    split_dir = tmp_path / "splits"
    ids = {s: [json.loads(x)["id"] for x in (split_dir / s / "posts.jsonl").read_text().splitlines()]
           for s in SPLITS}
    assert ids == {"train": ["p-0000", "p-0001"], "dev": ["p-0003"], "test": ["p-0011"]}
    # a broken data dir: exit 1, problems on stderr
    write_jsonl(d / "posts.jsonl", [post("p-1", urgency="urgent")])
    assert main(["report", str(d)]) == 1
    assert f"posts.jsonl:1: urgency 'urgent' {URGENCY_MSG}" in capsys.readouterr().err


def test_report_with_labels_beside_the_data(tmp_path: Path) -> None:
    from training.corpus import load_corpus

    d = tmp_path / "data"
    write_jsonl(d / "posts.jsonl", [{"id": "p-0000", "body": "een twee drie", "intent": "vraag"},
                                    {"id": "p-0003", "body": "vier vijf zes", "intent": "klacht"}])
    (d / "labels.yaml").write_text("heads:\n  intent: [vraag, klacht, compliment]\n", encoding="utf-8")
    corpus = load_corpus(d)
    rep = build_report(corpus.posts, corpus.labels, corpus.kb, corpus.queries)
    assert rep["labels"] == {"intent": {"vraag": {"train": 1, "dev": 0, "test": 0},
                                        "klacht": {"train": 0, "dev": 1, "test": 0},
                                        "compliment": {"train": 0, "dev": 0, "test": 0}}}
    assert rep["kb_answers"] == 0 and rep["queries_total"] == 0
