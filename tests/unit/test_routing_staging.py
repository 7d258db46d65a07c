"""Which rule set routes a complaint (domain/staging.py), and the safety counts of a simulation
(domain/changes.py): pure code, no database."""

from __future__ import annotations

import uuid
import zlib

import pytest

from services.common.settings import Settings
from services.routing.adapters.files import BUILTIN_RULES, load_directory, parse_rule_set_text
from services.routing.domain.changes import simulate
from services.routing.domain.model import InvalidData, RoutingInput
from services.routing.domain.staging import (
    Choice,
    Pointer,
    Staging,
    bucket,
    choose,
    in_stage,
    parse_staging,
)


def test_the_bucket_is_a_stable_crc32_of_the_id() -> None:
    assert bucket("c-1") == zlib.crc32(b"c-1") % 100 == bucket("c-1")
    assert all(0 <= bucket(str(uuid.uuid4())) < 100 for _ in range(200))


def test_a_percentage_stages_about_that_share_and_the_same_ids_every_time() -> None:
    ids = [f"complaint-{i}" for i in range(5000)]
    staged = [c for c in ids if in_stage(Staging(20), c, "web")]
    assert 900 <= len(staged) <= 1100  # 20% of 5000, give or take
    assert staged == [c for c in ids if in_stage(Staging(20), c, "email")]  # no channel list: any
    assert all(in_stage(Staging(100), c, "phone") for c in ids)
    assert set(staged) <= {c for c in ids if in_stage(Staging(50), c, "web")}  # a wider stage keeps them


def test_listed_channels_only() -> None:
    stage = Staging(100, ("web",))
    assert in_stage(stage, "c-1", "web") and not in_stage(stage, "c-1", "email")


def test_parse_staging_checks_percent_and_channels() -> None:
    assert parse_staging(0, []) == Staging(100, ())
    assert parse_staging(10, ["Web", "web", "chat"]) == Staging(10, ("web", "chat"))
    with pytest.raises(InvalidData, match="staging.percent"):
        parse_staging(101, [])
    with pytest.raises(InvalidData, match=r"staging.channels\[1\]"):
        parse_staging(5, ["web", "fax"])


BUILT_IN = Pointer("default", "builtin-2")


def test_choose_own_stage_then_own_active_then_the_built_in() -> None:
    all_web = Staging(100, ("web",))
    own = Pointer("acme", "acme-1", "acme-2", all_web)
    assert choose(own, BUILT_IN, "c-1", "web") == Choice("acme", "acme-2", True)
    assert choose(own, BUILT_IN, "c-1", "email") == Choice("acme", "acme-1", False)
    # A tenant that has applied nothing (no pointer, or only a stage) inherits the built-in.
    assert choose(None, BUILT_IN, "c-1", "web") == Choice("default", "builtin-2", False)
    only_staged = Pointer("acme", "", "acme-2", all_web)
    assert choose(only_staged, BUILT_IN, "c-1", "email") == Choice("default", "builtin-2", False)
    # A staged built-in version routes its share of every tenant the built-in routes.
    staged_built_in = Pointer("default", "builtin-2", "builtin-3", Staging(100))
    assert choose(None, staged_built_in, "c-1", "web") == Choice("default", "builtin-3", True)
    assert choose(Pointer("acme", "acme-1"), staged_built_in, "c-1", "web") == Choice("acme", "acme-1", False)
    with pytest.raises(LookupError):
        choose(None, Pointer("default"), "c-1", "web")


def test_simulate_counts_team_priority_sla_and_marks_leaving_a_safety_override() -> None:
    builtin = BUILTIN_RULES.read_text(encoding="utf-8")
    baseline = parse_rule_set_text(builtin)
    # The candidate drops the keyword safety override: a gas leak goes to a sector rule instead.
    start = builtin.index("  - id: safety-security\n")
    end = builtin.index("  - id: safety-security-signal\n")
    candidate = parse_rule_set_text(builtin[:start] + builtin[end:].replace("builtin-2", "no-kw"))
    directory = load_directory(Settings().directory_file)
    gas = RoutingInput(complaint_id="g-1", tenant="default", sector="general", body="I smell a gas leak")
    late = RoutingInput(complaint_id="l-1", tenant="default", sector="general", body="my order is late")
    sim = simulate(baseline, candidate, directory, [gas, late])
    (change,) = sim.changes
    assert (
        change.complaint_id == "g-1" and change.leaves_safety_override and not change.enters_safety_override
    )
    assert (sim.team_changed, sim.safety_changed) == (1, 1)
    assert sim.priority_changed == (change.from_priority != change.to_priority)
    assert [c.complaint_id for c in sim.leaving_safety] == ["g-1"]
    back = simulate(candidate, baseline, directory, [gas, late])
    assert back.changes[0].enters_safety_override and not back.leaving_safety
