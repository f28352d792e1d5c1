"""The policy's numeric thresholds that `tune-policy` searches, one `Knob` each.

A knob knows its grid, how to write a value into a policy, the value the base policy has, and
what a post's facts look like to the policy under a value (`outcome`). Two grid points whose
outcomes are equal for every knob decide a post identically, so the tuning decides each post
once per distinct outcome tuple instead of once per grid point (tested against deciding every
point). A knob whose rule is absent from the base policy is held at None.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np

from service.policy import PolicyFile, PostFacts, Rule, probability

Value = float | None


def rule(spec: PolicyFile, name: str) -> Rule | None:
    return next((r for r in spec.rules if r.name == name), None)


@dataclass(frozen=True)
class Knob:
    key: str  # as written under tuning.chosen in the policy file
    values: tuple[Value, ...]
    rule_name: str | None  # the rule the knob belongs to (None: a top-level threshold)
    write: Callable[[PolicyFile, Value], None]
    read: Callable[[PolicyFile], Value]
    outcome: Callable[[PostFacts, Value], Hashable]
    none_as: float = 1.0  # where None sits on the threshold's scale (a rule switched off: the far end)
    needs_base_value: bool = False  # searched only when the base policy sets it (else held at None)

    def present(self, spec: PolicyFile) -> bool:
        return self.rule_name is None or rule(spec, self.rule_name) is not None


def _ge(x: float | None, v: float) -> bool:
    return x is not None and x >= v


def _probability_knob(rule_name: str, head: str, label: str, values: tuple[Value, ...]) -> Knob:
    """A rule with `min_probability: {head: {label: v}}`; None switches the rule off."""
    def write(spec: PolicyFile, v: Value) -> None:
        r = rule(spec, rule_name)
        assert r is not None
        r.enabled = v is not None
        if v is not None:
            r.when.min_probability.setdefault(head, {})[label] = v

    def read(spec: PolicyFile) -> Value:
        r = rule(spec, rule_name)
        return r.when.min_probability.get(head, {}).get(label) if r is not None and r.enabled else None

    return Knob(f"{rule_name}.min_probability.{head}.{label}", values, rule_name, write, read,
                lambda f, v: None if v is None else probability(f, head, label) >= v)


def _write_answerability(spec: PolicyFile, v: Value) -> None:
    r = rule(spec, "existing_answer")
    assert r is not None
    r.enabled = v is not None
    if v is not None:
        r.when.min_answerability = v
        r.when.min_suggestion_score = None


def _read_answerability(spec: PolicyFile) -> Value:
    r = rule(spec, "existing_answer")
    return r.when.min_answerability if r is not None and r.enabled else None


def _write_specialist(spec: PolicyFile, v: Value) -> None:
    r = rule(spec, "specialist")
    if r is not None and v is not None:
        r.when.min_confidence["route"] = v


def _read_specialist(spec: PolicyFile) -> Value:
    r = rule(spec, "specialist")
    return r.when.min_confidence.get("route") if r is not None else None


def _write_route_head(spec: PolicyFile, v: Value) -> None:
    spec.route_head_min_confidence = v


def _write_alternative(spec: PolicyFile, v: Value) -> None:
    assert v is not None
    spec.uncertain_alternative_min_prob = v


KNOBS: tuple[Knob, ...] = (
    # None: existing_answer is switched off (enabled: false)
    Knob("existing_answer.min_answerability",
         (*(round(float(x), 2) for x in np.arange(0.30, 0.951, 0.05)), None), "existing_answer",
         _write_answerability, _read_answerability,
         lambda f, v: None if v is None else (f.suggestion_score is not None and _ge(f.answerability, v))),
    # None: the route head's own abstain threshold (the manifest's)
    Knob("route_head_min_confidence", (None, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8), None,
         _write_route_head, lambda spec: spec.route_head_min_confidence,
         lambda f, v: f.uncertain.get("route", False) if v is None else f.confidence.get("route", 0.0) < v,
         none_as=0.5),
    Knob("uncertain_alternative_min_prob", (0.05, 0.10, 0.15, 0.20, 0.30), None,
         _write_alternative, lambda spec: spec.uncertain_alternative_min_prob,
         lambda f, v: tuple(lab for lab, p in f.alternatives.get("route", []) if v is not None and p >= v)),
    Knob("specialist.min_confidence.route", (0.3, 0.4, 0.5, 0.6, 0.7), "specialist",
         _write_specialist, _read_specialist,
         lambda f, v: v is not None and f.confidence.get("route", 0.0) >= v, none_as=0.5, needs_base_value=True),
    _probability_knob("critical_probable", "urgency", "critical", (None, 0.05, 0.1, 0.2, 0.3)),
    _probability_knob("webcare_probable", "route", "webcare", (None, 0.2, 0.25, 0.3, 0.35, 0.4)),
)


@dataclass(frozen=True)
class Point:
    """One value per knob of KNOBS, in order."""
    values: tuple[Value, ...]

    def as_dict(self) -> dict[str, Any]:
        return {k.key: v for k, v in zip(KNOBS, self.values, strict=True)}

    def __getitem__(self, key: str) -> Value:
        return self.as_dict()[key]


def apply(base: PolicyFile, p: Point) -> PolicyFile:
    spec = base.model_copy(deep=True)
    for knob, v in zip(KNOBS, p.values, strict=True):
        if knob.present(spec):
            knob.write(spec, v)
    return spec


def base_point(base: PolicyFile) -> Point:
    return Point(tuple(k.read(base) if k.present(base) else None for k in KNOBS))


def knob_grids(base: PolicyFile) -> list[tuple[Value, ...]]:
    """Each knob's values: its grid, or its base value alone when its rule is absent (or, for a knob
    that needs one, the base policy sets no value)."""
    b = base_point(base)
    return [k.values if k.present(base) and (v is not None or not k.needs_base_value) else (v,)
            for k, v in zip(KNOBS, b.values, strict=True)]
