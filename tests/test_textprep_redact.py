"""HTML stripping, language detection and redaction of personal data."""

from __future__ import annotations

import pytest

from models.redact import redact
from models.textprep import clean_text, detect_language


def test_strip_html() -> None:
    assert clean_text("<p>Hoi <b>allemaal</b></p><p>modem &amp; router</p><script>x()</script>") == \
        "Hoi allemaal\n\nmodem & router"
    assert clean_text("geen   html\t hier ") == "geen html hier"
    assert clean_text("a < b en c > d") == "a < b en c > d"


@pytest.mark.parametrize("text, lang", [
    ("Mijn iPhone heeft geen bereik sinds gisteren, wat kan ik doen?", "nl"),
    ("How do I cancel my subscription without a BSN?", "en"),
    ("Ich habe kein Netz mit meinem Handy", "de"),
    ("!!! 123", "und"),
])
def test_detect_language(text: str, lang: str) -> None:
    assert detect_language(text) == lang


@pytest.mark.parametrize("text, token", [
    ("bel me op 06-12345678", "[TELEFOON]"), ("of +31 6 1234 5678 graag", "[TELEFOON]"),
    ("vast 020-1234567", "[TELEFOON]"), ("call +44 7700 900123", "[TELEFOON]"),
    ("mail j.jansen@voorbeeld.nl", "[EMAIL]"), ("IBAN NL91 ABNA 0417 1643 00", "[IBAN]"),
    ("NL91ABNA0417164300", "[IBAN]"), ("BSN 111222333", "[BSN]"),
    ("Kerkstraat 1, 1234 AB Amsterdam", "[POSTCODE]"),
    ("1234 AB 12", "[POSTCODE]"), ("postcode 1234AB nr 5", "[POSTCODE]"),
])
def test_redacts_personal_data(text: str, token: str) -> None:
    out = redact(text)
    assert token in out
    assert not any(ch.isdigit() for ch in out), out  # no digit of the data survives


@pytest.mark.parametrize("text", ["kost €35,50 op 08:00", "iPhone 15 Pro 256GB, 5G", "bedrag 123456789",
                                  "ticket 1234567 sinds 14-03-2026"])
def test_leaves_other_numbers_alone(text: str) -> None:
    assert redact(text) == text
