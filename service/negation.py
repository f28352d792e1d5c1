"""Negation-aware text matches for the policy's `text_not_negated` condition.

"Ik heb niet geklikt", "niks ingevuld", "Haven't clicked anything", "ik had hem al bijna geklikt":
forum posts about phishing often say what did *not* happen, and the security_incident rule's verbs
matched them (train split, gold topic security: 26 of the rule's 87 matches were peers posts, most
of them negated). A match counts here only when none of the NEGATION_WINDOW words before it is a
negation or "almost" marker. One unnegated match anywhere in the text is enough.

Deliberately small and only for rules that opt in: "ik kan geen 112 bellen" is an emergency, so
rules on need (incident_own_need) keep plain matching.
"""

from __future__ import annotations

import re

NEGATIONS = frozenset({
    "niet", "niks", "niets", "geen", "nooit", "bijna",
    "not", "never", "nothing", "no", "almost", "haven't", "hasn't", "didn't", "don't", "doesn't",
    "havent", "hasnt", "didnt", "dont", "doesnt",
})
NEGATION_WINDOW = 4  # words before the match: "niet op de link geklikt"
_WORD = re.compile(r"[\w'\u2019]+")
_LOOKBACK = 80  # characters before a match in which its window's words are found


def negated(text: str, start: int) -> bool:
    """Whether a negation is among the NEGATION_WINDOW words before position `start`."""
    before = _WORD.findall(text[max(0, start - _LOOKBACK):start])[-NEGATION_WINDOW:]
    return any(w.lower().replace("\u2019", "'") in NEGATIONS for w in before)


def matches_unnegated(pattern: re.Pattern[str], text: str) -> bool:
    """Whether `pattern` matches somewhere in `text` that no negation precedes."""
    return any(not negated(text, m.start()) for m in pattern.finditer(text))
