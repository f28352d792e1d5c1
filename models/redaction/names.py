"""Names of people: titles ('mevrouw Bakker'), initials ('G. Hendriks'), known first names with their surname
('Jan de Vries'), names after a cue ('ik heet ...', 'collega ...', 'Groet, ...', 'Hoi ...') and @mentions."""

from __future__ import annotations

import re

from models.redaction.lexicon import AMBIGUOUS_NAMES, FIRST_NAMES, NOT_NAMES
from models.redaction.spans import Span

_UP = "A-ZÀ-ÖØ-ÞĀĂĄĆČĎĐĒĖĘĚĞĢĪĮİĶĹĻĽŁŃŅŇŌŐŒŔŘŚŞŠŢŤŪŮŰŲŹŻŽ"
_WORD = re.compile(rf"[{_UP}](?![{_UP}])[^\W\d_]+(?:['-][{_UP}]?[^\W\d_]+)*")
_PARTICLE = re.compile(r"(?:van|de|der|den|het|ter|ten|te|'t|el|El|al|Al|ben|bin|da|di|du|le|la|von|zu)[ ]+")
_INITIALS = re.compile(rf"(?:[{_UP}]\.[ ]?){{1,4}}")
_CAP = re.compile(rf"(?<![\w@.-])[{_UP}](?![{_UP}])[^\W\d_]+")

_TITLE = re.compile(r"\b(?:meneer|mevrouw|mevr\.|mw\.|dhr\.|de heer|juffrouw|dokter|dr\.|mr\.|ir\.|ing\.)[ ]+",
                    re.IGNORECASE)
_INITIAL_NAME = re.compile(rf"(?<![\w.])(?:[{_UP}]\.[ ]?){{1,4}}(?=(?:{_PARTICLE.pattern})*[{_UP}][^\W\d_])")
_RELATIONS = ("man|vrouw|zoon|dochter|moeder|vader|broer|zus|partner|vriend|vriendin|buurman|buurvrouw|kleinzoon"
              "|kleindochter|opa|oma|oom|tante|neef|nicht|schoonmoeder|schoonvader|collega|baas")
_CUE = re.compile(
    r"(?:\b(?:ik heet|mijn naam is|naam:|ik ben|collega|medewerker|medewerkster|monteur|klantexpert|adviseur"
    rf"|(?:mijn|onze|de|haar|zijn) (?:{_RELATIONS})"
    r"|(?:gesproken|gebeld|contact gehad|gechat|sprak|belde|chatte|gemaild)(?: ik)? met|geholpen door|vraag naar"
    r"|namens|t\.n\.v\.|tnv|ten name van|volgens"
    r"|bedankt|dank(?:je(?:wel)?| je(?:wel)?| u)?|thanks|merci"
    r"|groet(?:en|jes)?|gr\.?|mvg|m\.v\.g\.?|met vriendelijke groet(?:en)?|vriendelijke groet(?:en)?|liefs|doei"
    r"|cheers|greetz)"
    r"|(?:^|(?<=[\n.!?]))[ \t]*(?:hoi|hallo|hey|hee|hi|beste|dag|goedemorgen|goedemiddag|goedenavond|lieve))"
    r"[ \t]*[,:!(]?[ \t]*(?:\n[ \t]*)?(?=[" + _UP + "])",
    re.IGNORECASE | re.MULTILINE)
_MENTION = re.compile(r"(?<![\w.@])@[A-Za-z][\w.-]{1,30}(?<![.-])")
# Words right before a capitalised word that make it part of a product or place, not a person ("Pro Max").
_PRODUCT_BEFORE = {"Pro", "Plus", "Ultra", "Mini", "Max", "Air", "Lite", "Note", "Galaxy", "iPhone", "Sint", "St."}


def _not_name(word: str) -> bool:
    return word in NOT_NAMES or word.split("-")[0] in NOT_NAMES


def _extend(text: str, pos: int, surname_required: bool = False) -> int | None:
    """End of a name starting at pos: initials, a capitalised word, then particles + capitalised words (max 3)."""
    m = _INITIALS.match(text, pos)
    if m:
        pos = m.end()
    words, end = 0, None
    while words < 3:
        scan = pos
        while (p := _PARTICLE.match(text, scan)) is not None:
            scan = p.end()
        w = _WORD.match(text, scan)
        if w is None or _not_name(w.group()):
            break
        words, end = words + 1, w.end()
        if text.startswith(" ", end) and not text.startswith("  ", end):
            pos = end + 1
        else:
            break
    if end is None or (surname_required and words < 2):
        return None
    return end


def names(text: str) -> list[Span]:
    spans: list[Span] = []
    for m in _TITLE.finditer(text):
        end = _extend(text, m.end())
        if end is not None:
            spans.append(Span(m.start(), end, "NAAM"))
    for m in _INITIAL_NAME.finditer(text):
        end = _extend(text, m.start())
        if end is not None:
            spans.append(Span(m.start(), end, "NAAM"))
    for m in _CUE.finditer(text):
        end = _extend(text, m.end())
        if end is not None:
            spans.append(Span(m.end(), end, "NAAM"))
    for m in _CAP.finditer(text):
        word = m.group()
        if word not in FIRST_NAMES and word not in AMBIGUOUS_NAMES:
            continue
        before = text[max(0, m.start() - 8):m.start()].split()
        if before and before[-1] in _PRODUCT_BEFORE or text[m.end():m.end() + 2].strip()[:1].isdigit():
            continue
        end = _extend(text, m.start(), surname_required=word in AMBIGUOUS_NAMES)
        if end is not None:
            spans.append(Span(m.start(), end, "NAAM"))
    spans.extend(Span(m.start(), m.end(), "NAAM") for m in _MENTION.finditer(text))
    return spans
