"""Fast tests of the eval package: a tiny model (one encoder layer, one epoch) is
trained once per module on a tiny Dutch data set written to a temp directory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from training.data_io import write_jsonl

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "models" / "base"
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
    answerable = [(kb_id, text) for i in range(4) for kb_id, texts in QUERY_TEXT.items() for text in texts[i:i + 1]]
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
