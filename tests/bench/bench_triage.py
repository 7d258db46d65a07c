"""Triage figures (printed, never asserted): the shipped model's precision and recall per signal on
the corpus's held-out split (overall and by language, at the model's recommended thresholds, recall
as a ratio of its target), the pure-Python scorer's time per complaint (p50/p99), and which team
the real routing rules send each held-out complaint to, against the team its labels call for.

Expected team from the labels (the first that applies):
  education + safeguarding  -> safeguarding
  safety                    -> safety-security
  healthcare + privacy      -> privacy-office
  otherwise                 -> the sector's own teams (general-care; healthcare: patient-experience
                               or clinical-governance; education: student-affairs or
                               parent-relations; b2b: b2b-accounts or contracts), counted as one
                               class "sector team" since the labels do not say which of them.
Routing goes through the public domain API: `services.routing.domain.routing.outcome` with the
seed rule set (services/routing/seed/rules.yaml) and directory (services/routing/seed/directory.yaml),
once with keywords only and, where the domain has `model.with_scores` (signal conditions), with the
complaint scored by the shipped model first: under the seed's own signal minimums, and under the
same rules with each minimum set to the model's recommended threshold for that signal.
"""

from __future__ import annotations

import random
import re
import statistics
import string
import time
from collections import Counter
from collections.abc import Callable

from services.routing.adapters.files import (
    BUILTIN_RULES,
    SEED,
    load_directory,
    load_rule_set,
    parse_rule_set_text,
)
from services.routing.domain import model as domain_model
from services.routing.domain.model import RoutingInput
from services.routing.domain.routing import outcome
from services.routing.triage import SIGNALS, load_model
from services.routing.triage.corpus import CORPUS, LANGUAGES, RECALL_TARGETS, Item, evaluate, read_corpus
from services.routing.triage.scorer import MODELS_DIR, load_model_file

SIGNAL_TEAMS = ("safeguarding", "safety-security", "privacy-office")
SECTOR_TEAM = "sector team"
# The corpus's roles in the routing vocabulary (services/routing/domain/model.py ROLES).
ROLES = {
    "customer": "consumer",
    "patient": "patient",
    "relative": "relative",
    "parent": "parent",
    "student": "student",
    "employee": "staff",
    "business": "business_contact",
}
ROUNDS = 5
_SIGNAL_MINIMUM = re.compile(r"signals: \{(\w+): \{min: [0-9.]+\}\}")


def expected_team(item: Item) -> str:
    labels = item.labels
    if item.sector == "education" and labels["safeguarding"]:
        return "safeguarding"
    if labels["safety"]:
        return "safety-security"
    if item.sector == "healthcare" and labels["privacy"]:
        return "privacy-office"
    return SECTOR_TEAM


def routing_input(item: Item) -> RoutingInput:
    return RoutingInput(
        complaint_id=item.id,
        sector=item.sector,
        complainant_role=ROLES.get(item.role, ""),
        channel=item.channel,
        language=item.language,
        subject=item.subject,
        body=item.body,
    )


def _ratio(value: float | None, target: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.3f}" + (f" ({value / target:.2f} of target {target})" if target else "")


def signal_figures() -> None:
    model = load_model()
    items, corpus_hash = read_corpus(CORPUS)
    heldout = [i for i in items if i.split == "heldout"]
    print(
        f"model {model.version} ({(MODELS_DIR / f'{model.version}.json').stat().st_size:,} bytes, "
        f"{len(model.weights):,} features); corpus {len(items)} items, held-out {len(heldout)} "
        f"(fa {sum(i.language == 'fa' for i in heldout)}, en {sum(i.language == 'en' for i in heldout)}); "
        f"model trained on the current corpus: {model.trained_on.get('corpus_sha256') == corpus_hash}"
    )
    figures = evaluate(model, heldout)
    for signal in SIGNALS:
        f = figures[signal]
        target = RECALL_TARGETS.get(signal)
        for scope, c in (("all", f["overall"]), *((lang, f["by_language"][lang]) for lang in LANGUAGES)):
            print(
                f"  {signal:13s} {scope:3s} threshold {f['threshold']:.3f}  positives {c['positives']:3d}/{c['items']:3d}  "
                f"precision {_ratio(c['precision'], None):5s}  recall {_ratio(c['recall'], target)}  "
                f"f1 {_ratio(c['f1'], None)}"
            )


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def latency() -> None:
    items, _ = read_corpus(CORPUS)
    fresh = load_model_file(MODELS_DIR / f"{load_model().version}.json")  # its word cache is empty
    for label, rounds in (("first pass (word cache cold)", 1), (f"{ROUNDS} more passes (warm)", ROUNDS)):
        times = []
        for _ in range(rounds):
            for i in items:
                started = time.perf_counter()
                fresh.score(i.subject, i.body)
                times.append(time.perf_counter() - started)
        print(
            f"  scorer, {label}: p50 {statistics.median(times) * 1e3:.3f} ms  "
            f"p99 {_percentile(times, 0.99) * 1e3:.3f} ms  max {max(times) * 1e3:.3f} ms per complaint "
            f"({len(times)} scores; target p99 <= 1 ms: {_percentile(times, 0.99) * 1e3:.2f}x)"
        )
    rng = random.Random(11)
    worst = " ".join("".join(rng.choices(string.ascii_lowercase, k=9)) for _ in range(600))
    started = time.perf_counter()
    fresh.score("", worst)
    print(
        f"  worst case, {len(worst):,} chars of unseen words (cut to 4,000): "
        f"{(time.perf_counter() - started) * 1e3:.2f} ms"
    )


def at_recommended_thresholds(model_thresholds: dict[str, float]) -> str | None:
    """The seed rules' text with every `signals: {name: {min: x}}` set to the model's recommended
    threshold for that signal (None when the seed rules have no signal conditions)."""
    text = BUILTIN_RULES.read_text(encoding="utf-8")
    if not _SIGNAL_MINIMUM.search(text):
        return None
    return _SIGNAL_MINIMUM.sub(
        lambda m: f"signals: {{{m.group(1)}: {{min: {model_thresholds[m.group(1)]:.4f}}}}}", text
    )


def routed_teams() -> None:
    directory = load_directory(SEED / "directory.yaml")
    items, _ = read_corpus(CORPUS)
    heldout = [i for i in items if i.split == "heldout"]
    model = load_model()
    seed = load_rule_set()
    ways: list[tuple[str, object, Callable[[RoutingInput], RoutingInput]]] = [
        ("keywords only", seed, lambda c: c)
    ]
    with_scores = getattr(domain_model, "with_scores", None)
    if with_scores is None:
        print("  (the routing domain has no model.with_scores yet: signal conditions cannot be used)")
    else:
        ways.append(
            (f"scored by {model.version} first (model.with_scores)", seed, lambda c: with_scores(c, model))
        )
        recommended = at_recommended_thresholds(dict(model.thresholds))
        if recommended is not None:
            ways.append(
                (
                    f"scored by {model.version}, signal minimums at its recommended thresholds",
                    parse_rule_set_text(recommended),
                    lambda c: with_scores(c, model),
                )
            )
    for name, rule_set, prepare in ways:
        confusion: Counter[tuple[str, str]] = Counter()
        for item in heldout:
            team = outcome(rule_set, directory, prepare(routing_input(item))).team.id
            confusion[(expected_team(item), team if team in SIGNAL_TEAMS else SECTOR_TEAM)] += 1
        print(f"  routed teams, rule set {rule_set.version}, {name}: expected (rows) x routed (columns)")
        classes = (*SIGNAL_TEAMS, SECTOR_TEAM)
        print("    " + " " * 16 + "".join(f"{c:>17s}" for c in classes))
        for expected in classes:
            row = [confusion[(expected, routed)] for routed in classes]
            total = sum(row)
            right = confusion[(expected, expected)]
            target = {"safety-security": 0.98, "safeguarding": 0.95, "privacy-office": 0.95}.get(expected)
            share = f"  recall {_ratio(right / total, target)}" if total else ""
            print(f"    {expected:16s}" + "".join(f"{n:17d}" for n in row) + f"   ({total} items){share}")


REVIEWS = {  # signal -> (the team that acts on it, the flag that tells its lead to review)
    "safety": ("safety-security", "safety-review"),
    "safeguarding": ("safeguarding", "safeguarding-review"),
}


def review_reach() -> None:
    """With the seed rules as shipped (overrides at 0.5, review flags at the model's thresholds):
    of the held-out items labelled with a signal, the share the designated team acts on at once
    (routed there) and the share its lead sees at all (routed there, or flagged for review); of the
    items without that label, the share sent there wrongly and the share flagged (review load)."""
    directory = load_directory(SEED / "directory.yaml")
    items, _ = read_corpus(CORPUS)
    heldout = [i for i in items if i.split == "heldout"]
    model, rules = load_model(), load_rule_set()
    for signal, (team, tag) in REVIEWS.items():
        positives = [i for i in heldout if i.labels[signal]]
        negatives = [i for i in heldout if not i.labels[signal]]
        if signal == "safeguarding":  # the review flag and the designated lead are education's
            positives = [i for i in positives if i.sector == "education"]
            negatives = [i for i in negatives if i.sector == "education"]
        if not positives or not negatives:
            continue

        def seen(item: Item, team: str = team, tag: str = tag) -> tuple[bool, bool]:
            out = outcome(rules, directory, domain_model.with_scores(routing_input(item), model))
            return out.team.id == team, tag in out.tags

        pos = [seen(i) for i in positives]
        neg = [seen(i) for i in negatives]
        routed = sum(r for r, _ in pos) / len(pos)
        reached = sum(r or f for r, f in pos) / len(pos)
        target = RECALL_TARGETS.get(signal)
        print(
            f"  {signal} ({len(positives)} held-out positives, {len(negatives)} negatives): routed to {team} "
            f"{routed:.2f}; routed or flagged {tag} {_ratio(reached, target)}; negatives routed there "
            f"{sum(r for r, _ in neg) / len(neg):.2f}, flagged for review {sum(f and not r for r, f in neg) / len(neg):.2f}"
        )


def run() -> None:
    signal_figures()
    latency()
    routed_teams()
    review_reach()
