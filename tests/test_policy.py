"""Routing policy: default rules from labels.md, fallback, validation of rule files."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from models.schema import LabelConfig
from service.policy import Policy, PolicyError, PostFacts

LABELS = LabelConfig.from_file().heads
DEFAULT = Path("service/default_policy.yaml")


@pytest.fixture(scope="module")
def policy() -> Policy:
    return Policy.from_file(DEFAULT, LABELS)


def facts(text: str = "Hoe stel ik dit in?", conf: float = 0.9, uncertain: tuple[str, ...] = (),
          suggestion: float | None = None, followers: int = 0, language: str = "nl",
          answerability: float | None = None, **labels: str) -> PostFacts:
    base = {"topic": "device", "product": "apple", "sentiment": "neutral", "urgency": "normal", "route": "peers"}
    base.update(labels)
    return PostFacts(labels=base, confidence={h: conf for h in base}, uncertain={h: h in uncertain for h in base},
                     alternatives={"route": [(base["route"], conf), ("webcare", 0.3), ("klantexpert", 0.05)]},
                     text=text, language=language, suggestion_score=suggestion, followers=followers,
                     answerability=answerability if answerability is not None or suggestion is None else 0.9)


def test_every_critical_post_goes_to_webcare(policy: Policy) -> None:
    for route in ("peers", "klantexpert"):
        d = policy.decide(facts(urgency="critical", route=route, suggestion=0.9))
        assert d.target == "webcare" and d.reasons[0] == "critical" and "critical" in d.rules_fired


def test_security_incident_vs_question(policy: Policy) -> None:
    harmed = policy.decide(facts("Ik heb op de link geklikt en mijn gegevens ingevuld", topic="security"))
    assert harmed.target == "webcare" and "security_incident" in harmed.reasons
    asking = policy.decide(facts("Is deze sms echt van jullie?", topic="security", route="peers"))
    assert asking.target == "peers"


@pytest.mark.parametrize("text", ["Is deze sms echt? Ik heb niet geklikt.", "Nep of echt? Niks aangeklikt.",
                                  "Is this a scam? Haven’t clicked anything.", "Ik had hem al bijna geklikt",
                                  "Ik heb er gelukkig niet op de link geklikt en niks ingevuld"])
def test_security_incident_ignores_what_did_not_happen(policy: Policy, text: str) -> None:
    d = policy.decide(facts(text, topic="security", route="peers"))
    assert "security_incident" not in d.rules_fired and d.target == "peers"


@pytest.mark.parametrize("text", ["Ik heb niet opgelet en op de link geklikt",
                                  "Niet geklikt, maar mijn man heeft wel zijn gegevens ingevuld",
                                  "Mijn account is overgenomen, ik kan niet meer inloggen"])
def test_security_incident_still_fires_on_an_unnegated_match(policy: Policy, text: str) -> None:
    d = policy.decide(facts(text, topic="security", route="peers"))
    assert d.target == "webcare" and "security_incident" in d.reasons


def test_rules_without_text_not_negated_match_negated_text(policy: Policy) -> None:
    # "ik kan geen 112 bellen" is an emergency: rules on need keep plain matching
    f = facts("Geen bereik, ik kan niet eens 112 bellen", topic="network")
    f.in_incident = True
    d = policy.decide(f)
    assert d.target == "webcare" and "incident_own_need" in d.rules_fired


@pytest.mark.parametrize("text", ["Ik stap naar de Geschillencommissie", "Dan ga ik naar Radar",
                                  "Mijn advocaat neemt contact op", "Ik stap over naar Odido"])
def test_reputational_risk(policy: Policy, text: str) -> None:
    d = policy.decide(facts(text, topic="contract"))
    assert d.target == "webcare" and "reputational_risk" in d.reasons


@pytest.mark.parametrize("text", ["Ik stap over van een Galaxy S22 naar een iPhone 15", "Wil overstappen naar 1 Gbit",
                                  "Ik wil met mijn nummer overstappen naar jullie", "I want to switch to your fibre",
                                  "Hoe kan ik dat opzeggen als ik het niet gebruik?"])
def test_switching_phones_plans_or_to_us_is_no_threat_to_leave(policy: Policy, text: str) -> None:
    d = policy.decide(facts(text, topic="contract"))
    assert "reputational_risk" not in d.rules_fired


def test_large_reach_negative_author(policy: Policy) -> None:
    assert policy.decide(facts(sentiment="negative", followers=50_000)).target == "webcare"
    assert policy.decide(facts(sentiment="negative", followers=10)).target == "peers"


def test_billing_dispute_goes_to_webcare(policy: Policy) -> None:
    d = policy.decide(facts("Dubbel afgeschreven", topic="billing", urgency="high", route="peers"))
    assert d.target == "webcare" and d.reasons[0] == "billing_dispute"


def test_confident_existing_answer_goes_to_peers(policy: Policy) -> None:
    d = policy.decide(facts(route="klantexpert", suggestion=0.91))
    assert d.target == "peers" and d.reasons[0] == "existing_answer"


def test_existing_answer_needs_a_confident_answer_not_a_high_cosine(policy: Policy) -> None:
    loose = policy.decide(facts("Bridge mode op de Zyxel", topic="home_internet", route="klantexpert",
                                suggestion=0.95, answerability=0.2))
    assert loose.target == "klantexpert" and "existing_answer" not in loose.rules_fired
    nothing = policy.decide(facts(route="klantexpert", suggestion=None, answerability=0.99))
    assert "existing_answer" not in nothing.rules_fired  # no suggestion served: nothing to answer with


def test_route_head_min_confidence_overrides_the_model_threshold(tmp_path: Path) -> None:
    strict = Policy.from_file(_write(tmp_path / "a", lambda s: s.update(rules=[], route_head_min_confidence=0.95)),
                              LABELS)
    lenient = Policy.from_file(_write(tmp_path / "b", lambda s: s.update(rules=[], route_head_min_confidence=0.5)),
                               LABELS)
    f = facts(route="peers", conf=0.8, uncertain=("route",))
    assert lenient.decide(f).target == "peers" and not lenient.decide(f).fallback
    assert strict.decide(f).fallback and strict.decide(f).target == "webcare"  # safest of peers/webcare(0.3)


def test_costs_must_name_known_routes(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="unknown route"):
        Policy.from_file(_write(tmp_path / "a", lambda s: s.update(costs={"webcare": {"moderator": 3}})), LABELS)
    with pytest.raises(PolicyError, match="negative"):
        Policy.from_file(_write(tmp_path / "b", lambda s: s.update(costs={"webcare": {"peers": -1}})), LABELS)


def test_specialist_question_goes_to_klantexpert(policy: Policy) -> None:
    d = policy.decide(facts("Bridge mode op de Zyxel voor IPv6", topic="home_internet", route="klantexpert"))
    assert d.target == "klantexpert" and d.reasons[0] == "specialist_question"


def test_confident_route_head_decides_when_no_rule_does(policy: Policy) -> None:
    d = policy.decide(facts(route="peers"))
    assert d.target == "peers" and d.reasons == ["route_model"] and not d.fallback


def test_uncertain_route_takes_the_safer_alternative(policy: Policy) -> None:
    d = policy.decide(facts(route="peers", conf=0.4, uncertain=("route",)))
    assert d.target == "webcare" and d.reasons[0] == "uncertain" and d.fallback


def test_non_dutch_is_reported(policy: Policy) -> None:
    d = policy.decide(facts("How do I cancel?", language="en"))
    assert "not_dutch" in d.rules_fired and "not_dutch" in d.reasons


def _write(tmp_path: Path, change) -> Path:  # noqa: ANN001
    spec = yaml.safe_load(DEFAULT.read_text())
    change(spec)
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


@pytest.mark.parametrize("change, message", [
    (lambda s: s["rules"][0].update(route="boss"), "route 'boss' is not one of"),
    (lambda s: s["rules"][0]["when"].update(labels={"urgency": ["urgent"]}), "urgency has no label(s) urgent"),
    (lambda s: s["rules"][0]["when"].update(labels={"mood": ["x"]}), "head 'mood' is not predicted"),
    (lambda s: s["rules"][0]["when"].update(text_matches="(unclosed"), "not a valid regular expression"),
    (lambda s: s["rules"][0]["when"].update(colour="red"), "colour"),
    (lambda s: s["rules"][0]["when"].update(text_not_negated=True), "text_not_negated needs text_matches"),
    (lambda s: s["rules"].append(dict(s["rules"][0])), "rule names must be unique"),
    (lambda s: s["expected_response"].pop("webcare"), "expected_response is missing route(s) webcare"),
    (lambda s: s["rules"][0]["when"].update(min_probability={"route": {"boss": 0.3}}), "route has no label(s) boss"),
    (lambda s: s["rules"][0]["when"].update(min_probability={"mood": {"x": 0.3}}), "head 'mood' is not predicted"),
    (lambda s: s["rules"][0]["when"].update(min_probability={"route": {"webcare": 1.5}}), "within \\[0, 1\\]"),
])
def test_invalid_policy_fails_at_start_with_the_reason(tmp_path: Path, change, message: str) -> None:  # noqa: ANN001
    with pytest.raises(PolicyError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Policy.from_file(_write(tmp_path, change), LABELS)


def test_a_disabled_rule_never_fires(tmp_path: Path) -> None:
    def off(spec: dict) -> None:
        next(r for r in spec["rules"] if r["name"] == "critical")["enabled"] = False

    disabled = Policy.from_file(_write(tmp_path, off), LABELS)
    d = disabled.decide(facts(urgency="critical", route="peers"))
    assert "critical" not in d.rules_fired and d.reasons[0] != "critical"


def test_min_probability_reads_a_label_that_did_not_win(tmp_path: Path) -> None:
    def probable(spec: dict) -> None:
        spec["rules"] = [{"name": "webcare_probable", "when": {"min_probability": {"route": {"webcare": 0.25}}},
                          "route": "webcare", "reason": "possibly_webcare", "explanation": "Mogelijk webcare."}]

    p = Policy.from_file(_write(tmp_path, probable), LABELS)
    d = p.decide(facts(route="peers", conf=0.65))  # alternatives: peers 0.65, webcare 0.3
    assert d.target == "webcare" and d.rules_fired == ["webcare_probable"] and not d.fallback
    low = facts(route="peers", conf=0.65)
    low.alternatives["route"] = [("peers", 0.65), ("klantexpert", 0.2), ("webcare", 0.15)]
    assert p.decide(low).target == "peers"
    low.alternatives["route"] = [("peers", 0.65), ("klantexpert", 0.35)]  # webcare not reported: probability 0
    assert p.decide(low).target == "peers"
