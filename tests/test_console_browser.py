"""The console in a real browser: Debian's Chromium driven by Playwright against a real uvicorn
server (tiny model, temporary store), with an axe-core accessibility check on every page.

Chromium is never downloaded: the tests use WEGWIJZER_CHROMIUM, `chromium` on PATH or
/usr/bin/chromium (`apt-get install chromium`; CI's .ci/run installs it) and skip, saying so,
when there is none. WEGWIJZER_SCREENSHOTS=docs/screenshots saves a screenshot of each page
(1280 px wide; the inbox and a post also at 390 px).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from models.inference import TriageModel
from models.textprep import clean_text
from service.app import create_app
from service.settings import Settings
from tests.conftest import MINI
from tests.test_service_api import KEYS

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402

WEBCARE_KEY, ADMIN_KEY, FORUM_KEY = "webcare-key-00000000001", "admin-key-0000000000001", "forum-key-000000000001"
DESKTOP, PHONE = {"width": 1280, "height": 900}, {"width": 390, "height": 844}


def chromium_path() -> str | None:
    for candidate in (os.environ.get("WEGWIJZER_CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


# Ordinary posts (no author id: they can never open an incident) and one outage told by four customers.
ORDINARY = [
    ("Dubbel afgeschreven deze maand", "Hoi, ik zie twee keer €35 van mijn rekening afgeschreven voor mijn "
     "sim-only abonnement. Hoe krijg ik dit terug? Bel me gerust op 06-12345678."),
    ("eSIM overzetten naar nieuwe iPhone", "Ik heb net een iPhone 16 gekocht. Hoe zet ik mijn eSIM over van mijn "
     "oude toestel?"),
    ("Sms over openstaande factuur", "Ik kreeg een sms over een openstaande factuur, heb op de link geklikt en "
     "mijn gegevens ingevuld. Wat moet ik nu doen?"),
    ("Bundel voor Turkije", "Welke bundel heb ik nodig voor drie weken vakantie in Turkije?"),
    ("Compliment", "Wat een fijne hulp gisteren in de winkel, dank jullie wel!"),
    ("Modem knippert oranje", "Sinds de update knippert mijn modem oranje en valt de wifi steeds weg."),
]
LIVE = [("Voicemail uitzetten", "Hoe zet ik mijn voicemail uit op mijn Samsung?"),
        ("Factuur niet ontvangen", "Ik heb deze maand geen factuur per mail gekregen, klopt dat?")]
CORRECT = ("Opzeggen na verhuizing", "Ik verhuis naar het buitenland, kan ik mijn abonnement eerder opzeggen?")
OUTAGE = "Storing: modem knippert rood en geen internet meer hier in Hoogvliet sinds vanochtend"
NEAR = ["", " !", " ??", " echt", " Hoogvliet", " nog steeds"]
MINUTES_AGO = [55, 41, 33, 24, 13, 4]  # the outage posts, spread over an hour


def text_of(title: str, body: str) -> str:
    return f"{clean_text(title)}\n{clean_text(body)}" if title else clean_text(body)


def incident_threshold(tiny_model: Path) -> float:
    """A similarity between the outage posts (near-identical) and every other post these tests send."""
    model = TriageModel(tiny_model)
    _, near = model.predict([text_of("", OUTAGE + s) for s in NEAR])
    _, far = model.predict([text_of(t, b) for t, b in [*ORDINARY, *LIVE, CORRECT]])
    near_min, far_max = float((near @ near.T).min()), float((near @ far.T).max())
    assert near_min > far_max + 0.002, (near_min, far_max)  # the premise of the incident in these tests
    return (near_min + far_max) / 2


@dataclass
class Server:
    url: str
    app: Any

    @property
    def engine(self) -> Any:
        return self.app.state.engine

    def triage(self, title: str, body: str, **extra: Any) -> dict:
        r = httpx.post(f"{self.url}/v1/triage", json={"title": title, "body": body, **extra},
                       headers={"X-API-Key": FORUM_KEY}, timeout=30)
        assert r.status_code == 200, r.text
        return r.json()


@pytest.fixture(scope="module")
def chromium() -> str:
    path = chromium_path()
    if path is None:
        pytest.skip("browser tests need Chromium: no WEGWIJZER_CHROMIUM, no `chromium` on PATH and no "
                    "/usr/bin/chromium (install it with `apt-get install chromium`; .ci/run does)")
    return path


@pytest.fixture(scope="module")
def server(chromium: str, tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    import uvicorn

    threshold = incident_threshold(tiny_model)
    settings = Settings(model_dir=tiny_model, store_path=tmp_path_factory.mktemp("console") / "store.sqlite3",
                        api_keys=KEYS, seed_kb=MINI / "kb.jsonl", incident_similarity=threshold,
                        incident_join_similarity=threshold, incident_min_authors=3, incident_window_minutes=120,
                        console_poll_seconds=1,
                        console_secret="b" * 40)
    app = create_app(settings)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, name="console-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    srv = Server(f"http://127.0.0.1:{port}", app)
    for i, (title, body) in enumerate(ORDINARY):
        srv.triage(title, body, post_id=f"p-seed-{i}")
    for i, (suffix, ago) in enumerate(zip(NEAR, MINUTES_AGO, strict=True)):
        at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60 * ago))
        srv.triage("", OUTAGE + suffix, author={"id": f"u-{i}"}, post_id=f"p-storing-{i}", created_at=at)
    yield srv
    server.should_exit = True
    thread.join(timeout=15)


@pytest.fixture(scope="module")
def chrome(chromium: str) -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture()
def tab(chrome: Browser) -> Iterator[Page]:
    context = chrome.new_context(viewport=DESKTOP, locale="nl-NL")
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def sign_in(page: Page, server: Server, key: str) -> None:
    page.goto(f"{server.url}/console/login")
    page.get_by_label("API-sleutel").fill(key)
    page.get_by_label("API-sleutel").press("Enter")
    expect(page.get_by_role("heading", level=1, name="Inbox")).to_be_visible()


def nav(tab: Page, name: str) -> Any:
    return tab.get_by_role("navigation", name="Hoofdmenu").get_by_role("link", name=name)


def test_sign_in_with_the_keyboard_and_see_new_posts_arrive(tab: Page, server: Server) -> None:
    tab.goto(f"{server.url}/console/inbox")
    expect(tab).to_have_url(f"{server.url}/console/login?next=%2Fconsole%2Finbox")
    tab.keyboard.press("Tab")
    assert tab.evaluate("document.activeElement.textContent") == "Direct naar de inhoud"
    tab.keyboard.press("Tab")  # the brand link
    tab.keyboard.press("Tab")
    assert tab.evaluate("document.activeElement.id") == "api_key"
    tab.keyboard.type(WEBCARE_KEY)
    tab.keyboard.press("Enter")
    expect(tab.get_by_role("heading", level=1, name="Inbox")).to_be_visible()
    tab.evaluate("window.__notReloaded = true")
    for i, (title, body) in enumerate(LIVE):
        server.triage(title, body, post_id=f"p-live-{i}")
    row = tab.locator('[data-post-id="p-live-1"]')
    expect(row).to_be_visible()
    expect(tab.locator('[data-post-id="p-live-0"]')).to_be_visible()
    expect(tab.locator("#live-status")).to_contain_text("nieuwe berichten")
    assert tab.evaluate("window.__notReloaded") is True  # arrived without a reload
    first = tab.locator("#inbox > li").first
    expect(first).to_have_attribute("data-post-id", "p-live-1")
    row.get_by_role("link").click()
    expect(tab).to_have_url(f"{server.url}/console/posts/p-live-1")


def test_correct_a_label_and_find_the_feedback_stored(tab: Page, server: Server) -> None:
    server.triage(*CORRECT, post_id="p-correct")
    sign_in(tab, server, WEBCARE_KEY)
    tab.goto(f"{server.url}/console/posts/p-correct")
    form = tab.locator("#corrigeren form")
    form.get_by_label("Onderwerp").select_option("contract")
    form.get_by_label("Urgentie").select_option("normal")
    form.get_by_label("Route", exact=True).select_option("klantexpert")
    form.get_by_label("Toelichting (optioneel)").fill("Porteren naar buitenland is klantexpertwerk")
    form.get_by_role("button", name="Correctie opslaan").click()
    expect(tab.get_by_role("status").filter(has_text="Opgeslagen als feedback")).to_be_visible()
    stored = [f for f in server.engine.store.feedback() if f["post_id"] == "p-correct"]
    assert len(stored) == 1
    assert stored[0]["labels"]["topic"] == "contract" and stored[0]["labels"]["urgency"] == "normal"
    assert stored[0]["route"] == "klantexpert" and stored[0]["role"] == "webcare"
    assert stored[0]["post"]["body"] == CORRECT[1]


def test_add_an_answer_and_find_it_through_search(tab: Page, server: Server) -> None:
    sign_in(tab, server, ADMIN_KEY)
    nav(tab, "Kennisbank").click()
    tab.get_by_role("link", name="Nieuw antwoord toevoegen").click()
    tab.get_by_label("Id").fill("kb-console-1")
    tab.get_by_label("Titel").fill("Wifi-bellen aanzetten op een Fairphone")
    tab.get_by_label("Antwoord", exact=True).fill("Ga naar Instellingen > Netwerk > Bellen via wifi en zet het aan.")
    tab.get_by_label("Onderwerp").select_option("network")
    tab.get_by_role("button", name="Opslaan").click()
    expect(tab.get_by_role("status")).to_contain_text("Opgeslagen")
    assert server.engine.store.get_answer("kb-console-1")["topic"] == "network"
    nav(tab, "Kennisbank").click()
    tab.get_by_label("Zoek in de kennisbank").fill("Wifi-bellen aanzetten op een Fairphone")
    tab.get_by_role("button", name="Zoeken").click()
    expect(tab.locator("ol.results").get_by_role("link", name="Wifi-bellen aanzetten op een Fairphone")
           ).to_be_visible()


def test_post_an_incident_status(tab: Page, server: Server) -> None:
    (incident,) = [i for i in server.engine.incidents.list("open") if i.post_count >= 3]
    sign_in(tab, server, WEBCARE_KEY)
    nav(tab, "Incidenten").click()
    expect(tab.locator("svg.spark")).to_have_count(1)
    tab.locator(f'a[href="/console/incidents/{incident.id}"]').click()
    tab.get_by_label("Bericht aan alle klanten in dit incident").fill(
        "Er is een storing op internet in Hoogvliet. Monteurs zijn bezig; herstel verwacht rond 14:00.")
    tab.get_by_role("button", name="Statusbericht plaatsen").click()
    expect(tab.get_by_role("status").filter(has_text="Statusbericht geplaatst")).to_be_visible()
    row = server.engine.incidents.get_row(incident.id)
    assert row.status_message.startswith("Er is een storing op internet in Hoogvliet")


def test_copy_a_suggested_reply(chrome: Browser, server: Server) -> None:
    import json

    post_id = "p-copy"
    server.triage("Bellen in Spanje", "Kan ik in Spanje gewoon mijn bundel gebruiken?", post_id=post_id)
    suggestion = {"answer_id": "kb-a-001", "title": "Bellen en internetten in de EU", "url": None, "score": 0.99,
                  "passage": "Kan ik daar gewoon mijn bundel gebruiken?"}
    store = server.engine.store
    result = json.loads(store.query("SELECT result FROM triage_log WHERE post_id=?", (post_id,))[0][0])
    with store.transaction() as c:  # make sure there is a suggestion to copy (the tiny model may suggest none)
        c.execute("UPDATE triage_log SET result=? WHERE post_id=?",
                  (json.dumps({**result, "suggestions": [suggestion]}), post_id))
    context = chrome.new_context(viewport=DESKTOP, locale="nl-NL")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    tab = context.new_page()
    try:
        sign_in(tab, server, WEBCARE_KEY)
        tab.goto(f"{server.url}/console/posts/{post_id}")
        tab.get_by_role("button", name="Kopieer antwoord").click()
        expect(tab.locator(".copy-status")).to_have_text("Gekopieerd")
        assert tab.evaluate("navigator.clipboard.readText()") == store.get_answer("kb-a-001")["answer"]
    finally:
        context.close()


def test_a_forum_key_gets_nothing(tab: Page, server: Server) -> None:
    tab.goto(f"{server.url}/console/login")
    tab.get_by_label("API-sleutel").fill(FORUM_KEY)
    tab.get_by_role("button", name="Aanmelden").click()
    expect(tab.get_by_role("alert")).to_contain_text("rol forum")
    tab.goto(f"{server.url}/console/incidents")
    expect(tab.get_by_role("heading", level=1, name="Aanmelden")).to_be_visible()


def pages_to_check(server: Server) -> list[tuple[str, str]]:
    incident = server.engine.incidents.list("open")[0].id
    return [("inbox", "/console/inbox"), ("post", "/console/posts/p-seed-0"), ("incidents", "/console/incidents"),
            ("incident", f"/console/incidents/{incident}"), ("kb", "/console/kb"),
            ("kb-search", "/console/kb?q=eSIM+overzetten"), ("kb-answer", "/console/kb/a/kb-a-001"),
            ("kb-add", "/console/kb/add"), ("model", "/console/model")]


def serious_violations(page: Page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
            for v in results.response["violations"] if v["impact"] in ("serious", "critical")]


def test_the_accessibility_check_can_fail(tab: Page, server: Server) -> None:
    """The axe check below is only worth something if it sees problems on a console page (same CSP)."""
    sign_in(tab, server, ADMIN_KEY)
    tab.evaluate("""() => { const img = document.createElement('img'); img.src = '/console/static/none.png';
                            document.querySelector('main').appendChild(img);
                            document.querySelector('#f-route').removeAttribute('id'); }""")
    found = " ".join(serious_violations(tab))
    assert "image-alt" in found and "select-name" in found, found


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "390px"])
def test_every_page_passes_axe_and_fits_the_screen(chrome: Browser, server: Server, viewport: dict) -> None:
    shots = os.environ.get("WEGWIJZER_SCREENSHOTS")
    context = chrome.new_context(viewport=viewport, locale="nl-NL")
    page = context.new_page()
    problems: dict[str, list[str]] = {}

    def check(name: str) -> None:
        expect(page.locator("main h1")).to_be_visible()
        problems[name] = serious_violations(page)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        if overflow > 1:
            problems[name].append(f"the page is {overflow} px wider than the {viewport['width']} px screen")
        if shots and (viewport is DESKTOP or name in ("inbox", "post")):
            Path(shots).mkdir(parents=True, exist_ok=True)  # phones: what fits on the screen
            page.screenshot(path=str(Path(shots) / f"{name}-{viewport['width']}.png"), full_page=viewport is DESKTOP)

    try:
        page.goto(f"{server.url}/console/login")
        check("login")
        sign_in(page, server, ADMIN_KEY)
        for name, path in pages_to_check(server):
            page.goto(server.url + path)
            check(name)
        assert len(problems) == 10
        assert not any(problems.values()), {k: v for k, v in problems.items() if v}
    finally:
        context.close()
