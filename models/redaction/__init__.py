"""Personal-data redaction: detectors for each kind of personal data, merged and replaced by Dutch tokens.

`redact(text)` is what the service calls before anything is logged or stored; `find_spans(text)` gives the spans.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from models.redaction.names import names
from models.redaction.numbers import bsns, customer_numbers, ibans, imeis, phones
from models.redaction.places import addresses, emails, postcodes
from models.redaction.spans import TOKENS, Span, apply, merge

__all__ = ["DETECTORS", "TOKENS", "Span", "find_spans", "redact"]

log = logging.getLogger(__name__)

# Order does not matter (overlaps are merged); listed from most to least specific.
DETECTORS: tuple[Callable[[str], list[Span]], ...] = (
    emails, ibans, imeis, bsns, customer_numbers, phones, postcodes, addresses, names)


def find_spans(text: str) -> list[Span]:
    """Merged, non-overlapping spans of personal data. A detector that fails is skipped (and logged by name only)."""
    if not text:
        return []
    found: list[Span] = []
    for detect in DETECTORS:
        try:
            found.extend(detect(text))
        except Exception as exc:  # noqa: BLE001 - redaction must never break logging or storing
            log.warning("redaction detector %s failed: %s", detect.__name__, type(exc).__name__)
    return merge(found)


def redact(text: str) -> str:
    """Replace personal data by [NAAM], [TELEFOON], [EMAIL], [IBAN], [BSN], [ADRES], [POSTCODE], [KLANTNUMMER],
    [IMEI]."""
    return apply(text, find_spans(text)) if text else text
