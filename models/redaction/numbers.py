"""Numbers that identify a person: phone numbers (phonenumbers), IBAN, BSN and IMEI (python-stdnum), customer numbers.

Every detector takes the text and returns spans; none raises on odd input.
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import Leniency, PhoneNumberMatcher, PhoneNumberType
from stdnum import iban, imei
from stdnum.nl import bsn

from models.redaction.spans import Span

# Numbers of companies, not of people: a forum post may name the operator's service line.
_COMPANY_TYPES = {PhoneNumberType.TOLL_FREE, PhoneNumberType.PREMIUM_RATE, PhoneNumberType.SHARED_COST,
                  PhoneNumberType.UAN}
_HAS_DIGITS = re.compile(r"\d(?:[\s().-]*\d){5}")
_INTERNATIONAL = re.compile(r"\s*(?:\+|00)")

_IBAN = re.compile(r"\b([A-Za-z]{2}\d{2}(?:[ ]?[A-Za-z0-9]){11,30})\b")
_NL_IBAN_SHAPE = re.compile(r"NL\d{2}[A-Z]{4}\d{10}")

_BSN = re.compile(r"(?<![\w€$.,/-])(\d{9}|\d{4}\.\d{2}\.\d{3}|\d{3}[ .]\d{3}[ .]\d{3}|\d{2}\.\d{2}\.\d{2}\.\d{3})"
                  r"(?![\w/]|[.,-]\d)")
_BSN_CUE = re.compile(r"\b(?:bsn|burgerservicenummer|sofinummer)\b[^\n\d]{0,20}$", re.IGNORECASE)
_NOT_BSN_CUE = re.compile(r"\b(?:ticket|case|order|bestel|factuur|referentie|dossier|zaak|track|klant|pakket)\w*"
                          r"\b[^\n\d]{0,20}$", re.IGNORECASE)

_IMEI = re.compile(r"(?<![\w.,])(\d{2}[ -]?\d{6}[ -]?\d{6}[ -]?\d)(?![\w]|[.,]\d)")
_IMEI_CUE = re.compile(r"\bimei\b[^\n\d]{0,30}$", re.IGNORECASE)

_KLANTNUMMER = re.compile(
    r"\b(?:klant(?:en)?\s?(?:nummer|nr\.?|-?id)|klantnr\.?|abonnementsnummer|abonneenummer|contractnummer)"
    r"(?:[ \t]+(?:is|van|bij|oude|nieuwe|mijn|provider|van\s+de|was|:))*[ \t]*[:#=]?[ \t]*"
    r"([A-Za-z]{0,3}-?\d(?:[ .-]?\d){4,11})(?!\d)",
    re.IGNORECASE)


def phones(text: str) -> list[Span]:
    """Phone numbers in any notation, Dutch (region NL) or international; company service numbers are kept."""
    if not _HAS_DIGITS.search(text):
        return []
    spans = []
    for match in PhoneNumberMatcher(text, "NL", leniency=Leniency.POSSIBLE):
        kind = phonenumbers.number_type(match.number)  # UNKNOWN for a number that is not valid
        if kind in _COMPANY_TYPES:
            continue
        if kind == PhoneNumberType.UNKNOWN and _INTERNATIONAL.match(match.raw_string) is None:
            continue  # a possible but invalid number counts only when written with +/00 (e.g. +44 7700 900123)
        spans.append(Span(match.start, match.end, "TELEFOON"))
    return spans


def ibans(text: str) -> list[Span]:
    """IBANs with or without spaces that pass the mod-97 check (and Dutch-shaped ones that fail it: a typo)."""
    spans = []
    for m in _IBAN.finditer(text):
        raw = m.group(1)
        # The candidate may run into the next word: take the longest prefix that is a valid IBAN.
        ends = [i + 1 for i, ch in enumerate(raw) if ch != " "][14:]
        end = next((e for e in reversed(ends) if iban.is_valid(raw[:e], check_country=False)), None)
        if end is None:
            end = next((e for e in reversed(ends) if _NL_IBAN_SHAPE.fullmatch(raw[:e].replace(" ", "").upper())), None)
        if end is not None:
            spans.append(Span(m.start(1), m.start(1) + end, "IBAN"))
    return spans


def bsns(text: str) -> list[Span]:
    """Nine-digit numbers that pass the eleven test (or follow the word BSN), unless named as a ticket, order, ..."""
    spans = []
    for m in _BSN.finditer(text):
        before = text[max(0, m.start() - 40):m.start()]
        cued = _BSN_CUE.search(before) is not None
        if not cued and _NOT_BSN_CUE.search(before):
            continue
        if cued or bsn.is_valid(m.group(1)):
            spans.append(Span(m.start(1), m.end(1), "BSN"))
    return spans


def imeis(text: str) -> list[Span]:
    """Fifteen-digit IMEIs (plain or grouped) that pass the Luhn check, or any such number after the word IMEI."""
    spans = []
    for m in _IMEI.finditer(text):
        digits = re.sub(r"[ -]", "", m.group(1))
        cued = _IMEI_CUE.search(text[max(0, m.start() - 40):m.start()]) is not None
        if cued or imei.is_valid(digits):
            spans.append(Span(m.start(1), m.end(1), "IMEI"))
    return spans


def customer_numbers(text: str) -> list[Span]:
    """A number after 'klantnummer', 'klantnr', 'abonnementsnummer' and the like (the word itself is kept)."""
    return [Span(m.start(1), m.end(1), "KLANTNUMMER") for m in _KLANTNUMMER.finditer(text)]
