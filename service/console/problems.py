"""A problem with what a person entered: the field and the reason, shown beside the form."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Problem:
    field: str
    reason: str
