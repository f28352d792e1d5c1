"""Evaluate what users get: the route served after the policy, next to the route head alone.

Labelled posts go through the same code as `POST /v1/triage` (service.app.build_engine: the
model's heads and embedding, suggestions over the given knowledge base with the answerability
model, the policy). Incident detection is off: a labelled file is not a stream of posts in
time, and grouping its posts would make `known_incident` fire on topics, not outages.

The engine's outputs are kept as policy facts so that `tune-policy` can re-decide them under
other thresholds without running the model again.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import confusion_matrix, f1_score

from models.textprep import detect_language
from service.policy import Decision, Policy, PostFacts
from service.schemas import PostIn
from service.triage import Engine

ROUTES = ["peers", "klantexpert", "webcare"]


@contextmanager
def served_engine(model_dir: str | Path, kb: str | Path | None, policy: str | Path | None) -> Iterator[Engine]:
    """The service's engine on a throwaway store seeded with `kb`, without incident detection."""
    from service.app import build_engine
    from service.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(model_dir=Path(model_dir), store_path=Path(tmp) / "eval.sqlite3", auth_enabled=False,
                            seed_kb=Path(kb) if kb else None, policy_file=Path(policy) if policy else None)
        engine = build_engine(settings)
        engine.incidents = None
        try:
            yield engine
        finally:
            engine.store.close()


def post_facts(engine: Engine, rows: list[dict[str, Any]], batch: int = 32) -> list[PostFacts]:
    """What the policy sees of each post, computed by the served pipeline (Engine.triage's steps)."""
    facts: list[PostFacts] = []
    for i in range(0, len(rows), batch):
        posts = [PostIn(title=r.get("title") or "", body=r["body"]) for r in rows[i:i + batch]]
        texts = [engine.text_of(p.title, p.body) for p in posts]
        preds, emb = engine.model.predict(texts)
        found = engine.retrieve(emb, texts, engine.max_suggestions, preds=preds)
        for post, text, pred, (sugg, best) in zip(posts, texts, preds, found, strict=True):
            facts.append(PostFacts(
                labels={h: p.label for h, p in pred.items()}, confidence={h: p.confidence for h, p in pred.items()},
                uncertain={h: p.uncertain for h, p in pred.items()},
                alternatives={h: p.alternatives for h, p in pred.items()}, text=text, language=detect_language(text),
                suggestion_score=sugg[0].score if sugg else None, answerability=best,
                followers=post.author.followers, is_new_member=post.author.is_new_member))
    return facts


def default_costs() -> dict[str, dict[str, float]]:
    """The service's default policy's cost matrix, for policy files without one."""
    from service.settings import DEFAULT_POLICY

    return Policy.from_file(DEFAULT_POLICY).spec.costs


def route_figures(gold: list[str], served: list[str], critical: list[bool],
                  costs: dict[str, dict[str, float]]) -> dict[str, Any]:
    g, s = np.array(gold), np.array(served)
    webcare = g == "webcare"
    crit = np.array(critical, bool)
    peers = g == "peers"
    return {
        "macro_f1": float(f1_score(g, s, labels=ROUTES, average="macro", zero_division=0)),
        "confusion": confusion_matrix(g, s, labels=ROUTES).tolist(),
        "critical_to_webcare": float((s[crit] == "webcare").mean()) if crit.any() else 1.0,
        "webcare_recall": float((s[webcare] == "webcare").mean()) if webcare.any() else 1.0,
        "peers_to_webcare": float((s[peers] == "webcare").mean()) if peers.any() else 0.0,
        "cost": float(np.mean([costs.get(a, {}).get(b, 0.0) if a != b else 0.0 for a, b in zip(g, s, strict=True)])),
    }


def rule_table(policy: Policy, decisions: list[Decision], gold: list[str]) -> dict[str, dict[str, Any]]:
    """Per rule: posts it fired on, posts it decided, and how often its decided route was right."""
    out: dict[str, dict[str, Any]] = {}
    for d, g in zip(decisions, gold, strict=True):
        for name in d.rules_fired:
            out.setdefault(name, {"fired": 0, "decided": 0, "correct": 0})["fired"] += 1
        decider = _decider(policy, d)
        row = out.setdefault(decider, {"fired": 0, "decided": 0, "correct": 0})
        row["decided"] += 1
        row["correct"] += d.target == g
    for row in out.values():
        row["precision"] = row["correct"] / row["decided"] if row["decided"] else None
        del row["correct"]
    return dict(sorted(out.items(), key=lambda kv: -kv[1]["decided"]))


def _decider(policy: Policy, d: Decision) -> str:
    """The rule that chose the route, or the route head (`route_model`) / its fallback (`uncertain`)."""
    routed = {r.name for r in policy.spec.rules if r.route}
    return next((n for n in d.rules_fired if n in routed), "uncertain" if d.fallback else "route_model")


def evaluate_served(policy: Policy, facts: list[PostFacts], rows: list[dict[str, Any]]) -> dict[str, Any]:
    decisions = [policy.decide(f) for f in facts]
    gold = [r["route"] for r in rows]
    critical = [r.get("urgency") == "critical" for r in rows]
    costs = policy.spec.costs or default_costs()
    served = route_figures(gold, [d.target for d in decisions], critical, costs)
    head = route_figures(gold, [f.labels["route"] for f in facts], critical, costs)
    return {
        "n": len(rows),
        "route": {"served_macro_f1": served["macro_f1"], "head_macro_f1": head["macro_f1"],
                  "confusion": served["confusion"], "critical_to_webcare": served["critical_to_webcare"],
                  "webcare_recall": served["webcare_recall"], "peers_to_webcare": served["peers_to_webcare"],
                  "cost": served["cost"], "head": head, "labels": ROUTES},
        "rules": rule_table(policy, decisions, gold),
        "suggested": float(np.mean([f.suggestion_score is not None for f in facts])) if facts else 0.0,
    }


def render(result: dict[str, Any]) -> str:
    r, h = result["route"], result["route"]["head"]
    lines = [f"{result['n']} posts; a suggestion was served for {result['suggested']:.1%}", "",
             "| route | served (after policy) | route head alone |", "| --- | --- | --- |",
             f"| macro-F1 | {r['served_macro_f1']:.3f} | {r['head_macro_f1']:.3f} |",
             f"| critical -> webcare | {r['critical_to_webcare']:.3f} | {h['critical_to_webcare']:.3f} |",
             f"| webcare recall | {r['webcare_recall']:.3f} | {h['webcare_recall']:.3f} |",
             f"| peers -> webcare | {r['peers_to_webcare']:.3f} | {h['peers_to_webcare']:.3f} |",
             f"| mean cost | {r['cost']:.3f} | {h['cost']:.3f} |", "",
             "Served confusion (rows gold, columns served: " + ", ".join(ROUTES) + ")"]
    lines += [f"  {g:<12} {row}" for g, row in zip(ROUTES, r["confusion"], strict=True)]
    lines += ["", "| rule | fired | decided | precision |", "| --- | --- | --- | --- |"]
    for name, row in result["rules"].items():
        prec = "-" if row["precision"] is None else f"{row['precision']:.3f}"
        lines.append(f"| {name} | {row['fired']} | {row['decided']} | {prec} |")
    return "\n".join(lines)


def summary(result: dict[str, Any]) -> dict[str, Any]:
    """The `--json` shape of issue 11 (plus the head's own figures under route.head)."""
    return {"n": result["n"], "route": result["route"], "rules": result["rules"], "suggested": result["suggested"]}

