"""The served-route figures of many policies at once, on any subset of the posts.

`tune-policy` decides every dev post under every grid point once; choosing a point (on all of
dev, on cross-validation folds, on bootstrap resamples) then only needs these figures on
index subsets, computed here from confusion counts with numpy. They equal eval/served.py's
`route_figures` (sklearn's macro-F1 with zero_division=0), which the tests check.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ROUTES = ("peers", "klantexpert", "webcare")


@dataclass
class RouteMatrix:
    """Served routes of P policies on N posts, as route indices, with the posts' gold facts."""
    served: np.ndarray  # [P, N] int8, index into ROUTES
    gold: np.ndarray  # [N] int8
    critical: np.ndarray  # [N] bool: the post's gold urgency is critical
    cost: np.ndarray  # [3, 3] cost[gold][served], 0 on the diagonal

    @classmethod
    def build(cls, served: list[list[str]] | np.ndarray, gold: list[str], critical: list[bool],
              costs: dict[str, dict[str, float]]) -> RouteMatrix:
        """`served`: routes by name per policy and post, or already as indices into ROUTES."""
        index = {r: i for i, r in enumerate(ROUTES)}
        c = np.zeros((3, 3))
        for g, row in costs.items():
            for s, v in row.items():
                if g != s:
                    c[index[g], index[s]] = v
        routes = (served.astype(np.int8) if isinstance(served, np.ndarray)
                  else np.array([[index[r] for r in row] for row in served], np.int8))
        return cls(routes.reshape(len(served), len(gold)),
                   np.array([index[g] for g in gold], np.int8), np.asarray(critical, bool), c)

    def figures(self, rows: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Per policy, on the posts `rows` (all when None): macro_f1, critical_to_webcare,
        webcare_recall, peers_to_webcare and mean cost, each an array [P]."""
        s = self.served if rows is None else self.served[:, rows]
        g = self.gold if rows is None else self.gold[rows]
        crit = self.critical if rows is None else self.critical[rows]
        cells = g[None, :].astype(np.int64) * 3 + s
        conf = np.stack([(cells == k).sum(axis=1) for k in range(9)], axis=1).reshape(-1, 3, 3).astype(float)
        tp = np.diagonal(conf, axis1=1, axis2=2)
        denom = conf.sum(axis=2) + conf.sum(axis=1)  # (tp + fn) + (tp + fp)
        f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
        n_w, n_p = conf[:, 2].sum(axis=1), conf[:, 0].sum(axis=1)
        webcare = 2
        return {
            "macro_f1": f1.mean(axis=1),
            "critical_to_webcare": (s[:, crit] == webcare).mean(axis=1) if crit.any() else np.ones(len(s)),
            "webcare_recall": np.divide(conf[:, 2, 2], n_w, out=np.ones(len(s)), where=n_w > 0),
            "peers_to_webcare": np.divide(conf[:, 0, 2], n_p, out=np.zeros(len(s)), where=n_p > 0),
            "cost": (conf * self.cost).sum(axis=(1, 2)) / max(len(g), 1),
        }
