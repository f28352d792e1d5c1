"""The console (service/console) through the real app: sign-in, sessions, CSRF, scopes, forms and filters.

A tiny ONNX model, a real SQLite file or PostgreSQL database (the `store_url` fixture: tests that use
the `client` or `settings` fixture run on both) and the default policy, as in test_service_api. Posts whose
labels a test must know are written to the triage log directly (the tiny model's labels are
arbitrary); posts whose triage the page must show go through /v1/triage."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from service import triage_log
from service.app import create_app
from service.console.session import COOKIE, SessionSigner
from service.settings import Settings
from service.triage_log import LoggedPost
from tests.conftest import MINI
from tests.test_service_api import FORUM, KEYS

WEBCARE_KEY, ADMIN_KEY, FORUM_KEY = "webcare-key-00000000001", "admin-key-0000000000001", "forum-key-000000000001"
PHONE = "06-12345678"


def make_settings(tiny_model: Path, tmp_path: Path, **extra: object) -> Settings:
    # incident thresholds at -1: any three posts by three authors form an incident (the tiny model's
    # embeddings carry no meaning, and these tests are about the pages, not the detector)
    values: dict = {"model_dir": tiny_model, "store_path": tmp_path / "store.sqlite3", "api_keys": KEYS,
                    "seed_kb": MINI / "kb.jsonl", "incident_similarity": -1.0, "incident_join_similarity": -1.0,
                    "incident_min_authors": 3, "console_page_size": 5, "console_secret": "s" * 40}
    values.update(extra)
    return Settings(**values)


@pytest.fixture()
def settings(tiny_model: Path, tmp_path: Path, store_url: str) -> Settings:
    """On a SQLite file, then on a PostgreSQL database (tests/conftest.py's `store_url`)."""
    return make_settings(tiny_model, tmp_path, store_url=store_url)


@pytest.fixture()
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def sign_in(client: TestClient, key: str, next_path: str = "/console/inbox") -> object:
    token = csrf_of(client.get("/console/login").text)
    return client.post("/console/login", data={"csrf_token": token, "api_key": key, "next": next_path},
                       follow_redirects=False)


def engine_of(client: TestClient):  # noqa: ANN201
    return client.app.state.engine  # type: ignore[attr-defined]


def log_post(client: TestClient, post_id: str, topic: str = "billing", urgency: str = "normal",
             route: str = "webcare", uncertain: bool = False, incident_id: str | None = None,
             body: str = "Een vraag over mijn rekening") -> None:
    """Write a triage-log row with known labels (as the incident service would)."""
    labels = {"topic": {"label": topic, "confidence": 0.9, "uncertain": uncertain},
              "product": {"label": "none", "confidence": 0.8, "uncertain": False},
              "urgency": {"label": urgency, "confidence": 0.7, "uncertain": False}}
    store = engine_of(client).store
    with store.transaction() as c:
        triage_log.write(c, LoggedPost(post_id, time.time(), None, None, "Titel " + post_id, body, labels, route,
                                       ["route_model"], np.zeros(4, np.float32), incident_id))


def listed_ids(html: str) -> list[str]:
    return re.findall(r'data-post-id="([^"]+)"', html)


# --- access -------------------------------------------------------------------------------------
def test_pages_need_sign_in(client: TestClient) -> None:
    r = client.get("/console/inbox?route=webcare", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/console/login?next=%2Fconsole%2Finbox%3Froute%3Dwebcare"
    r = client.get("/console/inbox/updates", headers={"Accept": "application/json"})
    assert r.status_code == 401
    for path in ("/console/incidents", "/console/kb", "/console/model", "/console/posts/p-1"):
        assert client.get(path, follow_redirects=False).status_code == 303, path


def test_sign_in_sets_a_strict_http_only_cookie_without_the_key(client: TestClient) -> None:
    r = sign_in(client, WEBCARE_KEY, "/console/incidents")
    assert r.status_code == 303 and r.headers["location"] == "/console/incidents"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Path=/console" in cookie and "Secure" not in cookie  # plain http here
    value = client.cookies[COOKIE]
    assert WEBCARE_KEY not in value and WEBCARE_KEY not in json.dumps(value)
    import base64

    body = base64.urlsafe_b64decode(value.split(".")[0] + "==").decode()
    assert WEBCARE_KEY not in body and json.loads(body)["r"] == "webcare"
    assert client.get("/console/inbox").status_code == 200


def test_cookie_is_secure_over_https(settings: Settings) -> None:
    with TestClient(create_app(settings), base_url="https://testserver") as c:
        r = sign_in(c, WEBCARE_KEY)
        assert r.status_code == 303 and "Secure" in r.headers["set-cookie"]


def test_unknown_and_forum_keys_are_refused(client: TestClient) -> None:
    r = sign_in(client, "not-a-key-0000000000000")
    assert r.status_code == 401 and "onbekend" in r.text
    r = sign_in(client, FORUM_KEY)
    assert r.status_code == 403 and "rol forum" in r.text
    assert client.get("/console/inbox", follow_redirects=False).status_code == 303  # still not signed in
    r = sign_in(client, "")
    assert r.status_code == 422 and "api_key" in r.text


def test_repeated_unknown_keys_from_one_address_are_refused_for_a_while(tiny_model: Path, tmp_path: Path) -> None:
    app = create_app(make_settings(tiny_model, tmp_path, console_sign_in_max_failures=3))
    with TestClient(app, client=("203.0.113.7", 1000)) as guesser, \
            TestClient(app, client=("198.51.100.2", 1000)) as colleague:
        for i in range(3):
            assert sign_in(guesser, f"guess-{i:020d}").status_code == 401
        r = sign_in(guesser, ADMIN_KEY)  # even the right key: the address is throttled
        assert r.status_code == 429 and 1 <= int(r.headers["retry-after"]) <= 300
        assert "te veel mislukte pogingen" in r.text and COOKIE not in r.headers.get("set-cookie", "")
        assert sign_in(colleague, "wrong-key-00000000000000").status_code == 401  # other addresses: their own count
        assert sign_in(colleague, ADMIN_KEY).status_code == 303  # and a success clears it
        assert [sign_in(colleague, f"typo-{i:021d}").status_code for i in range(3)] == [401, 401, 401]


def test_failed_sign_ins_leave_the_window() -> None:
    from service.console.throttle import FailedSignIns

    t = FailedSignIns(max_failures=2, window_s=60, max_clients=2)
    t.failed("a", now=0)
    assert t.retry_after("a", now=1) == 0
    t.failed("a", now=10)
    assert t.retry_after("a", now=11) == 49  # until the failure at 0 is 60 s old
    assert t.retry_after("a", now=60.5) == 0  # it left the window
    t.failed("a", now=61)
    assert t.retry_after("a", now=62) == 8
    t.succeeded("a")
    assert t.retry_after("a", now=62) == 0
    for client in ("b", "c", "d"):  # bounded: the oldest address is forgotten
        t.failed(client, now=70)
        t.failed(client, now=71)
    assert t.retry_after("b", now=72) == 0 and t.retry_after("d", now=72) == 58


def test_sign_in_needs_the_csrf_token(client: TestClient) -> None:
    client.get("/console/login")
    r = client.post("/console/login", data={"api_key": ADMIN_KEY}, follow_redirects=False)
    assert r.status_code == 403 and "csrf_token" in r.text
    assert client.get("/console/inbox", follow_redirects=False).status_code == 303


def test_sign_in_redirects_only_inside_the_console(client: TestClient) -> None:
    for target in ("https://evil.example/", "//evil.example/console", "/v1/model", "/console/../v1",
                   "/console/%2e%2e/v1", "/console/.%2E/v1"):
        r = sign_in(client, WEBCARE_KEY, target)
        assert r.headers["location"] == "/console/inbox", target


def test_webcare_scopes(client: TestClient) -> None:
    sign_in(client, WEBCARE_KEY)
    inbox = client.get("/console/inbox")
    assert inbox.status_code == 200
    assert 'href="/console/incidents"' in inbox.text and 'href="/console/kb"' not in inbox.text
    assert 'href="/console/model"' not in inbox.text
    assert client.get("/console/incidents").status_code == 200
    for path in ("/console/kb", "/console/kb/add", "/console/model", "/console/kb/a/kb-a-001"):
        r = client.get(path)
        assert r.status_code == 403 and "Geen toegang" in r.text, path
    r = client.post("/console/kb/a/kb-a-001/delete", data={"csrf_token": csrf_of(inbox.text)})
    assert r.status_code == 403 and engine_of(client).store.get_answer("kb-a-001") is not None


def test_admin_sees_everything(client: TestClient) -> None:
    sign_in(client, ADMIN_KEY)
    for path in ("/console/inbox", "/console/incidents", "/console/kb", "/console/kb/add", "/console/model",
                 "/console/kb/a/kb-a-001"):
        assert client.get(path).status_code == 200, path


def test_sign_out(client: TestClient) -> None:
    sign_in(client, WEBCARE_KEY)
    page = client.get("/console/inbox")
    assert client.post("/console/logout", data={}, follow_redirects=False).status_code == 403  # no token
    assert client.get("/console/inbox", follow_redirects=False).status_code == 200
    r = client.post("/console/logout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/console/login"
    assert client.get("/console/inbox", follow_redirects=False).status_code == 303


def test_tampered_cookie_and_removed_key_end_the_session(settings: Settings, tiny_model: Path,
                                                         tmp_path: Path) -> None:
    with TestClient(create_app(settings)) as c:
        sign_in(c, ADMIN_KEY)
        value = c.cookies[COOKIE]
    body, mac = value.split(".")
    import base64

    data = json.loads(base64.urlsafe_b64decode(body + "=="))
    forged = base64.urlsafe_b64encode(json.dumps({**data, "r": "admin"}).encode()).decode().rstrip("=")
    fewer_keys = {k: r for k, r in KEYS.items() if r != "admin"}
    later = make_settings(tiny_model, tmp_path, api_keys=fewer_keys)  # same secret, the admin key removed
    with TestClient(create_app(later)) as c:
        c.cookies.set(COOKIE, f"{forged}.{mac}x", path="/console")
        assert c.get("/console/inbox", follow_redirects=False).status_code == 303
        c.cookies.set(COOKIE, value, path="/console")
        assert c.get("/console/inbox", follow_redirects=False).status_code == 303
    with TestClient(create_app(make_settings(tiny_model, tmp_path))) as c:  # the key is back: valid again
        c.cookies.set(COOKIE, value, path="/console")
        assert c.get("/console/inbox", follow_redirects=False).status_code == 200


def test_sessions_expire(settings: Settings) -> None:
    signer = SessionSigner(settings)
    session = signer.new("webcare", WEBCARE_KEY)
    cookie = signer.dump(session)
    assert signer.load(cookie) == session
    assert signer.load(cookie, now=session.issued + settings.console_session_hours * 3600 + 1) is None
    other = SessionSigner(settings.model_copy(update={"console_secret": None}))  # random secret: not ours
    assert other.load(cookie) is None


def test_auth_disabled_opens_without_sign_in_but_still_checks_csrf(tiny_model: Path, tmp_path: Path) -> None:
    settings = make_settings(tiny_model, tmp_path, auth_enabled=False, api_keys={})
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        for path in ("/console/inbox", "/console/kb", "/console/model"):
            assert c.get(path, follow_redirects=False).status_code == 200, path
        assert c.get("/console/login", follow_redirects=False).headers["location"] == "/console/inbox"
        assert "Lokaal gebruik" in c.get("/console/inbox").text
        r = c.post("/console/kb/a/kb-a-001/delete", data={"csrf_token": "forged"})
        assert r.status_code == 403 and engine_of(c).store.get_answer("kb-a-001") is not None


def test_pages_send_security_headers(client: TestClient) -> None:
    sign_in(client, ADMIN_KEY)
    r = client.get("/console/inbox")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["cache-control"] == "no-store" and r.headers["x-content-type-options"] == "nosniff"
    assert client.get("/console/static/console.css").status_code == 200
    assert client.get("/console/static/console.js").status_code == 200


def test_the_key_and_post_text_never_reach_the_log(client: TestClient, capsys: pytest.CaptureFixture) -> None:
    capsys.readouterr()
    sign_in(client, WEBCARE_KEY)
    client.post("/v1/triage", json={"post_id": "p-log", "body": f"Bel me op {PHONE}, mijn factuur klopt niet"},
                headers=FORUM)
    page = client.get("/console/posts/p-log")
    client.post("/console/posts/p-log/feedback", data={"csrf_token": csrf_of(page.text), "topic": "billing",
                                                       "role": "webcare", "comment": f"belde {PHONE}"})
    err = capsys.readouterr().err
    assert WEBCARE_KEY not in err and PHONE not in err and "factuur klopt niet" not in err
    access = [json.loads(line) for line in err.splitlines() if '"wegwijzer.access"' in line]
    assert any(a["path"] == "/console/posts/p-log" and a["role"] == "webcare" for a in access)


# --- inbox ----------------------------------------------------------------------------------------
def test_inbox_lists_newest_first_and_filters(client: TestClient) -> None:
    sign_in(client, WEBCARE_KEY)
    log_post(client, "p-1", topic="billing", urgency="critical")
    log_post(client, "p-2", topic="network", route="peers", uncertain=True)
    log_post(client, "p-3", topic="billing", incident_id="inc-1")
    html = client.get("/console/inbox").text
    assert listed_ids(html) == ["p-3", "p-2", "p-1"]
    assert listed_ids(client.get("/console/inbox?topic=billing").text) == ["p-3", "p-1"]
    assert listed_ids(client.get("/console/inbox?route=peers").text) == ["p-2"]
    assert listed_ids(client.get("/console/inbox?urgency=critical").text) == ["p-1"]
    assert listed_ids(client.get("/console/inbox?uncertain=1").text) == ["p-2"]
    assert listed_ids(client.get("/console/inbox?incident=1").text) == ["p-3"]
    assert listed_ids(client.get("/console/inbox?topic=billing&route=peers").text) == []
    row = html[html.index('data-post-id="p-1"'):]  # the last row
    assert "badge-critical" in row
    assert "badge-incident" in html[html.index('data-post-id="p-3"'):html.index('data-post-id="p-2"')]
    assert "badge-critical" not in html[html.index('data-post-id="p-3"'):html.index('data-post-id="p-2"')]
    assert "90%" in row and "Rekening en betalen" in row  # tag with its confidence


@pytest.mark.parametrize("query, field", [("topic=weather", "topic"), ("route=boss", "route"),
                                          ("uncertain=yes", "uncertain"), ("before=nonsense", "before")])
def test_bad_filters_are_422_naming_the_field(client: TestClient, query: str, field: str) -> None:
    sign_in(client, WEBCARE_KEY)
    r = client.get(f"/console/inbox?{query}")
    assert r.status_code == 422 and f"<code>{field}</code>" in r.text
    r = client.get(f"/console/inbox/updates?{query}", headers={"Accept": "application/json"})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == field


def test_inbox_pages_with_a_cursor(client: TestClient) -> None:
    sign_in(client, WEBCARE_KEY)
    ids = [f"p-{i:02d}" for i in range(12)]
    for post_id in ids:
        log_post(client, post_id)
    seen: list[str] = []
    url = "/console/inbox?topic=billing"
    while url:
        html = client.get(url).text
        page_ids = listed_ids(html)
        assert 0 < len(page_ids) <= 5
        seen += page_ids
        older = re.search(r'href="(/console/inbox\?[^"]*before=[^"]+)">Oudere', html)
        url = older.group(1).replace("&amp;", "&") if older else ""
        if url:
            assert "topic=billing" in url  # the filter stays on
    assert seen == ids[::-1]


def test_live_update_returns_only_newer_posts(client: TestClient) -> None:
    sign_in(client, WEBCARE_KEY)
    log_post(client, "p-old")
    html = client.get("/console/inbox").text
    cursor = re.search(r'data-cursor="([^"]+)"', html).group(1)
    assert re.search(r'data-poll-url="/console/inbox/updates\?"', html)
    empty = client.get(f"/console/inbox/updates?after={cursor}").json()
    assert empty["count"] == 0 and empty["cursor"] == cursor
    log_post(client, "p-new", topic="network")
    log_post(client, "p-newer", topic="billing")
    r = client.get(f"/console/inbox/updates?topic=billing&after={cursor}").json()
    assert r["count"] == 1 and listed_ids(r["html"]) == ["p-newer"] and not r["more"]
    r = client.get(f"/console/inbox/updates?after={cursor}").json()
    assert listed_ids(r["html"]) == ["p-newer", "p-new"] and r["cursor"].endswith("~p-newer")
    older_page = client.get(f"/console/inbox?before={cursor}").text
    assert "data-poll-url" not in older_page  # older pages do not follow new posts


def test_live_update_says_when_there_were_more_than_a_page(client: TestClient) -> None:
    sign_in(client, WEBCARE_KEY)
    log_post(client, "p-first")
    cursor = re.search(r'data-cursor="([^"]+)"', client.get("/console/inbox").text).group(1)
    for i in range(7):
        log_post(client, f"p-burst-{i}")
    r = client.get(f"/console/inbox/updates?after={cursor}").json()
    assert r["count"] == 5 and r["more"]


# --- post ------------------------------------------------------------------------------------------
def triage_one(client: TestClient, post_id: str, body: str) -> dict:
    r = client.post("/v1/triage", json={"post_id": post_id, "title": "Factuur", "body": body}, headers=FORUM)
    assert r.status_code == 200, r.text
    return r.json()


def test_post_page_shows_the_triage_as_answered_and_redacted(client: TestClient) -> None:
    out = triage_one(client, "p-100", f"Dubbel afgeschreven! Bel me op {PHONE} alsjeblieft")
    sign_in(client, WEBCARE_KEY)
    html = client.get("/console/posts/p-100").text
    assert PHONE not in html and "[TELEFOON]" in html
    for head, h in out["labels"].items():
        for alt in h["alternatives"]:
            assert f"{round(alt['confidence'] * 100)}%" in html, (head, alt)
    assert out["route"]["explanation"] in html
    for rule in out["route"]["rules_fired"]:
        assert rule in html
    for s in out["suggestions"]:
        assert s["answer_id"] in html and f'value="{s["answer_id"]}"' in html  # with a solved-by button
    assert client.get("/console/inbox").text.count('href="/console/posts/p-100"') == 1


def test_post_logged_before_the_console_still_shows(client: TestClient) -> None:
    sign_in(client, WEBCARE_KEY)
    log_post(client, "p-legacy")  # no recorded response
    r = client.get("/console/posts/p-legacy")
    assert r.status_code == 200 and "alleen de gekozen labels" in r.text


def test_unknown_post_is_404(client: TestClient) -> None:
    sign_in(client, WEBCARE_KEY)
    for post_id in ("p-none", "bad%20id"):
        r = client.get(f"/console/posts/{post_id}")
        assert r.status_code == 404 and "post_id" in r.text


def test_correcting_labels_stores_feedback_with_role(client: TestClient) -> None:
    triage_one(client, "p-200", "Mijn factuur is te hoog deze maand")
    sign_in(client, WEBCARE_KEY)
    page = client.get("/console/posts/p-200").text
    r = client.post("/console/posts/p-200/feedback", follow_redirects=False, data={
        "csrf_token": csrf_of(page), "topic": "billing", "product": "sim_only", "sentiment": "negative",
        "urgency": "high", "route": "webcare", "role": "webcare", "comment": f"klant belde vanaf {PHONE}"})
    assert r.status_code == 303 and r.headers["location"].startswith("/console/posts/p-200?opgeslagen=")
    (fb,) = engine_of(client).store.feedback()
    assert fb["post_id"] == "p-200" and fb["role"] == "webcare" and fb["route"] == "webcare"
    assert fb["labels"] == {"topic": "billing", "product": "sim_only", "sentiment": "negative", "urgency": "high"}
    assert fb["post"]["body"] == "Mijn factuur is te hoog deze maand"
    assert PHONE not in fb["comment"] and "[TELEFOON]" in fb["comment"]
    after = client.get(r.headers["location"]).text
    assert f"Opgeslagen als feedback #{fb['id']}" in after and f"#{fb['id']} ·" in after


@pytest.mark.parametrize("change, field", [({"topic": "weather"}, "labels.topic"), ({"role": "forum"}, "role"),
                                           ({"route": "boss"}, "route"), ({"comment": "x" * 5001}, "comment")])
def test_bad_correction_is_422_and_stores_nothing(client: TestClient, change: dict, field: str) -> None:
    triage_one(client, "p-300", "Mijn factuur is te hoog")
    sign_in(client, WEBCARE_KEY)
    token = csrf_of(client.get("/console/posts/p-300").text)
    data = {"csrf_token": token, "topic": "billing", "route": "webcare", "role": "webcare", **change}
    r = client.post("/console/posts/p-300/feedback", data=data)
    assert r.status_code == 422 and f"<code>{field}</code>" in r.text
    assert engine_of(client).store.feedback() == []


def test_forms_without_a_valid_csrf_token_are_refused(client: TestClient, settings: Settings) -> None:
    triage_one(client, "p-400", "Mijn factuur is te hoog")
    sign_in(client, WEBCARE_KEY)
    with TestClient(create_app(settings)) as other:  # another person's session and token
        sign_in(other, WEBCARE_KEY)
        foreign = csrf_of(other.get("/console/inbox").text)
    for token in ("", "forged", foreign):
        r = client.post("/console/posts/p-400/feedback", data={"csrf_token": token, "topic": "billing",
                                                                 "role": "webcare"})
        assert r.status_code == 403, token
    assert engine_of(client).store.feedback() == []


def test_marking_the_answer_that_solved_it(client: TestClient) -> None:
    triage_one(client, "p-500", "Hoe werkt bellen in Spanje met mijn bundel?")
    sign_in(client, WEBCARE_KEY)
    token = csrf_of(client.get("/console/posts/p-500").text)
    r = client.post("/console/posts/p-500/solved", data={"csrf_token": token, "answer_id": "kb-a-001",
                                                          "role": "webcare"}, follow_redirects=False)
    assert r.status_code == 303
    (fb,) = engine_of(client).store.feedback()
    assert fb["solved_by"] == "kb-a-001" and fb["post_id"] == "p-500" and fb["role"] == "webcare"
    r = client.post("/console/posts/p-500/solved", data={"csrf_token": token, "answer_id": "kb-none"})
    assert r.status_code == 422 and "<code>solved_by</code>" in r.text
    r = client.post("/console/posts/p-500/solved", data={"csrf_token": token})
    assert r.status_code == 422 and "<code>answer_id</code>" in r.text
    assert len(engine_of(client).store.feedback()) == 1


def test_copy_button_holds_the_full_answer(client: TestClient) -> None:
    sign_in(client, WEBCARE_KEY)
    log_post(client, "p-600")
    suggestion = {"answer_id": "kb-a-001", "title": "Bellen in de EU", "url": None, "score": 0.99,
                  "passage": "Kan ik in Spanje mijn bundel gebruiken?"}
    store = engine_of(client).store
    with store.transaction() as c:  # as if triage had suggested kb-a-001
        c.execute("UPDATE triage_log SET result=? WHERE post_id='p-600'", (json.dumps({"suggestions": [suggestion]}),))
    html = client.get("/console/posts/p-600").text
    answer = store.get_answer("kb-a-001")["answer"]
    reply = re.search(r'<textarea id="reply-1"[^>]*>(.*?)</textarea>', html, re.S).group(1)
    import html as html_lib

    assert html_lib.unescape(reply) == answer and 'data-copy="reply-1"' in html
    assert "Kan ik in Spanje mijn bundel gebruiken?" in html  # the matched passage
    assert 'name="answer_id" value="kb-a-001"' in html  # and a button to say it solved the post


# --- incidents ----------------------------------------------------------------------------------------
def open_incident(client: TestClient) -> str:
    for i in range(3):
        r = client.post("/v1/triage", headers=FORUM, json={
            "post_id": f"p-out-{i}", "author": {"id": f"u-{i}"}, "body": "Storing: geen internet in Hoogvliet",
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 600 * (2 - i)))})
        assert r.status_code == 200
    incident = r.json()["incident"]
    assert incident is not None
    return incident["id"]


def test_incidents_page_and_status_message(client: TestClient) -> None:
    incident_id = open_incident(client)
    sign_in(client, WEBCARE_KEY)
    listing = client.get("/console/incidents").text
    assert f'href="/console/incidents/{incident_id}"' in listing and 'class="spark-bar"' in listing
    assert "Berichten per 10 minuten" in listing and "Nog geen statusbericht" in listing
    page = client.get(f"/console/incidents/{incident_id}").text
    assert listed_ids(page) == ["p-out-2", "p-out-1", "p-out-0"]
    token = csrf_of(page)
    r = client.post(f"/console/incidents/{incident_id}/status", data={"csrf_token": token, "text": "   "})
    assert r.status_code == 422 and "<code>text</code>" in r.text
    text = f"Storing bekend, herstel rond 14:00. Vragen? Bel {PHONE}"
    r = client.post(f"/console/incidents/{incident_id}/status", data={"csrf_token": token, "text": text},
                    follow_redirects=False)
    assert r.status_code == 303
    row = engine_of(client).incidents.get_row(incident_id)
    assert row.status_message.startswith("Storing bekend") and PHONE not in row.status_message
    assert "Statusbericht geplaatst" in client.get(r.headers["location"]).text
    r = client.post(f"/console/incidents/{incident_id}/close", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and engine_of(client).incidents.get_row(incident_id).status == "closed"
    r = client.post(f"/console/incidents/{incident_id}/status", data={"csrf_token": token, "text": "nog iets"})
    assert r.status_code == 409
    assert client.get("/console/incidents/inc-none").status_code == 404


def test_posts_in_an_incident_are_marked(client: TestClient) -> None:
    open_incident(client)
    sign_in(client, WEBCARE_KEY)
    html = client.get("/console/inbox?incident=1").text
    assert listed_ids(html) == ["p-out-2", "p-out-1", "p-out-0"] and html.count("badge-incident") == 3


def test_sparkline_counts_posts_per_ten_minutes() -> None:
    from service.console.sparkline import sparkline

    spark = sparkline({100: 2, 102: 5}, first_ts=100 * 600, last_ts=103 * 600 + 5)
    assert spark.counts == [2, 0, 5, 0] and spark.peak == 5
    heights = [b.height for b in spark.bars]
    assert heights[1] == heights[3] == 0 and heights[2] == spark.height - 2 and heights[0] == pytest.approx(
        (spark.height - 2) * 2 / 5, abs=0.1)
    assert all(b.x < c.x for b, c in zip(spark.bars, spark.bars[1:], strict=False))  # oldest first
    assert "2, 0, 5, 0" in spark.label
    long = sparkline({0: 1}, first_ts=0, last_ts=100 * 600, max_buckets=36)
    assert len(long.counts) == 36  # the last 6 hours only


# --- knowledge base ----------------------------------------------------------------------------------
def test_add_find_edit_and_delete_an_answer(client: TestClient) -> None:
    sign_in(client, ADMIN_KEY)
    query = "Voicemail uitzetten met een code"
    assert "kb-9001" not in client.get("/console/kb", params={"q": query}).text
    token = csrf_of(client.get("/console/kb/add").text)
    r = client.post("/console/kb/add", follow_redirects=False, data={
        "csrf_token": token, "id": "kb-9001", "title": "Voicemail uitzetten met een code",
        "question": "Hoe zet ik mijn voicemail uit?", "answer": "Bel ##002# en je voicemail staat uit.",
        "topic": "device", "product": ""})
    assert r.status_code == 303 and r.headers["location"] == "/console/kb/a/kb-9001?opgeslagen=1"
    stored = engine_of(client).store.get_answer("kb-9001")
    assert stored["answer"].startswith("Bel ##002#") and stored["topic"] == "device" and "product" not in stored
    assert 'href="/console/kb/a/kb-9001"' in client.get("/console/kb", params={"q": query}).text
    r = client.post("/console/kb/a/kb-9001/edit", follow_redirects=False, data={
        "csrf_token": token, "title": "Voicemail uitzetten", "answer": "Bel ##002#.", "topic": "device"})
    assert r.status_code == 303 and engine_of(client).store.get_answer("kb-9001")["title"] == "Voicemail uitzetten"
    r = client.post("/console/kb/a/kb-9001/delete", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and engine_of(client).store.get_answer("kb-9001") is None
    assert "kb-9001" not in client.get("/console/kb", params={"q": query}).text
    assert client.get("/console/kb/a/kb-9001").status_code == 404


@pytest.mark.parametrize("change, field, status", [({"id": "bad id"}, "id", 422), ({"id": "kb-a-001"}, "id", 409),
                                                   ({"answer": " "}, "answer", 422), ({"title": ""}, "title", 422),
                                                   ({"topic": "weather"}, "topic", 422),
                                                   ({"url": "javascript:alert(1)"}, "url", 422)])
def test_bad_answers_are_refused_naming_the_field(client: TestClient, change: dict, field: str, status: int) -> None:
    sign_in(client, ADMIN_KEY)
    before = engine_of(client).store.count_answers()
    token = csrf_of(client.get("/console/kb/add").text)
    data = {"csrf_token": token, "id": "kb-9002", "title": "Titel", "answer": "Antwoord", **change}
    r = client.post("/console/kb/add", data=data)
    assert r.status_code == status and f"<code>{field}</code>" in r.text
    assert engine_of(client).store.count_answers() == before
    if change.get("id") == "kb-a-001":
        assert engine_of(client).store.get_answer("kb-a-001")["title"] != "Titel"


def test_search_uses_the_answerability_model_when_there_is_one(answerable_model: Path, tmp_path: Path) -> None:
    with TestClient(create_app(make_settings(answerable_model, tmp_path))) as c:
        sign_in(c, ADMIN_KEY)
        html = c.get("/console/kb", params={"q": "Kan ik in Spanje gewoon mijn bundel gebruiken?"}).text
        threshold = c.app.state.engine.model.answerability.threshold  # type: ignore[attr-defined]
        assert html.count("lost het op:") == 10 and f"een kans van {round(threshold * 100)}%" in html
        assert "Voorstellen vanaf" in c.get("/console/model").text


def test_only_web_links_become_links(client: TestClient) -> None:
    sign_in(client, ADMIN_KEY)
    from service.routers.answers import write_answers

    write_answers(engine_of(client), [{"id": "kb-js", "title": "Titel", "answer": "Antwoord",
                                       "url": "javascript:alert(document.cookie)"}])  # as a bulk import could
    html = client.get("/console/kb/a/kb-js").text
    assert "javascript:alert(document.cookie)" in html and 'href="javascript:' not in html
    assert 'href="https://forum.example/t/243948"' in client.get("/console/kb/a/kb-a-001").text


def test_knowledge_base_list_pages(client: TestClient) -> None:
    sign_in(client, ADMIN_KEY)
    html = client.get("/console/kb").text
    assert "kb-a-001" in html and "26 geaccepteerde antwoorden" in html


# --- model -----------------------------------------------------------------------------------------------
def test_model_page_shows_label_sets_thresholds_metrics_and_plots(tiny_model: Path, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    reports.mkdir()
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 16
    (reports / "confusion_topic.png").write_bytes(png)
    (reports / "notes.txt").write_text("not a plot")
    settings = make_settings(tiny_model, tmp_path, console_reports_dir=reports)
    with TestClient(create_app(settings)) as c:
        sign_in(c, ADMIN_KEY)
        html = c.get("/console/model").text
        manifest = c.app.state.engine.model.manifest  # type: ignore[attr-defined]
        for head, labels in manifest.label_sets.items():
            assert ", ".join(labels) in html
            assert f"{manifest.thresholds[head]:.3f}" in html
        assert "best_dev_mean_macro_f1" in html and "Wegwijzer triage model" in html  # metrics and card
        runtime = c.app.state.engine.model.runtime  # type: ignore[attr-defined]
        assert f"{runtime.name} {runtime.precision}" in html
        assert 'src="/console/model/plots/confusion_topic.png"' in html and "Verwarringsmatrix: topic" in html
        r = c.get("/console/model/plots/confusion_topic.png")
        assert r.status_code == 200 and r.content == png and r.headers["content-type"] == "image/png"
        for name in ("notes.txt", "..%2Fstore.sqlite3", "missing.png"):
            assert c.get(f"/console/model/plots/{name}").status_code == 404, name


def test_console_settings_are_validated(tiny_model: Path, tmp_path: Path) -> None:
    from pydantic import ValidationError

    for bad in ({"console_secret": "short"}, {"console_timezone": "Mars/Base"}, {"console_page_size": 0},
                {"console_poll_seconds": 0}):
        with pytest.raises(ValidationError) as exc:
            make_settings(tiny_model, tmp_path, **bad)
        assert next(iter(bad)) in str(exc.value)


def test_a_store_from_before_the_console_upgrades_in_place(tmp_path: Path) -> None:
    import sqlite3

    from service.db.migrate import head_revision
    from service.store import Store
    from tests.test_store_index import LEGACY

    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    for i, script in enumerate(LEGACY[:3]):  # the schema the console found (before Alembic)
        conn.executescript("BEGIN;" + script + f"PRAGMA user_version={i + 1};COMMIT;")
    conn.execute("INSERT INTO triage_log (post_id, created_ts, stored_ts, title, body, labels, route, reasons, "
                 "embedding) VALUES ('p-old', 1, 1, '', 'tekst', '{\"topic\": {\"label\": \"sim\", \"confidence\": "
                 "0.9}}', 'peers', '[]', ?)", (np.zeros(4, np.float32).tobytes(),))
    conn.close()
    store = Store(path)
    assert store.schema_version == int(head_revision())
    old = triage_log.get(store, "p-old")
    assert old is not None and old.result is None and old.labels["topic"]["label"] == "sim"
    (listed,) = triage_log.recent(store, triage_log.LogFilter(labels={"topic": "sim"}))
    assert listed.post_id == "p-old"
    assert triage_log.recent(store, triage_log.LogFilter(uncertain_only=True)) == []
    store.add_feedback("p-old", "webcare", {"labels": {"topic": "sim"}})
    assert [f["post_id"] for f in store.feedback_of("p-old")] == ["p-old"]
    store.close()


def test_triage_log_listing_filters_and_histogram_on_the_store(store_url: str) -> None:
    """The inbox's SQL on each store (SQLite's JSON functions, PostgreSQL's jsonb): label and
    uncertain filters, keyset cursors, and posts per ten minutes rounded down (not to the nearest)."""
    from service.store import Store

    store = Store(store_url)
    rows = [("a", 10.0, "billing", False, "inc-1"), ("b", 599.9, "network", True, "inc-1"),
            ("c", 900.0, "billing", False, "inc-1"), ("d", 1300.0, "billing", False, None)]
    with store.transaction() as c:
        for i, (post_id, created, topic, uncertain, incident) in enumerate(rows):
            labels = {"topic": {"label": topic, "confidence": 0.9, "uncertain": uncertain},
                      "urgency": {"label": "normal", "confidence": 0.8, "uncertain": False}}
            triage_log.write(c, LoggedPost(post_id, created, None, None, "", "tekst", labels, "webcare", [],
                                           np.zeros(4, np.float32), incident, {"route": "webcare"}),
                             stored_ts=1000.0 + i)
    flt = triage_log.LogFilter
    assert [p.post_id for p in triage_log.recent(store, flt())] == ["d", "c", "b", "a"]
    assert [p.post_id for p in triage_log.recent(store, flt(labels={"topic": "billing"}))] == ["d", "c", "a"]
    assert [p.post_id for p in triage_log.recent(store, flt(labels={"topic": "network", "urgency": "normal"}))] == ["b"]
    assert [p.post_id for p in triage_log.recent(store, flt(uncertain_only=True))] == ["b"]
    assert [p.post_id for p in triage_log.recent(store, flt(in_incident=True), limit=2)] == ["c", "b"]
    page = triage_log.recent(store, flt(), limit=2)
    assert [p.post_id for p in triage_log.recent(store, flt(), before=page[-1].cursor)] == ["b", "a"]
    assert [p.post_id for p in triage_log.recent(store, flt(), after=page[-1].cursor)] == ["d"]
    assert triage_log.recent(store, flt(labels={"topic": "billing"}), preview_chars=3)[0].preview == "tek"
    assert triage_log.get(store, "a").result == {"route": "webcare"}
    assert triage_log.incident_histogram(store, ["inc-1", "inc-2"]) == {"inc-1": {0: 2, 1: 1}, "inc-2": {}}
    store.close()
