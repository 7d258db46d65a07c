"""Triage signals in the routing rule language: `signals` conditions (parsing, evaluation, traces),
the rule set's `triage.model`, scoring once per complaint (corrections kept), JSON round-trip of
stored inputs, and diff/simulate of a model or threshold change. A tiny fake model keeps the
domain tests independent of the shipped one."""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace

import pytest

from services.common.settings import Settings
from services.routing.adapters.files import RuleSetInvalid, load_directory, parse_rule_set_text
from services.routing.domain.changes import diff, simulate
from services.routing.domain.model import (
    SIGNALS,
    InvalidData,
    RoutingInput,
    SignalScore,
    with_correction,
    with_scores,
)
from services.routing.domain.routing import decide
from services.routing.domain.rules import SignalBound, evaluate, newest_model, parse_rule_set
from services.routing.service import input_from_json, input_to_json, scored
from services.routing.triage import scorer

DIRECTORY = load_directory(Settings().directory_file)


@dataclass(frozen=True)
class Scored:
    signal: str
    score: float
    top_terms: tuple[str, ...]
    source: str = "model"


class FakeModel:
    """Scores a signal 0.9 when one of its words appears, else 0.1; counts its calls."""

    WORDS = {"safety": ("smoke", "burned"), "privacy": ("stranger",), "fraud_abuse": ("scammers",)}

    def __init__(self, version: str = "fake-1", high: float = 0.9):
        self.version, self.high, self.calls = version, high, 0

    def score(self, subject: str, body: str) -> dict[str, Scored]:
        self.calls += 1
        text = f"{subject} {body}".lower().split()
        out = {}
        for name in SIGNALS:
            hits = tuple(w for w in self.WORDS.get(name, ()) if w in text)
            out[name] = Scored(name, self.high if hits else 0.1, hits)
        return out


def rule_set(signals: dict, triage: dict | None = None, **extra: object) -> dict:
    data = {
        "version": "s-1",
        "overrides": [
            {
                "id": "safety-by-signal",
                "when": {"signals": signals},
                "then": {"team": "safety-security", "priority": "critical", "sla_policy": "safety-critical"},
            }
        ],
        "default": {
            "id": "d",
            "then": {"team": "general-care", "priority": "normal", "sla_policy": "default"},
        },
        **extra,
    }
    if triage is not None:
        data["triage"] = triage
    return data


# --- parsing -----------------------------------------------------------------------------------


def test_signals_condition_parses_bounds_in_signal_order() -> None:
    rs = parse_rule_set(rule_set({"privacy": {"max": 0.2}, "safety": {"min": 0.35, "max": 1}}))
    assert rs.overrides[0].when.signals == (
        SignalBound("safety", 0.35, 1.0),
        SignalBound("privacy", None, 0.2),
    )


@pytest.mark.parametrize(
    ("signals", "field", "problem"),
    [
        ({"safty": {"min": 0.3}}, "overrides[0].when.signals.safty", "unknown signal; use safety"),
        ({"safety": {"min": 1.5}}, "overrides[0].when.signals.safety.min", "from 0 to 1"),
        ({"safety": {"min": True}}, "overrides[0].when.signals.safety.min", "from 0 to 1"),
        ({"safety": {"min": "high"}}, "overrides[0].when.signals.safety.min", "from 0 to 1"),
        ({"safety": {"at_least": 0.3}}, "overrides[0].when.signals.safety.at_least", "unknown bound"),
        ({"safety": {}}, "overrides[0].when.signals.safety", "needs min, max or both"),
        ({"safety": {"min": 0.8, "max": 0.2}}, "overrides[0].when.signals.safety.max", "is below min (0.8)"),
        ({"safety": 0.3}, "overrides[0].when.signals.safety", "must be a mapping"),
        ({}, "overrides[0].when.signals", "name at least one signal"),
    ],
)
def test_bad_signal_conditions_name_the_field(signals: dict, field: str, problem: str) -> None:
    with pytest.raises(InvalidData) as err:
        parse_rule_set(rule_set(signals))
    assert err.value.path == field and problem in err.value.problem


YAML = """version: s-1
triage: {model: %s}
overrides:
  - id: ok
    when: {signals: {safety: {min: 0.5}}}
    then: {team: safety-security, priority: critical, sla_policy: safety-critical}
  - id: typo
    when: {signals: {%s: {min: 0.5}}}
    then: {team: safety-security, priority: critical, sla_policy: safety-critical}
default: {id: d, then: {team: general-care, priority: normal, sla_policy: default}}
"""


def test_rule_files_name_file_line_and_field_of_an_unknown_signal() -> None:
    with pytest.raises(RuleSetInvalid) as err:
        parse_rule_set_text(YAML % ("triage-1", "safty"), "mine.yaml")
    (problem,) = err.value.problems
    assert (problem.file, problem.line, problem.field) == ("mine.yaml", 8, "overrides[1].when.signals.safty")
    assert "'safty' is not one of safety, safeguarding, privacy, fraud_abuse, urgent" in problem.problem


def test_rule_files_refuse_an_unknown_model_with_the_field_triage_model() -> None:
    with pytest.raises(RuleSetInvalid) as err:
        parse_rule_set_text(YAML % ("triage-99", "urgent"), "mine.yaml")
    (problem,) = err.value.problems
    assert (problem.line, problem.field) == (2, "triage.model")
    assert "'triage-99' is not a shipped triage model (shipped: " in problem.problem
    assert parse_rule_set_text(YAML % ("triage-1", "urgent")).triage_model == "triage-1"


def test_the_model_defaults_to_the_newest_shipped_one() -> None:
    assert parse_rule_set(
        rule_set({"safety": {"min": 0.5}}), ("triage-2", "triage-10", "triage-9")
    ).triage_model == ("triage-10")
    assert newest_model(scorer.shipped_versions()) == scorer.load_model().version
    text = YAML.replace("triage: {model: %s}\n", "") % "urgent"
    assert parse_rule_set_text(text).triage_model == scorer.shipped_versions()[-1]


@pytest.mark.parametrize(
    ("triage", "field"),
    [
        ({"model": "triage-7"}, "triage.model"),
        ({"model": ""}, "triage.model"),
        ({"modl": "x"}, "triage.modl"),
    ],
)
def test_bad_triage_sections_name_the_field(triage: dict, field: str) -> None:
    with pytest.raises(InvalidData) as err:
        parse_rule_set(rule_set({"safety": {"min": 0.5}}, triage), ("triage-1",))
    assert err.value.path == field


def test_domain_signal_names_are_the_scorers() -> None:
    assert SIGNALS == scorer.SIGNALS


# --- evaluation and traces ---------------------------------------------------------------------

RULES = parse_rule_set(rule_set({"safety": {"min": 0.35}}, {"model": "fake-1"}), ("fake-1",))


def test_a_signal_above_its_bound_matches_and_the_trace_says_score_bound_and_words() -> None:
    c = with_scores(
        RoutingInput("c", body="the heater burned my hand and smoke filled the room"), FakeModel()
    )
    ev = evaluate(RULES, c)
    assert ev.winner.id == "safety-by-signal"
    assert ev.considered[0].reason == "safety signal 0.90 ≥ 0.35 (words: smoke, burned)"
    d = decide(RULES, DIRECTORY, {}, c)
    assert d.team == "safety-security"
    assert "Decided by the safety signal of triage model fake-1." in d.explanation
    assert "Triage signals (model fake-1): safety 0.90, safeguarding 0.10, privacy 0.10" in d.explanation


def test_a_failing_signal_says_the_score_and_the_bound() -> None:
    c = with_scores(RoutingInput("c", body="late parcel"), FakeModel())
    ev = evaluate(RULES, c)
    assert ev.winner.id == "d"
    assert (ev.considered[0].failed_on, ev.considered[0].reason) == (
        "signals",
        "safety signal 0.10, rule needs ≥ 0.35",
    )


def test_a_score_just_below_the_bound_is_shown_with_enough_digits() -> None:
    c = RoutingInput("c", signals=(SignalScore("safety", 0.349),), triage_model="fake-1")
    assert evaluate(RULES, c).considered[0].reason == "safety signal 0.3490, rule needs ≥ 0.35"


def test_an_unscored_complaint_fails_signal_conditions_and_says_why() -> None:
    ev = evaluate(RULES, RoutingInput("c", body="smoke"))
    assert ev.winner.id == "d"
    assert ev.considered[0].reason == "no safety score (not scored by a triage model), rule needs ≥ 0.35"


def test_several_signals_in_one_condition_must_all_hold() -> None:
    both = parse_rule_set(rule_set({"safety": {"min": 0.5}, "privacy": {"max": 0.2}}))
    model = FakeModel()
    hit = with_scores(RoutingInput("c", body="smoke"), model)
    miss = with_scores(RoutingInput("c", body="smoke from a stranger"), model)
    assert evaluate(both, hit).winner.id == "safety-by-signal"
    assert evaluate(both, hit).considered[0].reason.endswith("privacy signal 0.10 ≤ 0.2 (no telling words)")
    ev = evaluate(both, miss)
    assert ev.winner.id == "d" and ev.considered[0].reason == "privacy signal 0.90, rule needs ≤ 0.2"


def test_signals_flag_keeps_team_and_sla() -> None:
    data = rule_set({"safety": {"min": 0.99}})
    data["flags"] = [
        {
            "id": "fraud",
            "when": {"signals": {"fraud_abuse": {"min": 0.5}}},
            "tags": ["review"],
            "keep_informed": ["tns"],
        }
    ]
    rs = parse_rule_set(data)
    d = decide(rs, DIRECTORY, {}, with_scores(RoutingInput("c", body="scammers took my money"), FakeModel()))
    assert (d.team, d.sla_policy, d.tags, d.keep_informed) == (
        "general-care",
        "default",
        ("review",),
        ("tns",),
    )
    assert "fraud: matched (fraud_abuse signal 0.90 ≥ 0.5 (words: scammers))" in d.explanation


# --- scoring once, corrections -----------------------------------------------------------------


def test_scoring_is_once_per_complaint_and_a_second_pass_with_the_same_model_is_free() -> None:
    model = FakeModel()
    c = with_scores(RoutingInput("c", body="smoke"), model)
    assert with_scores(c, model) is c and model.calls == 1
    assert c.triage_model == "fake-1" and [s.signal for s in c.signals] == list(SIGNALS)


def test_a_correction_flows_through_the_same_rules_and_survives_rescoring() -> None:
    c = with_scores(RoutingInput("c", body="late parcel"), FakeModel())
    corrected = with_correction(c, "safety", True)
    assert corrected.signal("safety") == SignalScore("safety", 1.0, (), "correction")
    ev = evaluate(RULES, corrected)
    assert ev.winner.id == "safety-by-signal"
    assert ev.considered[0].reason == "safety signal 1.00 ≥ 0.35 (set by a person's correction)"
    rescored = with_scores(corrected, FakeModel("fake-2"))  # another model: the person's verdict stays
    assert rescored.triage_model == "fake-2" and rescored.signal("safety").source == "correction"
    assert with_correction(rescored, "safety", False).signal("safety").score == 0.0
    with pytest.raises(InvalidData, match="signal: 'safty' is not one of"):
        with_correction(c, "safty", True)


def test_model_scores_are_bounded_and_top_terms_capped() -> None:
    class Wild(FakeModel):
        def score(self, subject: str, body: str) -> dict[str, Scored]:
            return {
                "safety": Scored("safety", 7.0, tuple(f"w{i}" for i in range(40))),
                "urgent": Scored("urgent", float("nan"), ()),
            }

    c = with_scores(RoutingInput("c"), Wild())
    assert c.signal("safety").score == 1.0 and len(c.signal("safety").top_terms) == 5
    assert c.signal("urgent").score == 0.0 and c.signal("privacy") is None


def test_a_model_that_fails_leaves_the_complaint_unscored_and_routable(monkeypatch) -> None:
    def broken(version: str | None = None):
        raise ValueError("corrupt model file")

    monkeypatch.setattr("services.routing.service.load_model", broken)
    c = scored(RoutingInput("c", body="smoke"), "triage-1")
    assert c.signals == () and decide(RULES, DIRECTORY, {}, c).rule_id == "d"


# --- stored inputs -----------------------------------------------------------------------------


def test_signals_round_trip_through_the_stored_json() -> None:
    c = with_correction(
        with_scores(RoutingInput("c", body="smoke burned", subject="flat"), FakeModel()), "urgent", True
    )
    data = input_to_json(c)
    assert data["triage_model"] == "fake-1" and data["signals"][0]["top_terms"] == ["smoke", "burned"]
    assert input_from_json(copy.deepcopy(data)) == c


def test_inputs_stored_before_triage_still_load_unscored() -> None:
    old = input_to_json(RoutingInput("c", body="smoke"))
    del old["signals"], old["triage_model"]
    loaded = input_from_json(old)
    assert (loaded.signals, loaded.triage_model) == ((), "")
    assert scored(loaded, "triage-1").triage_model == "triage-1"  # explain scores it afresh


# --- diff and simulate -------------------------------------------------------------------------


def test_diff_shows_a_model_change_and_a_threshold_change() -> None:
    other = parse_rule_set(rule_set({"safety": {"min": 0.6}}, {"model": "fake-2"}), ("fake-1", "fake-2"))
    changes = [(c.rule_id, c.change, c.details) for c in diff(RULES, other)]
    assert changes == [
        ("triage", "changed", ("triage.model: fake-1 -> fake-2",)),
        ("safety-by-signal", "changed", ("when.signals: [safety ≥ 0.35] -> [safety ≥ 0.6]",)),
    ]


def test_simulate_scores_each_set_with_its_own_model() -> None:
    models = {"fake-1": FakeModel("fake-1"), "fake-2": FakeModel("fake-2", high=0.3)}
    candidate = replace(RULES, version="s-2", triage_model="fake-2")
    complaints = [RoutingInput("a", body="smoke", reference="HQ-A"), RoutingInput("b", body="late parcel")]
    sim = simulate(RULES, candidate, DIRECTORY, complaints, lambda c, v: with_scores(c, models[v]))
    (change,) = sim.changes
    assert (change.reference, change.from_rule, change.to_rule) == ("HQ-A", "safety-by-signal", "d")
    assert sim.team_moves == {"safety-security -> general-care": 1}
    same = simulate(
        RULES, replace(RULES, version="s-3"), DIRECTORY, complaints, lambda c, v: with_scores(c, models[v])
    )
    assert same.changes == () and models["fake-1"].calls == 4  # one model: scored once per complaint


# --- the service on SQLite: scored once in on_received, stored, simulated with corrections -------


class Counting:
    """The shipped model, counting how often it scores."""

    def __init__(self, model):
        self.model, self.version, self.calls = model, model.version, 0

    def score(self, subject: str, body: str):
        self.calls += 1
        return self.model.score(subject, body)


def test_the_service_scores_each_complaint_once_and_simulate_keeps_corrections(tmp_path, monkeypatch) -> None:
    from sqlmodel import Session

    from services.common.codec import new_event
    from services.common.db import create_tables, make_engine
    from services.common.pb.haq.v1 import complaint_pb2, events_pb2
    from services.common.runtime import EventConsumer
    from services.routing.adapters import db
    from services.routing.adapters.files import BUILTIN_RULES
    from services.routing.admin import RoutingAdministration, seed_rule_set
    from services.routing.service import Router, RuleSets

    counting = Counting(scorer.load_model("triage-1"))
    monkeypatch.setattr("services.routing.service.load_model", lambda version=None: counting)
    engine = make_engine(f"sqlite:///{tmp_path / 'routing.db'}")
    create_tables(engine, db.MODELS)
    db.seed_directory(engine, DIRECTORY)
    seed_rule_set(engine, {t.id for t in DIRECTORY.teams})
    router = Router(RuleSets(), default_tenant="default", fallback_directory="default")
    consumer = EventConsumer("routing-lifecycle", "routing", engine, relay=None)
    harm = "The heater in my flat burned my hand and smoke filled the room"
    for cid, body in (("harm", harm), ("marked", "my order is late"), ("plain", "my order is late")):
        msg = events_pb2.ComplaintReceived(
            complaint=complaint_pb2.Complaint(
                id=cid, tenant="default", sector=complaint_pb2.SECTOR_GENERAL, body=body
            )
        )
        assert consumer.apply(
            new_event(msg, source="/test", subject=cid, event_id=f"evt-{cid}"), router.on_received
        )
    assert counting.calls == 3  # once per complaint, whatever the number of rules reading signals
    with Session(engine) as session:
        routed = {cid: db.get_decision(session, cid) for cid in ("harm", "marked", "plain")}
        assert routed["harm"].rule_id == "safety-security-signal"
        stored = input_from_json(routed["harm"].input_json)
        assert stored.triage_model == "triage-1" and stored.signal("safety").score >= 0.5
        # A person marks safety on "marked" (as CorrectTriage stores it).
        marked = routed["marked"]
        marked.input_json = input_to_json(with_correction(input_from_json(marked.input_json), "safety", True))
        session.add(marked)
        session.commit()

    admin = RoutingAdministration(engine, router, router.rule_sets, relay=None)
    builtin = BUILTIN_RULES.read_text(encoding="utf-8")
    stricter = builtin.replace("version: builtin-2", "version: strict").replace(
        "signals: {safety: {min: 0.5}}", "signals: {safety: {min: 0.99}}"
    )
    sim = admin.simulate("default", stricter, "strict.yaml", 10)
    assert sim.complaints == 3 and [c.complaint_id for c in sim.changes] == ["harm"]
    assert counting.calls == 3  # same model: the stored scores are used, not scored again
    assert sim.candidate_rule_hits["safety-security-signal"] == 1  # the corrected one still matches
