"""The labelled triage corpus (data/corpus.jsonl, written by data/build_corpus.py) and the
figures a model is judged by on it. Pure Python: the bench and the tests read it without
scikit-learn."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .scorer import SIGNALS, TriageModel

CORPUS = Path(__file__).resolve().parent / "data" / "corpus.jsonl"
LANGUAGES = ("fa", "en")
# Recall the recommended thresholds are chosen to reach (on the train split, by cross-validation).
RECALL_TARGETS = {"safety": 0.98, "safeguarding": 0.95, "privacy": 0.95}


@dataclass(frozen=True)
class Item:
    id: str
    group: str  # paraphrases and spelling variants of one complaint share a group
    language: str
    sector: str
    role: str
    channel: str
    subject: str
    body: str
    labels: dict[str, int]
    split: str


def read_corpus(path: Path) -> tuple[list[Item], str]:
    """The corpus items and the sha256 of the file; ValueError naming the line and field."""
    raw = path.read_bytes()
    items: list[Item] = []
    for number, line in enumerate(raw.decode("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            labels = record["labels"]
            item = Item(
                id=str(record["id"]),
                group=str(record.get("group") or record["id"]),
                language=record["language"],
                sector=record.get("sector", ""),
                role=record.get("role", ""),
                channel=record.get("channel", ""),
                subject=record.get("subject", ""),
                body=record["body"],
                labels={s: int(labels[s]) for s in SIGNALS},
                split=record["split"],
            )
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise ValueError(
                f"{path.name}:{number}: not a corpus record ({type(exc).__name__}: {exc})"
            ) from exc
        if item.split not in ("train", "heldout"):
            raise ValueError(f"{path.name}:{number}: split {item.split!r} is not train or heldout")
        if any(v not in (0, 1) for v in item.labels.values()):
            raise ValueError(f"{path.name}:{number}: labels must be 0 or 1")
        items.append(item)
    return items, hashlib.sha256(raw).hexdigest()


def counts(predicted: Sequence[bool], actual: Sequence[int]) -> dict[str, Any]:
    tp = sum(1 for p, a in zip(predicted, actual, strict=True) if p and a)
    fp = sum(1 for p, a in zip(predicted, actual, strict=True) if p and not a)
    fn = sum(1 for p, a in zip(predicted, actual, strict=True) if not p and a)
    tn = len(actual) - tp - fp - fn
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    f1 = (
        2 * precision * recall / (precision + recall)
        if precision is not None and recall is not None and precision + recall
        else None
    )
    return {
        "items": len(actual),
        "positives": tp + fn,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "precision": round4(precision),
        "recall": round4(recall),
        "f1": round4(f1),
    }


def round4(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def evaluate(model: TriageModel, items: Sequence[Item]) -> dict[str, Any]:
    """Held-out figures at the model's recommended thresholds, overall and by language."""
    scored = [(i, model.score(i.subject, i.body)) for i in items]
    result: dict[str, Any] = {}
    for signal in SIGNALS:
        threshold = model.thresholds[signal]

        def figures(subset: list[tuple[Item, dict[str, Any]]], signal: str = signal, t: float = threshold):
            return counts([s[signal].score >= t for _, s in subset], [i.labels[signal] for i, _ in subset])

        result[signal] = {
            "threshold": threshold,
            "recall_target": RECALL_TARGETS.get(signal),
            "overall": figures(scored),
            "by_language": {
                lang: figures([p for p in scored if p[0].language == lang]) for lang in LANGUAGES
            },
        }
    return result
