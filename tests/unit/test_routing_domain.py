"""Routing domain: the built-in rule set, Persian normalisation, and owner assignment."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.settings import Settings
from services.routing.adapters.files import load_directory, load_rule_set
from services.routing.domain.assignment import assign
from services.routing.domain.model import (
    ROLES,
    SECTORS,
    Agent,
    AgentLoad,
    Directory,
    InvalidData,
    RoutingInput,
    Team,
    parse_directory,
    with_scores,
)
from services.routing.domain.routing import decide
from services.routing.domain.rules import check_teams, evaluate, parse_rule_set
from services.routing.domain.text import Keyword, normalize, tokens
from services.routing.triage.scorer import load_model

RULES = load_rule_set()
DIRECTORY = load_directory(Settings().directory_file)
MODEL = load_model(RULES.triage_model)  # as the service does: scored once, before the rules


def route(**kw: object):
    complaint = with_scores(RoutingInput(complaint_id="c-1", **kw), MODEL)  # type: ignore[arg-type]
    return decide(RULES, DIRECTORY, {}, complaint)


def test_seeded_directory_staffs_every_team_the_rules_name() -> None:
    assert DIRECTORY.tenant == "default"
    assert check_teams(RULES, {t.id for t in DIRECTORY.teams}) == []
    expected = {
        "general-care",
        "clinical-governance",
        "privacy-office",
        "patient-experience",
        "safeguarding",
        "student-affairs",
        "parent-relations",
        "b2b-accounts",
        "contracts",
        "safety-security",
        "trust-and-safety",
    }
    assert expected <= {t.id for t in DIRECTORY.teams}
    for team in DIRECTORY.teams:
        lead, *agents = team.members
        assert lead.is_lead and team.duty_owner == lead.id
        assert 1 <= len(agents) <= 3


# --- rules -------------------------------------------------------------------------------------

SECTOR_CASES = [
    # (sector, role, text, team, priority, sla_policy, rule_id)
    ("healthcare", "patient", "The waiting room was dirty", "patient-experience", "normal",
     "healthcare-standard", "healthcare-experience"),
    ("healthcare", "patient", "I was given the wrong medication", "clinical-governance", "critical",
     "healthcare-clinical", "healthcare-clinical"),
    ("healthcare", "relative", "Staff disclosed my mother's medical records", "privacy-office", "high",
     "healthcare-privacy", "healthcare-privacy"),
    ("healthcare", "patient", "I was billed twice", "patient-experience", "normal",
     "healthcare-standard", "healthcare-billing"),
    ("education", "student", "My grade appeal was ignored", "student-affairs", "normal",
     "education-standard", "education-student"),
    ("education", "parent", "The school trip was cancelled", "parent-relations", "normal",
     "education-standard", "education-parent"),
    ("education", "parent", "My son is being bullied every day", "safeguarding", "critical",
     "education-safeguarding", "education-safeguarding"),
    ("b2b", "business_contact", "Our dashboard is slow", "b2b-accounts", "normal",
     "b2b-standard", "b2b-account"),
    ("b2b", "business_contact", "You are in breach of our contract", "contracts", "high",
     "b2b-contract", "b2b-contract"),
    ("general", "consumer", "My kettle stopped working", "general-care", "normal", "default",
     "general-consumer"),
    ("", "", "Something went wrong", "general-care", "normal", "default", "default"),
]  # fmt: skip


@pytest.mark.parametrize(("sector", "role", "text", "team", "priority", "sla", "rule_id"), SECTOR_CASES)
def test_sector_rules(
    sector: str, role: str, text: str, team: str, priority: str, sla: str, rule_id: str
) -> None:
    d = route(sector=sector, complainant_role=role, body=text)
    assert (d.team, d.priority, d.sla_policy, d.rule_id) == (team, priority, sla, rule_id)
    assert d.rule_set_version == "builtin-2"
    assert d.owner and not d.owner_is_duty_lead
    assert DIRECTORY.team(team).member(d.owner) is not None  # type: ignore[union-attr]
    assert f"by rule {rule_id}" in d.explanation


OVERRIDE_CASES = [
    ("healthcare", "patient", "Wrong medication, and a nurse threatened me"),
    ("b2b", "business_contact", "Contract aside, our account was hacked"),
    ("general", "consumer", "The heater is unsafe and caught fire"),
    ("healthcare", "patient", "پرستار مرا تهدید کرد و داروی اشتباه داد"),
]


@pytest.mark.parametrize(("sector", "role", "text"), OVERRIDE_CASES)
def test_safety_override_beats_every_sector_rule(sector: str, role: str, text: str) -> None:
    d = route(sector=sector, complainant_role=role, body=text)
    assert (d.team, d.priority, d.rule_id) == ("safety-security", "critical", "safety-security")
    assert d.sla_policy == "safety-critical"
    assert "safety-override" in d.tags
    assert "beats every sector rule" in d.explanation


@pytest.mark.parametrize(
    ("role", "text"),
    [
        ("parent", "A boy brought a knife and bullied my daughter"),
        ("student", "در مدرسه مرا کتک زدند و آزارم دادند"),
    ],
)
def test_at_school_a_child_at_risk_goes_to_the_safeguarding_lead_before_the_safety_team(
    role: str, text: str
) -> None:
    """builtin-2: education's safeguarding override comes before the generic safety override."""
    d = route(sector="education", complainant_role=role, body=text)
    assert (d.team, d.priority, d.sla_policy) == ("safeguarding", "critical", "education-safeguarding")
    assert d.rule_id == "education-safeguarding" and "beats every sector rule" in d.explanation
    assert route(sector="healthcare", body=text).team == "safety-security"  # elsewhere: the safety team


def test_override_is_evaluated_first_whatever_the_file_order() -> None:
    ev = evaluate(RULES, RoutingInput("c", sector="healthcare", body="wrong medication and a gun"))
    assert [t.rule_id for t in ev.considered] == [
        "education-safeguarding",  # another sector's override: considered, not applicable
        "education-safeguarding-signal",
        "safety-security",
    ]


def test_explanation_lists_rules_considered_and_why_the_winner_matched() -> None:
    d = route(sector="education", complainant_role="parent", body="the timetable is unclear")
    assert "safety-security (override): no" in d.explanation
    assert "education-safeguarding (override): no (mentions none of its" in d.explanation
    assert "education-parent: matched (sector is education, complainant is parent)" in d.explanation
    assert "Not applicable to sector education: healthcare-clinical" in d.explanation
    assert "Owner: " in d.explanation


def test_fraud_flag_adds_tags_but_keeps_the_team_and_owner() -> None:
    d = route(sector="general", body="This shop is a scam")
    assert d.team == "general-care" and d.owner
    assert "trust-and-safety-review" in d.tags
    assert "trust-and-safety" in d.keep_informed


# --- Persian normalisation ---------------------------------------------------------------------

NORMALISE_CASES = [
    ("داروي اشتباه", "داروی اشتباه"),  # Arabic yeh
    ("كودك", "کودک"),  # Arabic kaf
    ("می\u200cخواهم", "می خواهم"),  # ZWNJ becomes a word break
    ("دَارُوی", "داروی"),  # diacritics dropped
    ("۱۲۳ و ١٢٣", "123 و 123"),  # Persian and Arabic-Indic digits
    ("خـــطر", "خطر"),  # tatweel
    ("Wrong  MEDICATION", "wrong medication"),
]


@pytest.mark.parametrize(("raw", "expected"), NORMALISE_CASES)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    ("keyword", "text", "found"),
    [
        ("داروی اشتباه", "به من داروي اشتباه دادند", True),  # Arabic keyboard spelling
        ("کودک آزاری", "موضوع كودك\u200cآزاري است", True),  # Arabic letters + ZWNJ
        ("تهدید*", "او مرا تهدیدم کرد", True),  # prefix: attached suffix
        ("تهدید", "او مرا تهدیدم کرد", False),  # whole word only
        ("harm", "the pharmacy closed", False),  # never inside another word
        ("threat*", "He threatened me", True),
        ("wrong medication", "the medication was wrong", False),  # phrase order matters
    ],
)
def test_keyword_matching(keyword: str, text: str, found: bool) -> None:
    words = tokens(text)
    assert Keyword.parse(keyword).found_in(words, frozenset(words)) is found


def test_persian_complaint_with_arabic_letters_is_routed_by_persian_keywords() -> None:
    d = route(sector="healthcare", complainant_role="patient", body="پزشك داروي اشتباه تجويز كرد")
    assert (d.team, d.rule_id) == ("clinical-governance", "healthcare-clinical")
    d = route(sector="education", complainant_role="parent", body="دخترم در مدرسه قلدري را تجربه كرد")
    assert d.team == "safeguarding"


# --- assignment --------------------------------------------------------------------------------


def _team(*agents: Agent) -> Team:
    lead = Agent("lead", "Lead", "t", capacity=5, presence="online", is_lead=True)
    return Team("t", "T", duty_owner="lead", members=(lead, *agents))


A = Agent("a", "A", "t", capacity=4, presence="online")
B = Agent("b", "B", "t", capacity=2, presence="online")
C = Agent("c", "C", "t", capacity=4, presence="online")

ASSIGN_CASES = [
    # (agents, loads, previous owners, expected owner, duty lead?)
    ((A, B), {}, (), "a", False),  # tie on load and history: by id
    ((A, B), {"a": AgentLoad(2, 2)}, (), "b", False),  # a is half full, b empty
    ((A, B), {"a": AgentLoad(2, 2), "b": AgentLoad(1, 5)}, (), "a", False),  # both half full: fewer so far
    ((A, C), {"a": AgentLoad(1, 9), "c": AgentLoad(1, 3)}, (), "c", False),  # same load: fewer so far
    ((A, B), {"a": AgentLoad(4, 4), "b": AgentLoad(2, 2)}, (), "lead", True),  # everyone full
    ((replace(A, presence="away"), replace(B, presence="offline")), {}, (), "lead", True),  # nobody online
    ((), {}, (), "lead", True),  # a team with no agents
    ((A, B), {"b": AgentLoad(1, 1)}, ("b",), "b", False),  # previous owner preferred over less loaded a
    ((A, B), {"b": AgentLoad(2, 2)}, ("b",), "a", False),  # previous owner full: least-loaded instead
    ((A, replace(B, presence="away")), {}, ("b",), "a", False),  # previous owner away
    ((A, B), {}, ("someone-elsewhere", "b"), "b", False),  # not in the team: skipped, next one used
    ((A, B), {"a": AgentLoad(4, 4), "b": AgentLoad(2, 2)}, ("a",), "lead", True),  # previous full too
]


@pytest.mark.parametrize(("agents", "loads", "previous", "owner", "duty"), ASSIGN_CASES)
def test_assign(
    agents: tuple[Agent, ...], loads: dict, previous: tuple[str, ...], owner: str, duty: bool
) -> None:
    a = assign(_team(*agents), loads, previous)
    assert (a.owner, a.owner_is_duty_lead) == (owner, duty)


def test_duty_owner_when_every_agent_of_the_team_is_full() -> None:
    team = DIRECTORY.team("clinical-governance")
    assert team is not None
    full = {a.id: AgentLoad(a.capacity, a.capacity) for a in team.members}
    d = decide(RULES, DIRECTORY, full, RoutingInput("c-9", sector="healthcare", body="wrong dose given"))
    assert (d.team, d.owner, d.owner_is_duty_lead) == ("clinical-governance", team.duty_owner, True)
    assert "duty owner" in d.explanation


def test_previous_owner_of_a_returning_customer_is_preferred() -> None:
    team = DIRECTORY.team("patient-experience")
    assert team is not None
    loads = {"ali.rezaei": AgentLoad(3, 10)}  # more loaded than zahra.moradi
    d = decide(
        RULES,
        DIRECTORY,
        loads,
        RoutingInput("c-7", sector="healthcare", body="rude reception", previous_owners=("ali.rezaei",)),
    )
    assert (d.team, d.owner, d.owner_is_duty_lead) == ("patient-experience", "ali.rezaei", False)
    assert "handled this customer before" in d.explanation
    d = decide(RULES, DIRECTORY, loads, RoutingInput("c-8", sector="healthcare", body="rude reception"))
    assert d.owner == "zahra.moradi"


def test_a_team_missing_from_the_directory_falls_back_to_the_default_team() -> None:
    smaller = Directory("default", tuple(t for t in DIRECTORY.teams if t.id != "contracts"))
    d = decide(RULES, smaller, {}, RoutingInput("c", sector="b2b", body="contract dispute"))
    assert d.team == "general-care" and d.owner and d.rule_id == "b2b-contract"
    assert "not in the directory" in d.explanation


# --- properties --------------------------------------------------------------------------------

SAFETY_WORDS = ["threatened", "a knife", "bomb", "تهدیدم", "چاقو", "خودکشي"]
words = st.sampled_from(
    ["wrong", "medication", "contract", "bullied", "grade", "bill", "privacy", "scam", "hello", "قرارداد",
     "داروی", "اشتباه", "كودك", "آزاري", "مدرسه", "refund", "۱۲", "\u200c"]
)  # fmt: skip
complaints = st.builds(
    RoutingInput,
    complaint_id=st.just("c"),
    sector=st.sampled_from(("", *SECTORS)),
    complainant_role=st.sampled_from(("", *ROLES)),
    body=st.lists(words | st.text(max_size=8), max_size=12).map(" ".join),
    previous_owners=st.lists(
        st.sampled_from([a.id for t in DIRECTORY.teams for a in t.members]), max_size=2
    ).map(tuple),
)
team_loads = st.dictionaries(
    st.sampled_from([a.id for t in DIRECTORY.teams for a in t.members]),
    st.builds(AgentLoad, st.integers(0, 12), st.integers(0, 50)),
)


@settings(max_examples=300, deadline=None)
@given(complaints, team_loads)
def test_every_complaint_gets_a_team_and_an_owner_in_that_team(complaint: RoutingInput, loads: dict) -> None:
    d = decide(RULES, DIRECTORY, loads, with_scores(complaint, MODEL))
    team = DIRECTORY.team(d.team)
    assert team is not None and d.owner and team.member(d.owner) is not None
    if d.owner_is_duty_lead:
        assert d.owner == team.duty_owner


@settings(max_examples=200, deadline=None)
@given(complaints, st.sampled_from(SAFETY_WORDS))
def test_safety_override_always_wins(complaint: RoutingInput, signal: str) -> None:
    scored = with_scores(replace(complaint, body=f"{complaint.body} {signal}"), MODEL)
    d = decide(RULES, DIRECTORY, {}, scored)
    if complaint.sector == "education":  # a child at risk at school: the safeguarding lead, or safety
        assert d.priority == "critical" and d.rule_id in EDUCATION_OVERRIDES, d.rule_id
    else:
        assert (d.team, d.priority, d.rule_id) == ("safety-security", "critical", "safety-security")


EDUCATION_OVERRIDES = ("education-safeguarding", "education-safeguarding-signal", "safety-security")


# --- validation --------------------------------------------------------------------------------

BASE_RULES = {
    "version": "t-1",
    "rules": [
        {
            "id": "r1",
            "when": {"sectors": ["b2b"]},
            "then": {"team": "x", "priority": "high", "sla_policy": "p"},
        }
    ],
    "default": {"id": "d", "then": {"team": "x", "priority": "normal", "sla_policy": "p"}},
}


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("rules", 0, "then", "priority"), "urgent", "rules[0].then.priority"),
        (("rules", 0, "when"), {"colour": ["red"]}, "rules[0].when.colour"),
        (("rules", 0, "when"), {}, "rules[0].when"),
        (("rules", 0, "when"), {"sectors": ["space"]}, "rules[0].when.sectors"),
        (("rules", 0, "then", "team"), "", "rules[0].then.team"),
        (("default", "when"), {"sectors": ["b2b"]}, "default.when"),
        (("rules", 0, "id"), "d", "default.id"),
    ],
)
def test_rule_set_errors_name_the_field(path: tuple, value: object, field: str) -> None:
    import copy

    data = copy.deepcopy(BASE_RULES)
    target = data
    for key in path[:-1]:
        target = target[key]  # type: ignore[index]
    target[path[-1]] = value  # type: ignore[index]
    with pytest.raises(InvalidData) as exc:
        parse_rule_set(data)
    assert exc.value.path == field


def test_directory_errors_name_the_field() -> None:
    team = {"id": "t", "lead": {"id": "l", "capacity": 1, "presence": "online"}, "agents": []}
    with pytest.raises(InvalidData, match=r"teams\[0\]\.agents\[0\]\.presence"):
        parse_directory(
            {"tenant": "x", "teams": [{**team, "agents": [{"id": "a", "capacity": 1, "presence": "busy"}]}]}
        )
    with pytest.raises(InvalidData, match=r"teams\[1\]\.lead\.id: agent 'l' already belongs to 't'"):
        parse_directory({"tenant": "x", "teams": [team, {**team, "id": "u"}]})
    with pytest.raises(InvalidData, match=r"teams\[0\]\.lead"):
        parse_directory({"tenant": "x", "teams": [{"id": "t"}]})
