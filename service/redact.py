"""Redact personal data before anything is logged or stored."""

from __future__ import annotations

import re

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("[EMAIL]", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
    ("[IBAN]", re.compile(r"\b[A-Z]{2}\d{2}\s?(?:[A-Z0-9]{4}\s?){2,7}[A-Z0-9]{1,4}\b")),
    ("[TELEFOON]", re.compile(r"(?<![\w€])(?:\+31|0031|0)[\s-]?[1-9](?:[\s-]?\d){8}(?!\d)")),
    ("[TELEFOON]", re.compile(r"(?<![\w€])\+[1-9]\d{0,2}(?:[\s-]?\d){6,12}(?!\d)")),
    ("[ADRES]", re.compile(r"\b[A-Z][a-zà-ÿ]+(?:straat|laan|weg|plein|gracht|kade|singel|dijk|hof|park|dreef|steeg"
                           r"|pad|ring|markt)\s+\d{1,5}\s?[a-zA-Z]?\b")),
    ("[POSTCODE]", re.compile(r"\b[1-9]\d{3}\s?(?!SS|SA|SD)[A-Z]{2}\b(?:\s*,?\s*(?:nr\.?|huisnummer)?\s*\d{1,5}"
                              r"\s?[a-zA-Z]?\b)?")),
]
_NINE_DIGITS = re.compile(r"(?<![\d€,.])\d{9}(?![\d,.])|(?<![\d€,.])\d{4}\.\d{2}\.\d{3}(?![\d,.])")


def _is_bsn(candidate: str) -> bool:
    """Dutch BSN: nine digits passing the eleven test."""
    digits = [int(c) for c in candidate if c.isdigit()]
    if len(digits) != 9:
        return False
    total = sum(d * w for d, w in zip(digits[:8], range(9, 1, -1), strict=True)) - digits[8]
    return total % 11 == 0 and total != 0


def redact(text: str) -> str:
    for token, pattern in _PATTERNS:
        text = pattern.sub(token, text)
    return _NINE_DIGITS.sub(lambda m: "[BSN]" if _is_bsn(m.group()) else m.group(), text)
