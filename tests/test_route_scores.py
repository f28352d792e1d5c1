"""eval/route_scores.py's vectorised figures equal eval/served.py's route_figures, and the
cross-validated tuning estimate only ever uses points chosen without the held-out posts."""

from __future__ import annotations

import numpy as np

from eval.route_scores import ROUTES, RouteMatrix
from eval.served import route_figures

COSTS = {"peers": {"klantexpert": 1, "webcare": 1}, "klantexpert": {"peers": 2, "webcare": 1},
         "webcare": {"peers": 5, "klantexpert": 4}}


def test_figures_equal_route_figures_on_every_subset() -> None:
    rng = np.random.default_rng(3)
    gold = [ROUTES[i] for i in rng.integers(0, 3, 60)]
    served = [[ROUTES[i] for i in rng.integers(0, 3, 60)] for _ in range(7)]
    served.append(["peers"] * 60)  # a policy that never serves two of the routes
    critical = list(rng.random(60) < 0.2)
    m = RouteMatrix.build(served, gold, critical, COSTS)
    for rows in (None, np.arange(0, 60, 2), np.flatnonzero(np.array(gold) != "webcare")):
        got = m.figures(rows)
        for p, row in enumerate(served):
            idx = range(60) if rows is None else rows
            want = route_figures([gold[i] for i in idx], [row[i] for i in idx], [critical[i] for i in idx], COSTS)
            for key in ("macro_f1", "critical_to_webcare", "webcare_recall", "peers_to_webcare", "cost"):
                assert abs(got[key][p] - want[key]) < 1e-9, (key, p)


def test_cross_validation_serves_each_fold_with_a_point_chosen_elsewhere() -> None:
    from eval.policy_tuning import Point, choose, cross_validated

    # 300 policies that guess at random between peers and klantexpert (no webcare posts, so every
    # point meets the safety constraints): the best of them on all posts looks good by luck alone;
    # chosen on other folds, a guess is a guess again.
    rng = np.random.default_rng(5)
    gold = [ROUTES[i] for i in rng.integers(0, 2, 150)]
    served = [[ROUTES[i] for i in rng.integers(0, 2, 150)] for _ in range(300)]
    m = RouteMatrix.build(served, gold, [False] * 150, COSTS)
    points = [Point((None, None, i / 1000, None, None, None)) for i in range(300)]
    best, feasible = choose(m, points, points[0])
    in_sample = float(m.figures()["macro_f1"][best])
    assert feasible and in_sample == max(m.figures()["macro_f1"])
    cv = cross_validated(m, points, points[0])
    assert cv["macro_f1"] < in_sample - 0.04
    assert set(cv) == {"macro_f1", "critical_to_webcare", "webcare_recall", "peers_to_webcare", "cost"}
