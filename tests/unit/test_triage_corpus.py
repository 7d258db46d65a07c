"""The labelled triage corpus (services/routing/triage/data/corpus.jsonl) is well formed, balanced
enough to train and evaluate on, and its held-out split cannot leak from the training split."""

from __future__ import annotations

import importlib.util
import json
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "services/routing/triage/data"
CORPUS = DATA / "corpus.jsonl"

KEYS = {"id", "group", "language", "sector", "role", "channel", "subject", "body", "labels", "split", "note"}
LABELS = ("safety", "safeguarding", "privacy", "fraud_abuse", "urgent")
LANGUAGES = {"fa", "en"}
SECTORS = {"healthcare", "education", "b2b", "general"}
ROLES = {"customer", "patient", "student", "parent", "relative", "business", "employee", "other"}
CHANNELS = {"web", "email", "chat", "social", "phone", "partner"}
SPLITS = {"train", "heldout"}
MIN_POSITIVES = {"safety": 150, "safeguarding": 60, "privacy": 80, "fraud_abuse": 80, "urgent": 80}


@pytest.fixture(scope="module")
def records() -> list[dict]:
    lines = CORPUS.read_text(encoding="utf-8").splitlines()
    out = []
    for number, line in enumerate(lines, start=1):
        assert line.strip(), f"blank line {number}"
        out.append(json.loads(line))
    return out


def _normalised(text: str) -> str:
    """What a variant differs by (keyboard, ZWNJ, digits, case, punctuation) removed, so
    near-duplicates in different splits are caught too."""
    text = text.translate(str.maketrans({"ي": "ی", "ك": "ک", "\u200c": " "}))
    text = text.translate(str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789")).lower()
    return " ".join(re.sub(r"[^\w ]", " ", text).split())


def test_every_record_has_exactly_the_schema(records):
    for record in records:
        where = record.get("id", "?")
        assert set(record) == KEYS, where
        assert re.fullmatch(r"c\d{4}", record["id"]), where
        assert re.fullmatch(r"g\d{4}", record["group"]), where
        assert record["language"] in LANGUAGES, where
        assert record["sector"] in SECTORS, where
        assert record["role"] in ROLES, where
        assert record["channel"] in CHANNELS, where
        assert record["split"] in SPLITS, where
        assert set(record["labels"]) == set(LABELS), where
        assert all(type(v) is int and v in (0, 1) for v in record["labels"].values()), where
        assert isinstance(record["subject"], str) and isinstance(record["note"], str), where
        assert isinstance(record["body"], str) and record["body"].strip(), where


def test_sizes_are_within_limits(records):
    for record in records:
        assert len(record["subject"]) <= 200, record["id"]
        assert len(record["body"]) <= 2000, record["id"]
        assert len(record["note"]) <= 300, record["id"]


def test_ids_are_unique(records):
    ids = Counter(r["id"] for r in records)
    assert [i for i, n in ids.items() if n > 1] == []


def test_size_languages_and_sectors(records):
    assert len(records) >= 600
    languages = Counter(r["language"] for r in records)
    assert set(languages) == LANGUAGES
    # Roughly half each: neither language below 40 % of the corpus.
    assert min(languages.values()) >= 0.4 * len(records), languages
    for language in LANGUAGES:
        sectors = {r["sector"] for r in records if r["language"] == language}
        assert sectors == SECTORS, (language, sectors)


@pytest.mark.parametrize("label", LABELS)
def test_every_label_has_positives_and_negatives_everywhere(records, label):
    positives = [r for r in records if r["labels"][label]]
    assert len(positives) >= MIN_POSITIVES[label], (label, len(positives))
    for split in SPLITS:
        in_split = [r for r in records if r["split"] == split]
        assert any(r["labels"][label] for r in in_split), (label, split, "no positive")
        assert any(not r["labels"][label] for r in in_split), (label, split, "no negative")
        for language in LANGUAGES:
            assert any(r["labels"][label] for r in in_split if r["language"] == language), (
                label,
                split,
                language,
            )


def test_enough_heldout_safety_positives(records):
    heldout_safety = [r for r in records if r["split"] == "heldout" and r["labels"]["safety"]]
    assert len(heldout_safety) >= 25


def test_hard_negatives_exist(records):
    """Items with no label at all are what teaches a model that tone is not danger."""
    for language in LANGUAGES:
        negatives = [r for r in records if r["language"] == language and not any(r["labels"].values())]
        assert len(negatives) >= 60, (language, len(negatives))


def test_groups_never_straddle_splits_and_share_labels(records):
    splits, labels = defaultdict(set), defaultdict(set)
    for record in records:
        splits[record["group"]].add(record["split"])
        labels[record["group"]].add(tuple(record["labels"][name] for name in LABELS))
    assert [g for g, s in splits.items() if len(s) > 1] == []
    assert [g for g, s in labels.items() if len(s) > 1] == []


def test_split_is_about_70_30_by_group(records):
    split_of_group = {r["group"]: r["split"] for r in records}
    heldout = sum(1 for s in split_of_group.values() if s == "heldout")
    assert 0.25 <= heldout / len(split_of_group) <= 0.35


def test_no_text_in_both_splits(records):
    raw = Counter((r["subject"], r["body"]) for r in records)
    assert [t for t, n in raw.items() if n > 1] == []
    splits_of_text = defaultdict(set)
    for record in records:
        splits_of_text[_normalised(record["body"])].add(record["split"])
    leaked = [t for t, s in splits_of_text.items() if len(s) > 1]
    assert leaked == []


def test_persian_spelling_variety(records):
    persian = [r["subject"] + " " + r["body"] for r in records if r["language"] == "fa"]
    assert sum(1 for t in persian if "ي" in t or "ك" in t) >= 30, "Arabic-keyboard ي/ك"
    assert sum(1 for t in persian if "\u200c" in t) >= 100, "standard ZWNJ"
    assert sum(1 for t in persian if re.search(r"\bمی ", t)) >= 5, "ZWNJ typed as a space"
    assert sum(1 for t in persian if re.search(r"[0-9]", t)) >= 5, "Latin digits"
    assert sum(1 for t in persian if re.search(r"[۰-۹]", t)) >= 10, "Persian digits"


def test_committed_corpus_is_the_build_scripts_output():
    module = _build_module()
    rebuilt = module.build((DATA / "handwritten.txt").read_text(encoding="utf-8").splitlines())
    committed = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()]
    assert rebuilt == committed


def test_corrections_and_additions_move_nobody_between_splits():
    """A fixed label or an item appended at the end keeps every other record's id and split, so
    corrections never reshuffle what the held-out figures were measured on."""
    module = _build_module()
    source = (DATA / "handwritten.txt").read_text(encoding="utf-8").splitlines()
    before = module.build(source)
    relabelled, done = list(source), False
    for index, line in enumerate(relabelled):
        fields = line.split(" | ")
        if not done and len(fields) == 8 and fields[4] == "-":
            fields[4] = "U"
            relabelled[index], done = " | ".join(fields), True
    assert done
    appended = [*source, "en | general | customer | web | S | New item | A brand new body. | added"]
    for changed in (module.build(relabelled), module.build(appended)):
        kept = {(r["id"], r["group"], r["split"]) for r in changed}
        assert all((r["id"], r["group"], r["split"]) in kept for r in before)


def _build_module():
    spec = importlib.util.spec_from_file_location("build_corpus", DATA / "build_corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_build_script_rejects_bad_source_lines():
    module = _build_module()
    good = "en | general | customer | web | S | Subject | Body text. | note"
    assert module.build([good])[0]["labels"]["safety"] == 1
    for bad, field in (
        (good.replace("| web |", "| fax |"), "channel"),
        (good.replace("| S |", "| X |"), "labels"),
        (good.replace("| customer |", "| boss |"), "role"),
        ("en | general | customer | web | S | only six fields", "fields"),
    ):
        with pytest.raises(module.SourceError, match=field):
            module.build([bad])
    with pytest.raises(module.SourceError, match="same text"):
        module.build([good, good])
    with pytest.raises(module.SourceError, match="too long"):
        module.build([good.replace("Body text.", "x" * 2001)])


def test_data_card_counts_match_the_corpus(records):
    """The data card's headline figures are rebuilt by hand; this keeps them honest."""
    card = (DATA / "DATA_CARD.md").read_text(encoding="utf-8")
    total = re.search(r"Total \*\*(\d+) items\*\* in (\d+) groups", card)
    assert total, "the data card states the total"
    assert int(total.group(1)) == len(records)
    assert int(total.group(2)) == len({r["group"] for r in records})
    for label in LABELS:
        row = re.search(rf"^\| {label} \| (\d+) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \|", card, re.M)
        assert row, label
        cells = [
            sum(1 for r in records if r["labels"][label] and (r["language"], r["split"]) == cell)
            for cell in (("fa", "train"), ("fa", "heldout"), ("en", "train"), ("en", "heldout"))
        ]
        assert [int(v) for v in row.groups()] == [*cells, sum(cells)], label
