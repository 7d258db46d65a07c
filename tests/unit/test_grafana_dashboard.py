"""deploy/grafana/haq-dashboard.json: valid JSON, a panel for every metric the services expose,
queries on the templated datasource, and a layout without overlapping panels."""

from __future__ import annotations

import json

from tests.conftest import REPO

DASHBOARD = REPO / "deploy" / "grafana" / "haq-dashboard.json"
METRICS = (
    "haq_outbox_backlog",
    "haq_outbox_relayed_total",
    "haq_events_consumed_total",
    "haq_event_handle_seconds_bucket",
    "haq_complaints_total",
    "haq_sla_breaches_total",
    "haq_notifications_total",
    "haq_consumer_lag",
    "haq_routing_decision_seconds_bucket",
)


def test_every_metric_has_a_panel_on_the_templated_datasource():
    board = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    panels = [p for p in board["panels"] if p["type"] != "row"]
    exprs = [t["expr"] for p in panels for t in p["targets"]]
    for metric in METRICS:
        assert any(metric in e for e in exprs), f"no panel queries {metric}"
    assert all(p["datasource"]["uid"] == "${datasource}" for p in panels)
    assert {v["name"] for v in board["templating"]["list"]} >= {"datasource", "service", "group"}


def test_panels_do_not_overlap():
    board = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    cells: set[tuple[int, int]] = set()
    for p in board["panels"]:
        g = p["gridPos"]
        assert g["x"] + g["w"] <= 24, p["title"]
        mine = {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}
        assert not cells & mine, f"{p['title']} overlaps another panel"
        cells |= mine
