"""Routing policy as data: an ordered rule file, validated at start.

See default_policy.yaml for the rule language. The learned route head is one
input among labels, confidences, suggestion score and author info.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from service.negation import matches_unnegated

ROUTES = ("peers", "klantexpert", "webcare")


class PolicyError(ValueError):
    """The policy file is invalid; the message names the rule and the field."""


class Conditions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    labels: dict[str, list[str]] = Field(default_factory=dict)
    min_confidence: dict[str, float] = Field(default_factory=dict)
    # {head: {label: x}}: the head's calibrated probability of that label >= x, whichever label won
    min_probability: dict[str, dict[str, float]] = Field(default_factory=dict)
    uncertain: list[str] = Field(default_factory=list)
    text_matches: str | None = None
    # true: a match counts only when no negation ("niet", "niks", "haven't", "bijna"...) is among the
    # few words before it (service/negation.py)
    text_not_negated: bool = False
    min_suggestion_score: float | None = None
    min_answerability: float | None = Field(None, ge=0, le=1)
    min_followers: int | None = None
    is_new_member: bool | None = None
    language_not: list[str] = Field(default_factory=list)
    in_incident: bool | None = None
    incident_has_status: bool | None = None

    @field_validator("min_probability")
    @classmethod
    def _probabilities(cls, v: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for head, labels in v.items():
            for label, x in labels.items():
                if not 0.0 <= x <= 1.0:
                    raise ValueError(f"min_probability of {head}={label} must be within [0, 1], not {x}")
        return v

    @field_validator("text_matches")
    @classmethod
    def _regex(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                re.compile(v)
            except re.error as exc:
                raise ValueError(f"text_matches is not a valid regular expression: {exc}") from exc
        return v

    @model_validator(mode="after")
    def _negation_needs_text(self) -> Conditions:
        if self.text_not_negated and self.text_matches is None:
            raise ValueError("text_not_negated needs text_matches")
        return self


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    when: Conditions = Field(default_factory=Conditions)
    route: str | None = None
    enabled: bool = True  # false: kept in the file (and reported as off by tune-policy) but never fires
    reason: str = Field(min_length=1)
    explanation: str = Field(min_length=1)


class PolicyFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    safety_order: list[str] = Field(default_factory=lambda: list(ROUTES))
    uncertain_alternative_min_prob: float = Field(0.15, ge=0, le=1)
    # The route head decides alone only at or above this calibrated confidence; unset: the
    # model's own abstain threshold for the route head (manifest thresholds).
    route_head_min_confidence: float | None = Field(None, ge=0, le=1)
    expected_response: dict[str, str] = Field(default_factory=dict)
    # cost[true route][served route]: what a wrong route costs (`python -m eval triage` reports the mean).
    costs: dict[str, dict[str, float]] = Field(default_factory=dict)
    # Written by `python -m eval tune-policy`: the searched thresholds, the chosen values and their dev figures.
    tuning: dict[str, Any] = Field(default_factory=dict)
    rules: list[Rule]

    @model_validator(mode="after")
    def _routes_known(self) -> PolicyFile:
        names = [r.name for r in self.rules]
        if len(set(names)) != len(names):
            raise ValueError("rule names must be unique")
        for r in self.rules:
            if r.route is not None and r.route not in self.safety_order:
                raise ValueError(f"rule {r.name!r}: route {r.route!r} is not one of {', '.join(self.safety_order)}")
        missing = [r for r in self.safety_order if r not in self.expected_response]
        if missing:
            raise ValueError(f"expected_response is missing route(s) {', '.join(missing)}")
        for true, row in self.costs.items():
            unknown = [r for r in [true, *row] if r not in self.safety_order]
            if unknown:
                raise ValueError(f"costs name unknown route(s) {', '.join(unknown)}")
            if any(c < 0 for c in row.values()):
                raise ValueError(f"costs for {true!r} must not be negative")
        return self


@dataclass
class PostFacts:
    """What the policy sees of a post."""
    labels: dict[str, str]
    confidence: dict[str, float]
    uncertain: dict[str, bool]
    alternatives: dict[str, list[tuple[str, float]]]
    text: str
    language: str
    suggestion_score: float | None = None
    answerability: float | None = None  # the best candidate answer's answerability (service/suggest.py)
    followers: int = 0
    is_new_member: bool = False
    in_incident: bool = False  # the post belongs to an open incident (service.incidents)
    incident_has_status: bool = False  # ... for which webcare has posted a status message


def probability(f: PostFacts, head: str, label: str) -> float:
    """The head's probability of `label` (0 when it is not among the reported alternatives)."""
    return next((p for lab, p in f.alternatives.get(head, []) if lab == label), 0.0)


@dataclass
class Decision:
    target: str
    reasons: list[str]
    explanation: str
    rules_fired: list[str] = field(default_factory=list)
    fallback: bool = False


class Policy:
    def __init__(self, spec: PolicyFile, label_sets: dict[str, list[str]] | None = None) -> None:
        self.spec = spec
        self._regex = {r.name: re.compile(r.when.text_matches, re.IGNORECASE) for r in spec.rules
                       if r.when.text_matches}
        if label_sets is not None:
            self._check_labels(label_sets)

    @classmethod
    def from_file(cls, path: str | Path, label_sets: dict[str, list[str]] | None = None) -> Policy:
        try:
            raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise PolicyError(f"{path}: cannot read policy: {exc}") from exc
        try:
            return cls(PolicyFile.model_validate(raw), label_sets)
        except ValidationError as exc:
            errs = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise PolicyError(f"{path}: invalid policy: {errs}") from exc

    def _check_labels(self, label_sets: dict[str, list[str]]) -> None:
        """Rules may only name heads and labels the model knows (typos fail at start)."""
        for r in self.spec.rules:
            c = r.when
            heads = set(c.labels) | set(c.min_confidence) | set(c.uncertain) | set(c.min_probability)
            for h in heads:
                if h not in label_sets:
                    raise PolicyError(f"rule {r.name!r}: head {h!r} is not predicted by the model "
                                      f"(heads: {', '.join(label_sets)})")
            for h, values in [*r.when.labels.items(), *((h, list(v)) for h, v in r.when.min_probability.items())]:
                unknown = [v for v in values if v not in label_sets[h]]
                if unknown:
                    raise PolicyError(f"rule {r.name!r}: {h} has no label(s) {', '.join(unknown)}")

    def _holds(self, rule: Rule, f: PostFacts) -> bool:
        c = rule.when
        checks = [
            all(f.labels.get(h) in vs for h, vs in c.labels.items()),
            all(f.confidence.get(h, 0.0) >= x for h, x in c.min_confidence.items()),
            all(probability(f, h, label) >= x for h, labels in c.min_probability.items()
                for label, x in labels.items()),
            not c.uncertain or any(f.uncertain.get(h, False) for h in c.uncertain),
            c.text_matches is None or (matches_unnegated(self._regex[rule.name], f.text) if c.text_not_negated
                                       else bool(self._regex[rule.name].search(f.text))),
            c.min_suggestion_score is None or (f.suggestion_score is not None
                                               and f.suggestion_score >= c.min_suggestion_score),
            c.min_answerability is None or (f.suggestion_score is not None and f.answerability is not None
                                            and f.answerability >= c.min_answerability),
            c.min_followers is None or f.followers >= c.min_followers,
            c.is_new_member is None or f.is_new_member == c.is_new_member,
            not c.language_not or f.language not in c.language_not,
            c.in_incident is None or f.in_incident == c.in_incident,
            c.incident_has_status is None or f.incident_has_status == c.incident_has_status,
        ]
        return all(checks)

    def expected_response(self, target: str) -> str:
        return self.spec.expected_response[target]

    def decide(self, f: PostFacts) -> Decision:
        fired = [r for r in self.spec.rules if r.enabled and self._holds(r, f)]
        deciding = next((r for r in fired if r.route), None)
        names = [r.name for r in fired]
        if deciding is not None:
            reasons = [deciding.reason] + [r.reason for r in fired if r is not deciding and r.reason != deciding.reason]
            return Decision(deciding.route or "", reasons, deciding.explanation, names)
        return self._from_route_head(f, names, [r.reason for r in fired])

    def _from_route_head(self, f: PostFacts, fired: list[str], extra: list[str]) -> Decision:
        order = self.spec.safety_order
        predicted = f.labels.get("route")
        floor = self.spec.route_head_min_confidence
        unsure = f.uncertain.get("route", False) if floor is None else f.confidence.get("route", 0.0) < floor
        if predicted in order and not unsure:
            return Decision(predicted, ["route_model", *extra],
                            "Het routeringsmodel is voldoende zeker van deze route.", fired)
        candidates = [lab for lab, p in f.alternatives.get("route", [])
                      if p >= self.spec.uncertain_alternative_min_prob and lab in order]
        if predicted in order:
            candidates.append(predicted)
        target = max(candidates, key=order.index) if candidates else order[-1]
        return Decision(target, ["uncertain", *extra],
                        "Het model twijfelt; het bericht gaat naar de veiligste route van de mogelijke.",
                        fired, fallback=True)
