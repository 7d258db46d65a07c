"""Triage corrections, the pure parts: request validation, corrections applied as signals through
the ordinary decision path, the explanation line, the corpus export, the case file's line.
(Escalation's side: tests/unit/test_escalation_reclassification.py.)"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from services.common.settings import Settings
from services.routing.adapters.files import load_directory, load_rule_set
from services.routing.corrections import (
    MAX_REASON,
    Correction,
    apply_corrections,
    check_request,
    corpus_records,
    correction_note,
    model_score,
    routed_text,
)
from services.routing.domain.model import SIGNALS, InvalidData, RoutingInput, SignalScore, with_scores
from services.routing.domain.routing import decide
from services.routing.triage.scorer import load_model

RULES = load_rule_set()
DIRECTORY = load_directory(Settings().directory_file)
MODEL = load_model(RULES.triage_model) if RULES.triage_model else None
NOON = datetime(2025, 3, 4, 8, 30, tzinfo=UTC)
ORDINARY = dict(sector="general", complainant_role="consumer", subject="Late delivery",
                body="I was charged twice for my subscription this month and want a refund.")  # fmt: skip


def ordinary(scored: bool = False) -> RoutingInput:
    """Unscored by default, so what the rules see of safety is only the correction (the
    provisional model's opinions of everyday text move as it is retrained)."""
    complaint = RoutingInput(complaint_id="c-1", **ORDINARY)  # type: ignore[arg-type]
    return with_scores(complaint, MODEL) if scored and MODEL is not None else complaint


# --- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("", "safety", True, "why", ""), "complaint"),
        (("c" * 65, "safety", True, "why", ""), "complaint"),
        (("c-1", "danger", True, "why", ""), "signal"),
        (("c-1", "", True, "why", ""), "signal"),
        (("c-1", "safety", True, "", ""), "reason"),
        (("c-1", "safety", True, "x" * (MAX_REASON + 1), ""), "reason"),
        (("c-1", "safety", True, "bad\x00byte", ""), "reason"),
        (("c-1", "safety", True, "why", "two words"), "request_id"),
        (("c-1", "safety", True, "why", "r" * 129), "request_id"),
    ],
)
def test_a_bad_request_is_refused_naming_the_field(args, field):
    with pytest.raises(InvalidData) as caught:
        check_request(*args)
    assert caught.value.path == field


def test_a_good_request_is_trimmed_and_a_clear_needs_no_reason():
    assert check_request(" c-1 ", " Safety ", True, " a knife ", "r-1") == ("c-1", "safety", "a knife", "r-1")
    assert check_request("c-1", "urgent", False, "", "") == ("c-1", "urgent", "", "")


# --- corrections as signals --------------------------------------------------------------------


def test_a_marked_signal_scores_one_and_the_latest_correction_of_a_signal_wins():
    base = ordinary(scored=True)
    marked = apply_corrections(base, [Correction("safety", True, "lead-1", "knife")])
    assert marked.signal("safety") == SignalScore(
        "safety", 1.0, marked.signal("safety").top_terms, "correction"
    )
    cleared = apply_corrections(
        base, [Correction("safety", True, "lead-1", "knife"), Correction("safety", False, "lead-2")]
    )
    assert (cleared.signal("safety").score, cleared.signal("safety").source) == (0.0, "correction")
    # Signals nobody corrected keep the model's scores.
    for name in SIGNALS:
        if name != "safety" and base.signal(name) is not None:
            assert marked.signal(name) == base.signal(name)


def test_the_model_score_is_what_the_model_said_before_any_correction():
    base = ordinary(scored=True)
    said = base.signal("safety").score if base.signal("safety") else 0.0
    assert model_score(base, "safety") == said
    marked = apply_corrections(base, [Correction("safety", True, "lead-1", "knife")])
    assert model_score(marked, "safety") == 0.0  # a correction is not the model's opinion

    @dataclass
    class Row:
        signal: str
        model_score: float

    assert model_score(marked, "safety", [Row("privacy", 0.9), Row("safety", 0.12)]) == 0.12


def test_a_safety_correction_routes_an_ordinary_complaint_to_the_safety_team_through_the_rules():
    before = decide(RULES, DIRECTORY, {}, ordinary(), NOON)
    assert before.team != "safety-security"
    after = decide(
        RULES, DIRECTORY, {}, apply_corrections(ordinary(), [Correction("safety", True, "lead-1", "x")]), NOON
    )
    assert (after.team, after.priority, after.sla_policy) == (
        "safety-security",
        "critical",
        "safety-critical",
    )
    # Cleared again: back where the rules put it.
    again = apply_corrections(
        ordinary(), [Correction("safety", True, "lead-1", "x"), Correction("safety", False, "lead-1")]
    )
    assert decide(RULES, DIRECTORY, {}, again, NOON).team == before.team


def test_the_explanation_line_names_the_correction_who_made_it_and_the_move():
    after = decide(
        RULES, DIRECTORY, {}, apply_corrections(ordinary(), [Correction("safety", True, "lead-1", "x")]), NOON
    )
    note = correction_note(
        Correction("safety", True, "lead-1", "a knife was shown"), "general-care", after, True
    )
    assert "Triage corrected by lead-1: safety marked present (a knife was shown)." in note
    assert "from general-care to safety-security at priority critical with SLA policy safety-critical" in note
    same = correction_note(Correction("urgent", False, "agent-3"), after.team, after, False)
    assert same.startswith("Triage corrected by agent-3: urgent cleared.") and "The decision stands" in same


# --- the corpus export -------------------------------------------------------------------------


@dataclass
class FakeCorrection:  # the fields of routing_pb2.TriageCorrection the export reads
    complaint_id: str
    signal: str
    present: bool
    corrected_by: str
    corrected_at: Timestamp
    text: str
    language: str = "en"
    sector: str = ""


def _at(minutes: int) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(NOON + timedelta(minutes=minutes))
    return ts


def test_corrections_export_as_one_corpus_line_per_complaint_with_the_labels_people_set():
    text = routed_text(RoutingInput(complaint_id="c-1", subject="Late\ndelivery", body="Body\nline two"))
    assert text == "Late delivery\nBody\nline two"
    records = corpus_records(
        [
            FakeCorrection("c-1", "safety", False, "lead-2", _at(5), text),
            FakeCorrection("c-1", "safety", True, "lead-1", _at(1), text),
            FakeCorrection("c-1", "urgent", True, "lead-1", _at(2), text),
            FakeCorrection("c-2", "privacy", True, "agent-3", _at(3), "Subject\nBody", "fa", "healthcare"),
        ]
    )
    assert [r["id"] for r in records] == ["corr-c-1", "corr-c-2"]
    first = records[0]
    assert first["labels"] == {"safety": 0, "safeguarding": 0, "privacy": 0, "fraud_abuse": 0, "urgent": 1}
    assert (first["subject"], first["body"], first["split"], first["sector"]) == (
        "Late delivery",
        "Body\nline two",
        "train",
        "general",
    )
    assert set(first) == {"id", "group", "language", "sector", "role", "channel", "subject", "body",
                          "labels", "split", "note"}  # fmt: skip
    assert "lead-1, lead-2" in first["note"] and "privacy" in first["note"]  # who, and what was not reviewed
    assert records[1]["labels"]["privacy"] == 1 and records[1]["language"] == "fa"


def test_the_case_file_shows_a_correction_without_its_free_text_reason():
    from services.intake.domain.casefile import CASE_FILE_EVENTS, summarize

    assert "TriageCorrected" in CASE_FILE_EVENTS
    marked = {
        "signal": "safety",
        "present": True,
        "corrected_by": "lead-1",
        "reason": "a knife",
        "team": "safety-security",
    }
    assert (
        summarize("TriageCorrected", marked)
        == "Triage corrected by lead-1: safety marked; now with safety-security"
    )
    cleared = {"signal": "fraud_abuse", "corrected_by": "agent-3"}  # present false is absent from the JSON
    assert summarize("TriageCorrected", cleared) == "Triage corrected by agent-3: fraud abuse cleared"
    assert "knife" not in summarize("TriageCorrected", marked)
