"""E-mail addresses, Dutch postcodes and street addresses (street name + house number)."""

from __future__ import annotations

import re

from models.redaction.spans import Span

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}")

# 1234 AB (never SA, SD or SS), optionally followed by a house number ("1234 AB 12", "1234AB nr 5").
_POSTCODE = re.compile(r"\b([1-9]\d{3})(?:[ ]?(?!SA|SD|SS)([A-Z]{2})|(?!sa|sd|ss)([a-z]{2}))\b"
                       r"(?:[ \t]*,?[ \t]*(?:nr\.?|huisnummer)?[ \t]*\d{1,5}(?:[ ]?[a-zA-Z])?\b(?![ \t]*(?:[.:,]\d|"
                       r"uur|minuten|dagen|jaar|euro|GB|MB|%)))?")
_UNITS = {"MB", "GB", "KB", "TB", "MS", "HZ", "KM", "KG", "CM", "MM", "UU"}
_POSTCODE_CUE = re.compile(r"(?:postcode|adres|woon)\w*(?:\s+(?:is|was|wordt))?\W{0,3}$", re.IGNORECASE)

_SUFFIXES = ("straat|straatweg|laan|weg|plein|gracht|kade|singel|dijk|hof|park|dreef|steeg|pad|ring|markt|baan|allee"
             "|erf|veld|kamp|wal|haven|dam|zijde|burgwal|plantsoen|hoven|passage|promenade|boulevard|wijk|akker")
_LOWER_SUFFIXES = "straat|laan|gracht|plein|kade|singel|dreef|steeg|straatweg|allee"
_PARTICLE = r"(?:van|de|der|den|het|ter|ten|te|'t|aan|op|in)"
_CAP_WORD = r"[A-ZÀ-Þ][\w'.-]*"
_NUMBER = r"\d{1,5}(?:[ ]?[a-zA-Z]\b|-[IVX]+\b|-\d{1,3}\b|[ ](?:bis|hs|huis|zw|rd)\b)?"
_ADDRESS = re.compile(
    rf"(?<![\w-])("
    rf"(?:(?:{_CAP_WORD}|{_PARTICLE})[ ]+){{0,3}}[A-ZÀ-Þ][\w'-]*(?:{_SUFFIXES})"      # Burgemeester de Withstraat
    rf"|(?:Laan|Plein|Weg|Kade|Singel|Dreef|Hof|Park|Oude|Nieuwe)(?:[ ]+{_PARTICLE})*[ ]+{_CAP_WORD}"  # Laan van X
    rf"|[a-zà-ÿ][\w'-]*(?:{_LOWER_SUFFIXES})"                                          # kerkstraat
    rf")[ ]+({_NUMBER})(?![\w]|[.,:]\d|[ ]?(?:uur|minuten|dagen|euro|GB|MB|%|km|meter)\b)")
# Capitalised words that begin a sentence rather than a street name.
_LEADING = {"Ik", "Op", "In", "Aan", "Naar", "Wij", "We", "Mijn", "Onze", "Via", "Bij", "Het", "De", "Adres",
            "Oud", "Nieuw", "Woon", "Wonen", "Verhuisd", "Sinds", "Vanaf", "Tot", "Naast", "Tegenover", "Hoek"}


def emails(text: str) -> list[Span]:
    return [Span(m.start(), m.end(), "EMAIL") for m in _EMAIL.finditer(text)] if "@" in text else []


def postcodes(text: str) -> list[Span]:
    """Dutch postcodes; '2000 MB' and the like only after 'postcode' or 'adres' (otherwise it is an amount)."""
    spans = []
    for m in _POSTCODE.finditer(text):
        if (m.group(2) or m.group(3)).upper() in _UNITS:
            if not _POSTCODE_CUE.search(text[max(0, m.start() - 30):m.start()]):
                continue
        spans.append(Span(m.start(), m.end(), "POSTCODE"))
    return spans


def addresses(text: str) -> list[Span]:
    """Street name plus house number ('Kerkstraat 12', 'Laan van Meerdervoort 212', 'Van der Helststraat 3-II')."""
    spans = []
    for m in _ADDRESS.finditer(text):
        start = m.start(1)
        words = m.group(1).split(" ")
        while len(words) > 1 and (words[0] in _LEADING or re.fullmatch(_PARTICLE, words[0])):
            start += len(words[0]) + 1
            words = words[1:]
            while text[start] == " ":
                start += 1
        spans.append(Span(start, m.end(2), "ADRES"))
    return spans
