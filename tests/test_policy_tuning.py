"""tune-policy decides each post once per distinct knob outcome (eval/policy_knobs.py) instead of
once per grid point: the routes must equal deciding every point with the policy itself."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from eval.policy_knobs import KNOBS, apply, base_point
from eval.policy_tuning import decide_grid, grid
from eval.route_scores import ROUTES
from service.policy import Policy, PostFacts

LABELS = {"topic": ["billing", "contract", "device", "network", "security", "account", "other"],
          "product": ["apple", "samsung", "modem", "sim_only", "none"],
          "sentiment": ["negative", "neutral", "positive"],
          "urgency": ["low", "normal", "high", "critical"],
          "route": list(ROUTES)}
TEXTS = ["Mijn factuur is te hoog", "Ik stap over naar een andere provider", "Ik heb op een link geklikt",
         "Hoe stel ik mijn modem in?", "Storing in Utrecht", "Wat kost roaming in Turkije?"]


def _facts(rng: np.random.Generator, n: int) -> list[PostFacts]:
    out = []
    for _ in range(n):
        alts, labels, conf, uncertain = {}, {}, {}, {}
        for head, labs in LABELS.items():
            p = rng.dirichlet(np.full(len(labs), 0.6))
            order = np.argsort(-p)
            alts[head] = [(labs[i], float(p[i])) for i in order[:3]]
            labels[head], conf[head] = labs[order[0]], float(p[order[0]])
            uncertain[head] = bool(p[order[0]] < 0.55)
        served = rng.random() < 0.6
        out.append(PostFacts(labels=labels, confidence=conf, uncertain=uncertain, alternatives=alts,
                             text=str(rng.choice(TEXTS)), language="nl",
                             suggestion_score=float(rng.uniform(0.7, 0.95)) if served else None,
                             answerability=float(rng.random()) if served else None,
                             in_incident=bool(rng.random() < 0.1), incident_has_status=bool(rng.random() < 0.05)))
    return out


def test_grid_decisions_equal_deciding_every_point() -> None:
    rng = np.random.default_rng(11)
    base = Policy.from_file(Path("service/default_policy.yaml"), LABELS).spec
    points = grid(base)
    assert len(points) == int(np.prod([len(k.values) for k in KNOBS]))  # every rule of the knobs is present
    facts = _facts(rng, 80)
    rows = [{"route": str(rng.choice(ROUTES)), "urgency": "normal"} for _ in facts]
    m = decide_grid(base, points, facts, LABELS, rows)
    for i in [0, len(points) - 1, *rng.choice(len(points), 60, replace=False)]:
        policy = Policy(apply(base, points[i]), LABELS)
        assert [ROUTES[j] for j in m.served[i]] == [policy.decide(f).target for f in facts], points[i]
    assert len({tuple(row) for row in m.served.tolist()}) > 10  # the knobs do change decisions


def test_base_point_reads_back_what_apply_writes() -> None:
    base = Policy.from_file(Path("service/default_policy.yaml"), LABELS).spec
    points = grid(base)
    for p in [points[0], points[len(points) // 2], points[-1], base_point(base)]:
        assert base_point(apply(base, p)) == p
