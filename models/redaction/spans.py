"""Spans of personal data and how they are merged and replaced by bracketed Dutch tokens."""

from __future__ import annotations

from dataclasses import dataclass

# Token of each kind; when spans overlap they are merged and the earliest kind in this order names the result.
TOKENS: dict[str, str] = {
    "EMAIL": "[EMAIL]", "IBAN": "[IBAN]", "IMEI": "[IMEI]", "BSN": "[BSN]", "KLANTNUMMER": "[KLANTNUMMER]",
    "TELEFOON": "[TELEFOON]", "POSTCODE": "[POSTCODE]", "ADRES": "[ADRES]", "NAAM": "[NAAM]",
}
_RANK = {kind: i for i, kind in enumerate(TOKENS)}


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int
    kind: str


def merge(spans: list[Span]) -> list[Span]:
    """Overlapping or touching-inside spans become one span, named after the highest-ranked kind among them."""
    out: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        if span.end <= span.start:
            continue
        if out and span.start < out[-1].end:
            last = out[-1]
            kind = last.kind if _RANK[last.kind] <= _RANK[span.kind] else span.kind
            out[-1] = Span(last.start, max(last.end, span.end), kind)
        else:
            out.append(span)
    return out


def apply(text: str, spans: list[Span]) -> str:
    """Replace each (merged) span by its token."""
    parts, pos = [], 0
    for span in merge(spans):
        parts.append(text[pos:span.start])
        parts.append(TOKENS[span.kind])
        pos = span.end
    parts.append(text[pos:])
    return "".join(parts)
