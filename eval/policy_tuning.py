"""Choose the policy's numeric thresholds on dev, not by hand (`python -m eval tune-policy`).

The dev posts run once through the served pipeline (eval/served.py); every grid point then
re-decides them with the policy alone. Objective: the served route's macro-F1 on dev, subject
to `critical` -> webcare = 100% and webcare recall >= 0.95; ties go to the lower mean cost,
then to the grid point nearest the base policy's values. The chosen values are written into a
copy of the policy with a `tuning` block (grid, choice, dev figures before and after).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from eval.route_scores import RouteMatrix
from eval.served import default_costs, evaluate_served
from service.policy import Policy, PolicyFile, PostFacts

ANSWERABILITY_GRID: list[float | None] = [round(float(x), 2) for x in np.arange(0.30, 0.951, 0.05)] + [None]
# None: existing_answer is switched off (enabled: false)
ROUTE_HEAD_GRID: list[float | None] = [None, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]  # None: the model's own threshold
ALTERNATIVE_GRID = [0.05, 0.10, 0.15, 0.20, 0.30]
SPECIALIST_GRID = [0.3, 0.4, 0.5, 0.6, 0.7]
MIN_CRITICAL, MIN_WEBCARE_RECALL = 1.0, 0.95


@dataclass
class Point:
    answerability: float | None  # existing_answer's min_answerability (None: the rule off, or no such rule)
    route_head: float | None
    alternative: float
    specialist: float | None  # specialist's min_confidence.route (None: no such rule)

    def as_dict(self) -> dict[str, Any]:
        return {"existing_answer.min_answerability": self.answerability,
                "route_head_min_confidence": self.route_head,
                "uncertain_alternative_min_prob": self.alternative,
                "specialist.min_confidence.route": self.specialist}


def _rule(spec: PolicyFile, name: str):  # noqa: ANN202 - Rule | None
    return next((r for r in spec.rules if r.name == name), None)


def apply(base: PolicyFile, p: Point) -> PolicyFile:
    spec = base.model_copy(deep=True)
    spec.route_head_min_confidence = p.route_head
    spec.uncertain_alternative_min_prob = p.alternative
    answer, specialist = _rule(spec, "existing_answer"), _rule(spec, "specialist")
    if answer is not None:
        answer.enabled = p.answerability is not None
        if p.answerability is not None:
            answer.when.min_answerability = p.answerability
            answer.when.min_suggestion_score = None
    if specialist is not None and p.specialist is not None:
        specialist.when.min_confidence["route"] = p.specialist
    return spec


def base_point(base: PolicyFile) -> Point:
    answer, specialist = _rule(base, "existing_answer"), _rule(base, "specialist")
    return Point(answer.when.min_answerability if answer is not None and answer.enabled else None,
                 base.route_head_min_confidence,
                 base.uncertain_alternative_min_prob,
                 specialist.when.min_confidence.get("route") if specialist is not None else None)


def grid(base: PolicyFile) -> list[Point]:
    b = base_point(base)
    answers = ANSWERABILITY_GRID if _rule(base, "existing_answer") is not None else [None]
    specialists = SPECIALIST_GRID if b.specialist is not None else [None]
    return [Point(*v) for v in itertools.product(answers, ROUTE_HEAD_GRID, ALTERNATIVE_GRID, specialists)]


def _distance(p: Point, b: Point) -> float:
    off = 1.0  # a rule switched off counts as the far end of its threshold range
    pairs = [(p.answerability if p.answerability is not None else off,
              b.answerability if b.answerability is not None else off),
             (p.route_head, b.route_head), (p.alternative, b.alternative), (p.specialist, b.specialist)]
    return sum(abs((x if x is not None else 0.5) - (y if y is not None else 0.5)) for x, y in pairs)


def decide_grid(base: PolicyFile, points: list[Point], facts: list[PostFacts],
                label_sets: dict[str, list[str]], rows: list[dict[str, Any]]) -> RouteMatrix:
    """Every post's served route under every grid point (the policy alone; the model ran once)."""
    served = [[d.target for d in map(Policy(apply(base, p), label_sets).decide, facts)] for p in points]
    return RouteMatrix.build(served, [r["route"] for r in rows], [r.get("urgency") == "critical" for r in rows],
                             base.costs or default_costs())


def choose(m: RouteMatrix, points: list[Point], b: Point, rows: np.ndarray | None = None) -> tuple[int, bool]:
    """The grid point tune-policy picks on the posts `rows`: the best served macro-F1 among the
    points meeting the safety constraints (none meets them: the safest), then the lower cost,
    then the point nearest the base policy. Returns (index, whether it meets the constraints)."""
    f = m.figures(rows)
    feasible = (f["critical_to_webcare"] >= MIN_CRITICAL) & (f["webcare_recall"] >= MIN_WEBCARE_RECALL)
    keys = [((1.0, 1.0) if ok else (float(c), float(w)), round(float(f1), 6), -round(float(cost), 6),
             -_distance(p, b))
            for ok, c, w, f1, cost, p in zip(feasible, f["critical_to_webcare"], f["webcare_recall"],
                                              f["macro_f1"], f["cost"], points, strict=True)]
    pool = np.flatnonzero(feasible) if feasible.any() else np.arange(len(points))
    best = max(pool, key=lambda i: keys[i])
    return int(best), bool(feasible[best])


def cross_validated(m: RouteMatrix, points: list[Point], b: Point, folds: int = 5, seed: int = 13) -> dict[str, float]:
    """What tuning is worth on posts it did not see: dev in `folds` stratified folds; each fold's
    posts are served under the point chosen on the other folds, and the pooled held-out routes
    are scored. This is the honest estimate of the tuned policy's served figures (the chosen
    point's own dev figures are optimistic: they are the maximum over the grid)."""
    rng = np.random.default_rng(seed)
    fold = np.empty(len(m.gold), int)
    for route in range(3):  # stratified by gold route, so each fold sees webcare posts
        idx = rng.permutation(np.flatnonzero(m.gold == route))
        fold[idx] = np.arange(len(idx)) % folds
    held = np.empty(len(m.gold), np.int8)
    for k in range(folds):
        i, _ = choose(m, points, b, np.flatnonzero(fold != k))
        held[fold == k] = m.served[i, fold == k]
    pooled = RouteMatrix(held[None, :], m.gold, m.critical, m.cost).figures()
    return {k: round(float(v[0]), 4) for k, v in pooled.items()}


def tune(base: PolicyFile, facts: list[PostFacts], rows: list[dict[str, Any]],
         label_sets: dict[str, list[str]]) -> dict[str, Any]:
    b, points = base_point(base), grid(base)
    m = decide_grid(base, points, facts, label_sets, rows)
    best, feasible = choose(m, points, b)
    f = m.figures()
    ok = (f["critical_to_webcare"] >= MIN_CRITICAL) & (f["webcare_recall"] >= MIN_WEBCARE_RECALL)
    before = evaluate_served(Policy(base, label_sets), facts, rows)
    after = evaluate_served(Policy(apply(base, points[best]), label_sets), facts, rows)
    return {"chosen": points[best], "feasible": feasible, "points": len(points),
            "feasible_points": int(ok.sum()), "before": before, "after": after,
            "cross_validated": cross_validated(m, points, b)}


def _figures(result: dict[str, Any]) -> dict[str, Any]:
    r = result["route"]
    return {k: round(float(r[k]), 4) for k in ("served_macro_f1", "head_macro_f1", "critical_to_webcare",
                                                 "webcare_recall", "peers_to_webcare", "cost")}


def write_policy(base: PolicyFile, tuned: dict[str, Any], out: Path, source: dict[str, str]) -> PolicyFile:
    spec = apply(base, tuned["chosen"])
    spec.tuning = {
        **source,
        "objective": f"max served route macro-F1 on dev s.t. critical->webcare >= {MIN_CRITICAL} and "
                     f"webcare recall >= {MIN_WEBCARE_RECALL}",
        "grid": {"existing_answer.min_answerability": ANSWERABILITY_GRID,
                 "route_head_min_confidence": ROUTE_HEAD_GRID,
                 "uncertain_alternative_min_prob": ALTERNATIVE_GRID,
                 "specialist.min_confidence.route": SPECIALIST_GRID},
        "points": tuned["points"], "feasible_points": tuned["feasible_points"], "feasible": tuned["feasible"],
        "chosen": tuned["chosen"].as_dict(),
        "dev_before": _figures(tuned["before"]), "dev_after": _figures(tuned["after"]),
        # the tuning procedure on dev posts it did not tune on (5-fold; see cross_validated)
        "dev_cross_validated": tuned["cross_validated"],
    }
    header = ("# Generated by `python -m eval tune-policy` from the base policy named under tuning.base:\n"
              "# the rules are the base policy's; the thresholds were chosen on dev (see tuning).\n")
    raw = spec.model_dump(exclude_defaults=True)
    raw["uncertain_alternative_min_prob"] = spec.uncertain_alternative_min_prob
    if spec.route_head_min_confidence is not None:
        raw["route_head_min_confidence"] = spec.route_head_min_confidence
    raw["tuning"] = raw.pop("tuning")
    body = yaml.safe_dump(raw, sort_keys=False, allow_unicode=True, width=120)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(header + body, encoding="utf-8")
    return spec
