"""Issue 14: thread import into the knowledge base, expert records, matching and expected response,
against the real FastAPI app, the real SQLite store and the tiny ONNX model."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from models.schema import DataValidationError, LabelConfig
from models.threads import check_threads, load_threads, thread_answer, thread_facts, training_posts
from service.app import create_app
from service.settings import Settings
from tests.conftest import MINI
from tests.dbutil import columns, db_rows

KEYS = {"forum-key-000000000001": "forum", "webcare-key-00000000001": "webcare", "admin-key-0000000000001": "admin"}
FORUM, WEBCARE, ADMIN = ({"X-API-Key": k} for k in KEYS)
NDJSON = {"Content-Type": "application/x-ndjson"}
LABELS = {"topic": "device", "product": "samsung", "sentiment": "negative", "urgency": "normal",
          "route": "klantexpert"}
ALWAYS_EXPERT = """
safety_order: [peers, klantexpert, webcare]
expected_response: {peers: binnen 4 uur, klantexpert: binnen 24 uur, webcare: binnen 1 uur}
rules:
  - {name: all_to_expert, route: klantexpert, reason: specialist_question, explanation: Voor een klantexpert.}
"""


def thread(n: int, question: str, solution: str | None, solver: str = "u-1", role: str = "klantexpert",
           labels: dict | None = None, hours: float = 2.0, title: str | None = None) -> dict:
    start = f"2026-10-{1 + n % 28:02d}T10:00:00Z"
    posts = [{"post_id": "m-1", "author": {"id": f"asker-{n}", "name": "Vrager", "role": "member"},
              "created_at": start, "body": question, "labels": labels or LABELS}]
    if solution is not None:
        h, m = int(hours), int(round((hours - int(hours)) * 60))
        posts.append({"post_id": "m-2", "author": {"id": solver, "name": f"Naam {solver}", "role": role},
                      "created_at": f"2026-10-{1 + n % 28:02d}T{10 + h:02d}:{m:02d}:00Z", "body": solution,
                      "accepted": True, "kudos": 2})
    return {"thread_id": f"t-{n}", "title": title or f"Vraag {n}", "url": f"https://forum.example/t/{n}",
            "board": "Toestellen", "posts": posts}


SAMSUNG = thread(1, "Mijn Galaxy S24 pakt geen 5G, alleen 4G, ook in de stad.",
                 "Zet bij Verbindingen > Mobiele netwerken > Netwerkmodus op 5G/LTE automatisch.",
                 title="Galaxy S24 geen 5G")
MODEM = thread(2, "Het modem knippert oranje en we hebben geen internet thuis.",
               "Controleer de DSL-kabel en houd de resetknop 10 seconden ingedrukt.", solver="u-2",
               labels={**LABELS, "topic": "home_internet", "product": "modem_tv"}, title="Modem knippert oranje")
OPEN = thread(3, "Werkt jullie app op een Huawei zonder Google?", None)
BY_WEBCARE = thread(4, "Twee keer afgeschreven deze maand, ik wil mijn geld terug.",
                    "We storten de dubbele afschrijving binnen vijf werkdagen terug.", solver="w-1", role="webcare",
                    labels={**LABELS, "topic": "billing", "product": "sim_only", "route": "webcare"})


def ndjson(*threads: dict) -> bytes:
    return "\n".join(json.dumps(t, ensure_ascii=False) for t in threads).encode()


@pytest.fixture()
def settings(tiny_model: Path, tmp_path: Path, store_url: str) -> Settings:
    policy = tmp_path / "policy.yaml"
    policy.write_text(ALWAYS_EXPERT, encoding="utf-8")
    return Settings(model_dir=tiny_model, store_url=store_url, api_keys=KEYS,
                    seed_kb=MINI / "kb.jsonl", policy_file=policy)


@pytest.fixture()
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


def bulk(client: TestClient, *threads: dict) -> dict:
    r = client.post("/v1/threads/bulk", content=ndjson(*threads), headers={**ADMIN, **NDJSON})
    assert r.status_code == 200, r.text
    return r.json()


# validation and conversion (no model) ---------------------------------------------------------------

def test_validation_names_line_and_field(tmp_path: Path) -> None:
    two_accepted = copy.deepcopy(SAMSUNG)
    two_accepted["posts"].append({**two_accepted["posts"][1], "post_id": "m-3"})
    bad_role = copy.deepcopy(MODEM)
    bad_role["posts"][1]["author"]["role"] = "admin"
    bad_time = copy.deepcopy(OPEN)
    bad_time["posts"][0]["created_at"] = "gisteren"
    bad_label = copy.deepcopy(BY_WEBCARE)
    bad_label["posts"][0]["labels"]["topic"] = "weer"
    no_posts = {"thread_id": "t-9", "posts": []}
    path = tmp_path / "threads.jsonl"
    path.write_bytes(ndjson(SAMSUNG, two_accepted, bad_role, bad_time, bad_label, no_posts) + b"\n{nope\n")
    with pytest.raises(DataValidationError) as err:
        load_threads(path)
    found = {(p.line, p.field) for p in err.value.problems}
    assert {(2, "posts"), (2, "thread_id"), (3, "posts[1].author.role"), (4, "posts[0].created_at"),
            (5, "posts[0].labels.topic"), (6, "posts"), (7, "")} <= found
    assert all(p.line != 1 for p in err.value.problems)


def test_first_post_cannot_be_the_solution_and_csv_is_read(tmp_path: Path) -> None:
    selfsolved = copy.deepcopy(OPEN)
    selfsolved["posts"][0]["accepted"] = True
    problems = check_threads([(1, selfsolved)], LabelConfig.from_file(), "x")
    assert [p.field for p in problems] == ["posts[0].accepted"]
    import csv

    path = tmp_path / "threads.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["thread_id", "title", "posts"])
        w.writerow([SAMSUNG["thread_id"], SAMSUNG["title"], json.dumps(SAMSUNG["posts"])])
    assert load_threads(path)[0]["posts"][1]["accepted"] is True


def test_conversion_to_answer_posts_and_timings() -> None:
    a = thread_answer(SAMSUNG)
    assert a is not None and a["id"] == "thread:t-1" and a["title"] == "Galaxy S24 geen 5G"
    assert a["question"] == SAMSUNG["posts"][0]["body"] and a["answer"] == SAMSUNG["posts"][1]["body"]
    assert a["updated_at"] == SAMSUNG["posts"][1]["created_at"] and a["product"] == "samsung"
    assert thread_answer(OPEN) is None
    f = thread_facts(SAMSUNG)
    assert f.solver_id == "u-1" and f.first_answer_s == 7200 and f.solution_s == 7200
    private = copy.deepcopy(OPEN)
    private["posts"][0]["body"] = "Bel me op 06-12345678, mail jan@voorbeeld.nl"
    rows = training_posts(private)
    assert rows[0]["id"] == "t-3:m-1" and "06-12345678" not in rows[0]["body"] and "[EMAIL]" in rows[0]["body"]
    assert rows[0]["topic"] == "device"


# the service ------------------------------------------------------------------------------------------

def test_import_reimport_edit_and_unaccept(client: TestClient) -> None:
    out = bulk(client, SAMSUNG, MODEM, OPEN, BY_WEBCARE)
    assert out == {"threads": 4, "unchanged": 0, "answers_written": 3, "answers_removed": 0,
                   "experts": ["u-1", "u-2", "w-1"]}
    a = client.get("/v1/answers/thread:t-1", headers=ADMIN).json()
    assert a["answer"] == SAMSUNG["posts"][1]["body"] and a["url"] == SAMSUNG["url"]
    assert client.get("/v1/answers/thread:t-3", headers=ADMIN).status_code == 404
    query = {"post": {"title": SAMSUNG["title"], "body": SAMSUNG["posts"][0]["body"]}, "limit": 3}
    top = client.post("/v1/suggestions", json=query, headers=WEBCARE).json()["suggestions"]
    assert top and top[0]["answer_id"] == "thread:t-1"

    assert bulk(client, SAMSUNG, MODEM, OPEN, BY_WEBCARE)["unchanged"] == 4  # idempotent
    n_answers = client.get("/readyz").json()["answers"]

    edited = copy.deepcopy(SAMSUNG)
    edited["posts"][1]["body"] = "Update eerst naar One UI 6.1 en kies dan 5G/LTE automatisch."
    out = bulk(client, edited, MODEM)
    assert out["unchanged"] == 1 and out["answers_written"] == 1
    assert client.get("/v1/answers/thread:t-1", headers=ADMIN).json()["answer"].startswith("Update eerst")
    assert client.get("/readyz").json()["answers"] == n_answers

    unaccepted = copy.deepcopy(MODEM)
    unaccepted["posts"][1]["accepted"] = False
    assert bulk(client, unaccepted)["answers_removed"] == 1
    assert client.get("/v1/answers/thread:t-2", headers=ADMIN).status_code == 404
    assert client.get("/readyz").json()["answers"] == n_answers - 1
    r = client.post("/v1/suggestions", json={"post": {"body": MODEM["posts"][0]["body"]}, "limit": 20},
                    headers=WEBCARE).json()
    assert "thread:t-2" not in [s["answer_id"] for s in r["suggestions"]]
    assert client.get("/v1/experts/u-2", headers=ADMIN).json()["solved"] == 0


def test_bulk_with_an_invalid_line_is_422_and_writes_nothing(client: TestClient, settings: Settings) -> None:
    bad = copy.deepcopy(MODEM)
    del bad["posts"][1]["author"]["id"]
    r = client.post("/v1/threads/bulk", content=ndjson(SAMSUNG, bad, SAMSUNG), headers={**ADMIN, **NDJSON})
    assert r.status_code == 422
    assert [(d["line"], d["field"]) for d in r.json()["detail"]] == [(2, "posts[1].author.id"), (3, "thread_id")]
    assert client.get("/v1/answers/thread:t-1", headers=ADMIN).status_code == 404
    assert db_rows(settings.store, "SELECT COUNT(*) FROM threads")[0][0] == 0
    assert db_rows(settings.store, "SELECT COUNT(*) FROM experts")[0][0] == 0
    r = client.post("/v1/threads/bulk", content=b"", headers={**ADMIN, **NDJSON})
    assert r.status_code == 422 and "no threads" in r.json()["detail"][0]["reason"]


def test_scopes(client: TestClient) -> None:
    assert client.post("/v1/threads/bulk", content=ndjson(SAMSUNG), headers={**FORUM, **NDJSON}).status_code == 403
    assert client.post("/v1/threads/bulk", content=ndjson(SAMSUNG), headers={**WEBCARE, **NDJSON}).status_code == 403
    assert client.post("/v1/experts/match", json={"body": "hoi"}, headers=FORUM).status_code == 403
    assert client.get("/v1/experts", headers=FORUM).status_code == 403
    assert client.put("/v1/experts/u-1", json={"available": False}, headers=WEBCARE).status_code == 403
    assert client.get("/v1/stats", headers=WEBCARE).status_code == 403
    assert client.post("/v1/experts/match", json={"body": "hoi"}, headers=WEBCARE).status_code == 200
    assert client.get("/v1/experts", headers=WEBCARE).status_code == 200
    assert client.post("/v1/threads/bulk", content=ndjson(SAMSUNG)).status_code == 401


def test_expert_records_and_put(client: TestClient, settings: Settings) -> None:
    bulk(client, SAMSUNG, MODEM, BY_WEBCARE)
    experts = client.get("/v1/experts", headers=WEBCARE).json()["experts"]
    assert {e["id"] for e in experts} == {"u-1", "u-2", "w-1"}
    u1 = client.get("/v1/experts/u-1", headers=WEBCARE).json()
    assert u1["solved"] == 1 and u1["by_product"] == {"samsung": 1} and u1["by_topic"] == {"device": 1}
    assert u1["median_answer_s"] == 7200 and u1["last_active"].startswith("2026-10-02T12:00")
    assert u1["name"] == "Naam u-1" and u1["matchable"] is True
    assert client.get("/v1/experts/w-1", headers=WEBCARE).json()["matchable"] is False  # staff
    assert client.get("/v1/experts/nobody", headers=WEBCARE).status_code == 404

    r = client.put("/v1/experts/u-1", json={"name": "Joost", "max_open": 3, "open_questions": 1,
                                             "specialities": ["samsung", "network"]}, headers=ADMIN)
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Joost" and r.json()["max_open"] == 3 and r.json()["solved"] == 1
    bulk(client, thread(5, "Galaxy A54 wifi-bellen grijs", "Zet wifi-oproepen aan in de Telefoon-app."))
    assert client.get("/v1/experts/u-1", headers=ADMIN).json()["name"] == "Joost"  # a hand-set name stays
    assert client.get("/v1/experts/u-1", headers=ADMIN).json()["solved"] == 2

    for body, field in [({"specialities": ["weer"]}, "specialities"), ({"email": "a@b.nl"}, "email"),
                        ({"max_open": -1}, "max_open"), ({"available": None}, "available")]:
        r = client.put("/v1/experts/u-1", json=body, headers=ADMIN)
        assert r.status_code == 422 and field in json.dumps(r.json()["detail"]), (body, r.text)
    r = client.put("/v1/experts/u-new", json={"name": "Nieuwe expert", "specialities": ["roaming"]}, headers=ADMIN)
    assert r.status_code == 200 and r.json()["role"] == "klantexpert" and r.json()["solved"] == 0
    names = columns(settings.store, "experts")
    assert "role" in names and not {"email", "phone", "address"} & set(names)


def test_matching_respects_availability_and_limits(client: TestClient) -> None:
    bulk(client, SAMSUNG, MODEM, BY_WEBCARE)
    post = {"title": SAMSUNG["title"], "body": SAMSUNG["posts"][0]["body"]}

    def matched() -> list[str]:
        r = client.post("/v1/experts/match", json=post, headers=WEBCARE)
        assert r.status_code == 200, r.text
        for e in r.json()["experts"]:
            assert e["name"] and e["reasons"] and isinstance(e["score"], float)
        return [e["id"] for e in r.json()["experts"]]

    first = matched()
    assert first and first[0] == "u-1" and "w-1" not in first and len(first) <= 3
    client.put("/v1/experts/u-1", json={"available": False}, headers=ADMIN)
    assert "u-1" not in matched()
    client.put("/v1/experts/u-1", json={"available": True, "max_open": 2, "open_questions": 2}, headers=ADMIN)
    assert "u-1" not in matched()  # at the limit
    client.put("/v1/experts/u-1", json={"open_questions": 1}, headers=ADMIN)
    assert matched()[0] == "u-1"
    client.put("/v1/experts/u-1", json={"max_open": None}, headers=ADMIN)
    assert matched()[0] == "u-1"


def test_triage_carries_experts_and_expected_response_from_history(client: TestClient) -> None:
    post = {"title": SAMSUNG["title"], "body": SAMSUNG["posts"][0]["body"]}
    before = client.post("/v1/triage", json=post, headers=FORUM).json()["route"]
    assert before["target"] == "klantexpert" and before["experts"] == []
    assert before["expected_response"] == "binnen 24 uur"  # the policy's text: no history yet

    history = [thread(10 + i, f"Vraag {i} over mijn Galaxy-toestel en de instellingen", f"Antwoord {i}",
                      hours=3.0) for i in range(5)]
    bulk(client, SAMSUNG, *history)
    route = client.post("/v1/triage", json=post, headers=FORUM).json()["route"]
    assert route["experts"] and route["experts"][0]["id"] == "u-1"
    assert route["expected_response"].startswith("meestal binnen 3 uur een eerste antwoord, opgelost binnen 3 uur")
    assert "6 eerdere vragen" in route["expected_response"]
    stats = client.get("/v1/stats", headers=ADMIN).json()
    ke = stats["threads"]["by_route"]["klantexpert"]
    assert stats["threads"]["threads"] == 6 and stats["threads"]["solved"] == 6
    assert ke["threads"] == 6 and ke["first_answer_median_s"] == 3 * 3600 and ke["solution_median_s"] == 3 * 3600


def test_cli_import_and_posts_out_then_service_loads_it(tiny_model: Path, settings: Settings,
                                                        tmp_path: Path) -> None:
    from models.data_io import load_posts
    from training.__main__ import main

    src = tmp_path / "threads.jsonl"
    private = copy.deepcopy(MODEM)
    private["posts"][0]["body"] += " Mijn nummer is 06-12345678."
    src.write_bytes(ndjson(SAMSUNG, private, OPEN))
    posts_out = tmp_path / "posts.jsonl"
    args = ["import-threads", str(src), "--store", settings.store_url, "--model", str(tiny_model)]
    assert main([*args, "--posts-out", str(posts_out)]) == 0
    rows = load_posts(posts_out)  # valid labelled posts
    assert len(rows) == 3 and not any("06-12345678" in r["body"] for r in rows)
    assert main(args) == 0  # re-import: nothing changes
    assert db_rows(settings.store, "SELECT COUNT(*) FROM answers WHERE id LIKE 'thread:%'")[0][0] == 2
    assert "06-12345678" not in json.dumps(db_rows(settings.store, "SELECT * FROM threads"))
    with TestClient(create_app(settings)) as c:
        top = c.post("/v1/suggestions", json={"post": {"title": SAMSUNG["title"], "body": SAMSUNG["posts"][0]["body"]}},
                     headers=WEBCARE).json()["suggestions"]
        assert top and top[0]["answer_id"] == "thread:t-1"
        assert c.get("/v1/experts/u-2", headers=ADMIN).json()["solved"] == 1
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"thread_id": "t-1", "posts": []}\n', encoding="utf-8")
    assert main(["import-threads", str(bad), "--store", settings.store_url, "--model", str(tiny_model)]) == 1


def test_eval_experts_command_on_the_shipped_threads(tiny_model: Path, tmp_path: Path) -> None:
    from eval.cli import main

    data = Path(__file__).parents[1] / "eval" / "data"
    out = tmp_path / "experts.json"
    assert main(["experts", "--threads", str(data / "threads.jsonl"), "--queries", str(data / "thread-queries.jsonl"),
                 "--model", str(tiny_model), "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["threads"] == 51 and result["retrieval"]["answers"] == 47
    assert result["retrieval"]["answerable"] + result["experts"]["unanswerable"] == result["queries"]
    e = result["experts"]
    assert e["n"] + e["skipped_not_matchable"] + e["unanswerable"] == result["queries"]
    assert 0 <= e["hit@1"] <= e["hit@3"] <= 1 and e["experts_matchable"] == 6  # 5 klantexperts and Bas


def test_eval_queries_point_at_solved_threads_and_differ_from_them() -> None:
    from models.threads import load_threads

    data = Path(__file__).parents[1] / "eval" / "data"
    threads = {t["thread_id"]: t for t in load_threads(data / "threads.jsonl")}
    for name in ("thread-queries.jsonl", "thread-queries-tune.jsonl"):
        for line in (data / name).read_text(encoding="utf-8").splitlines():
            q = json.loads(line)
            for rel in q["relevant"]:
                t = threads[rel.removeprefix("thread:")]
                solver = next(p["author"]["id"] for p in t["posts"] if p.get("accepted"))
                assert q["expert"] == solver
                assert q["body"] not in t["posts"][0]["body"] and q["title"] != t["title"]
    tune = {json.loads(x)["body"] for x in (data / "thread-queries-tune.jsonl").read_text().splitlines()}
    evaluation = {json.loads(x)["body"] for x in (data / "thread-queries.jsonl").read_text().splitlines()}
    assert not tune & evaluation


def test_passage_embeddings_skip_the_heads_and_equal_the_full_run(tiny_model: Path) -> None:
    import numpy as np

    from models.inference import TriageModel

    model = TriageModel(tiny_model)
    texts = [f"Mijn modem knippert {i} keer oranje. " * (1 + i % 4) for i in range(40)]
    logits, only = model.run(texts, model.passage_prefix, embedding_only=True)
    assert logits == {}
    assert np.array_equal(only, model.run(texts, model.passage_prefix)[1])
    assert np.array_equal(model.embed_passages(texts[:3]), only[:3])
