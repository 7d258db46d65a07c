"""The seeded files of different services name the same people and policies: keep them in step."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _directory() -> dict:
    return yaml.safe_load((ROOT / "services/routing/seed/directory.yaml").read_text())


def test_everyone_escalations_reach_has_an_address():
    """Routing gives agents' and leads' addresses; managers and directors are not agents, so the
    notifications seed must know where to reach them, or an escalation would fail to notify."""
    staff = yaml.safe_load((ROOT / "services/notifications/seed/tenants.yaml").read_text())["tenants"][
        "default"
    ]["staff"]
    missing = []
    for team in _directory()["teams"]:
        for person in [team["lead"], *team.get("agents", [])]:
            if not (person.get("email") or staff.get(person["id"], {}).get("email")):
                missing.append(person["id"])
        for rung in ("manager", "director"):
            pid = team.get(rung)
            if pid and not staff.get(pid, {}).get("email"):
                missing.append(pid)
    assert missing == []


def test_the_fallback_ladder_mirrors_the_directory():
    ladder = yaml.safe_load((ROOT / "services/escalation/seed/ladder.yaml").read_text())
    for team in _directory()["teams"]:
        rungs = ladder["teams"].get(team["id"])
        assert rungs is not None, f"{team['id']} has no fallback ladder"
        assert (rungs["lead"], rungs["manager"], rungs["director"]) == (
            team["lead"]["id"],
            team["manager"],
            team["director"],
        ), team["id"]
