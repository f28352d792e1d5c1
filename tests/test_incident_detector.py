"""Incident detection without a model: the detector on synthetic embeddings, the summary,
the policy's incident conditions and the stream scoring of `python -m eval incidents`."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from eval.incidents import replay, score
from models.schema import LabelConfig
from service.incident_detector import IncidentDetector, IncidentParams, OpenIncident
from service.incident_summary import Background, summarize
from service.policy import Policy, PostFacts

DIM = 16
PARAMS = IncidentParams(similarity=0.9, join_similarity=0.85, min_authors=3, window_s=3600, quiet_s=7200)
T0 = 1_790_000_000.0


def unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v)).astype(np.float32)


def theme(seed: int) -> np.ndarray:
    return unit(np.random.default_rng(seed).normal(size=DIM))


def near(base: np.ndarray, seed: int, noise: float = 0.05) -> np.ndarray:
    return unit(base + noise * np.random.default_rng(seed).normal(size=DIM))


def detector(params: IncidentParams = PARAMS, capacity: int = 1024) -> IncidentDetector:
    counter = itertools.count(1)
    return IncidentDetector(DIM, params, lambda: f"inc-{next(counter)}", capacity)


def test_several_authors_near_in_time_and_meaning_open_an_incident() -> None:
    d, outage = detector(), theme(1)
    assert d.add("p1", T0, "a", near(outage, 1)).incident_id is None
    assert d.add("p2", T0 + 60, "b", near(outage, 2)).incident_id is None
    a = d.add("p3", T0 + 120, "c", near(outage, 3))
    assert a.opened and a.incident_id == "inc-1" and a.added == ["p1", "p2", "p3"]
    o = d.open["inc-1"]
    assert o.members == ["p1", "p2", "p3"] and o.authors == {"a", "b", "c"} and o.opened_ts == T0


def test_a_lone_author_or_anonymous_posts_never_open_one() -> None:
    d, outage = detector(), theme(1)
    for i in range(6):
        assert d.add(f"a{i}", T0 + 60 * i, "same-author", near(outage, i)).incident_id is None
    for i in range(6):
        assert d.add(f"n{i}", T0 + 400 + 60 * i, None, near(outage, 10 + i)).incident_id is None
    # one more author makes two: still under min_authors=3
    assert d.add("b", T0 + 900, "other", near(outage, 30)).incident_id is None
    assert not d.open


def test_far_in_time_or_meaning_does_not_open() -> None:
    d, outage = detector(), theme(1)
    for i, author in enumerate("abc"):  # same theme, two hours apart: outside the 1 h window
        assert d.add(f"t{i}", T0 + 7200 * i, author, near(outage, i)).incident_id is None
    for i, author in enumerate("def"):  # same time, different themes
        assert d.add(f"m{i}", T0 + 20_000 + i, author, theme(100 + i)).incident_id is None
    assert not d.open


def test_later_matching_posts_join_and_unrelated_ones_do_not() -> None:
    d, outage = detector(), theme(1)
    for i, author in enumerate("abc"):
        d.add(f"p{i}", T0 + 60 * i, author, near(outage, i))
    a = d.add("p3", T0 + 600, "d", near(outage, 3))
    assert a.incident_id == "inc-1" and not a.opened and a.added == ["p3"]
    assert d.add("x", T0 + 660, "e", theme(50)).incident_id is None
    assert len(d.open["inc-1"].members) == 4 and d.open["inc-1"].last_seen_ts == T0 + 600


def test_closes_after_the_quiet_period_in_stream_time() -> None:
    d, outage = detector(), theme(1)
    for i, author in enumerate("abc"):
        d.add(f"p{i}", T0 + 60 * i, author, near(outage, i))
    assert d.close_quiet(T0 + 120 + 7199) == []
    a = d.add("later", T0 + 120 + 7201, "z", theme(9))
    assert a.closed == ["inc-1"] and not d.open
    # the old members stay in their (closed) incident: a new near post does not reopen it alone
    assert d.add("late2", T0 + 120 + 7300, "y", near(outage, 8)).incident_id is None


def test_resending_a_post_updates_it_without_counting_twice() -> None:
    d, outage = detector(), theme(1)
    for i, author in enumerate("abc"):
        d.add(f"p{i}", T0 + 60 * i, author, near(outage, i))
    a = d.add("p1", T0 + 300, "b", near(outage, 11))
    assert a.incident_id == "inc-1" and a.added == [] and len(d.open["inc-1"].members) == 3
    assert len(d) == 3


def test_window_compacts_when_full_and_keeps_recent_posts() -> None:
    d = detector(IncidentParams(similarity=0.99, join_similarity=0.99, min_authors=3, window_s=100, quiet_s=100),
                 capacity=4)
    for i in range(50):
        d.add(f"p{i}", T0 + 30 * i, f"a{i}", theme(1000 + i))
    assert len(d) <= 8 and d.embedding("p49") is not None and d.embedding("p0") is None


def test_window_grows_when_every_post_is_still_in_it() -> None:
    d, outage = detector(capacity=2), theme(1)
    for i in range(9):
        d.add(f"p{i}", T0 + i, f"a{i}", near(outage, i))
    assert len(d) == 9 and len(d.open["inc-1"].members) == 9
    assert np.allclose(d.embedding("p0"), near(outage, 0)) and d.incident_of("p8") == "inc-1"


def test_restore_rebuilds_window_and_open_incidents() -> None:
    outage = theme(1)
    posts = [(f"p{i}", T0 + 60 * i, a, near(outage, i), "inc-7") for i, a in enumerate("abc")]
    d = detector()
    d.restore(posts, [OpenIncident("inc-7", T0, T0 + 120, ["p0", "p1", "p2"], {"a", "b", "c"})])
    a = d.add("p3", T0 + 300, "d", near(outage, 4))
    assert a.incident_id == "inc-7" and d.open["inc-7"].members[-1] == "p3"


def test_params_are_validated() -> None:
    with pytest.raises(ValueError, match="min_authors"):
        IncidentParams(min_authors=1)
    with pytest.raises(ValueError, match="positive"):
        IncidentParams(window_s=0)


def test_summary_names_dominant_labels_terms_and_a_representative_post() -> None:
    bg = Background()
    for t in ["Hoe zet ik mijn eSIM over?", "Factuur te hoog deze maand", "Wifi bereik op zolder is slecht"] * 10:
        bg.add(t)
    texts = ["Modem knippert rood in Hoogvliet, geen internet", "Geen internet in Hoogvliet, modem rood",
             "Storing glasvezel Hoogvliet? Modem knippert rood"]
    emb = np.stack([near(theme(1), i) for i in range(3)])
    s = summarize(["p1", "p2", "p3"], texts, emb, ["home_internet"] * 2 + ["network"], ["modem_tv"] * 3, 3, bg)
    assert s.topic == "home_internet" and s.product == "modem_tv" and s.representative in {"p1", "p2", "p3"}
    assert {"hoogvliet", "modem", "rood"} <= set(s.terms)
    assert s.text.startswith("3 berichten van 3 klanten over home_internet / modem_tv")


@pytest.fixture(scope="module")
def policy() -> Policy:
    return Policy.from_file(Path("service/default_policy.yaml"), LabelConfig.from_file().heads)


def facts(text: str, urgency: str = "high", in_incident: bool = False, status: bool = False,
          topic: str = "home_internet") -> PostFacts:
    labels = {"topic": topic, "product": "modem_tv", "sentiment": "negative", "urgency": urgency, "route": "webcare"}
    return PostFacts(labels=labels, confidence={h: 0.9 for h in labels}, uncertain={h: False for h in labels},
                     alternatives={"route": [("webcare", 0.9)]}, text=text, language="nl", in_incident=in_incident,
                     incident_has_status=status)


def test_policy_incident_posts_go_to_webcare_until_a_status_is_posted(policy: Policy) -> None:
    d = policy.decide(facts("Geen internet in Hoogvliet", in_incident=True))
    assert d.target == "webcare" and d.reasons[0] == "known_incident"
    d = policy.decide(facts("Geen internet in Hoogvliet", in_incident=True, status=True))
    assert d.target == "peers" and d.reasons[0] == "incident_status"
    d = policy.decide(facts("Landelijke storing, geen bereik", urgency="critical", in_incident=True, status=True))
    assert d.target == "peers" and "critical" not in d.rules_fired


def test_policy_own_need_still_goes_to_webcare_with_a_status(policy: Policy) -> None:
    clicked = facts("Ik heb op de link geklikt en mijn bankgegevens ingevuld", urgency="critical", topic="security",
                    in_incident=True, status=True)
    assert policy.decide(clicked).target == "webcare"
    vulnerable = facts("Geen bereik en mijn vader heeft een personenalarm", in_incident=True, status=True)
    d = policy.decide(vulnerable)
    assert d.target == "webcare" and d.reasons[0] == "own_need"
    threat = facts("Weer storing, ik stap over naar een andere provider", in_incident=True, status=True)
    assert policy.decide(threat).target == "webcare"


def test_policy_without_incident_is_unchanged(policy: Policy) -> None:
    d = policy.decide(facts("Landelijke storing", urgency="critical"))
    assert d.target == "webcare" and d.reasons[0] == "critical"
    assert "known_incident" not in d.rules_fired and "incident_status" not in d.rules_fired


def test_stream_scoring_counts_bursts_assignment_and_false_incidents() -> None:
    day = 86400.0
    posts = []
    for i in range(5):  # burst A: five authors within minutes
        posts.append(({"post_id": f"a{i}", "ts": T0 + 60 * i, "author_id": f"ua{i}", "burst": "A"}, near(theme(1), i)))
    for i in range(3):  # ordinary traffic that happens to cluster: a false incident
        posts.append(({"post_id": f"o{i}", "ts": T0 + day + 60 * i, "author_id": f"uo{i}", "burst": None},
                      near(theme(2), i)))
    for i in range(8):  # ordinary, all different, spread over 5 days
        posts.append(({"post_id": f"x{i}", "ts": T0 + 2 * day + i * 0.4 * day, "author_id": f"ux{i}", "burst": None},
                      theme(300 + i)))
    posts.append(({"post_id": "b0", "ts": T0 + 3 * day, "author_id": "ub", "burst": "B"}, theme(77)))  # missed
    posts.sort(key=lambda p: p[0]["ts"])
    rows, emb_arr = [p[0] for p in posts], np.stack([p[1] for p in posts])
    out = score(rows, replay(rows, emb_arr, PARAMS))
    assert out["bursts"]["A"] == {"posts": 5, "detected": True, "posts_until_detection": 3, "within_target": True,
                                  "assigned": 5, "assigned_share": 1.0, "incidents": 1}
    assert out["bursts"]["B"]["detected"] is False and out["burst_recall"] == 0.5
    assert out["false_incidents"] == 1 and out["ordinary_posts_in_incidents"] == 3
    assert out["post_recall"] == round(5 / 6, 4)
    assert out["false_incidents_per_day"] == pytest.approx(1 / out["ordinary_days"], abs=1e-3)
