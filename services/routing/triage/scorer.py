"""The runtime triage scorer: calibrated probabilities that a complaint raises a safety,
safeguarding, privacy, fraud/abuse or urgency concern, from a shipped model file.

Pure Python (no numpy, no scikit-learn): a model is a JSON file of per-feature weights, one per
signal, with an intercept, a Platt calibration and a recommended threshold per signal, written by
`make triage-model` (services/routing/triage/train.py). A score is

    p = sigmoid(slope * (intercept + sum(weight(f) * value(f))) + offset)

over the features of services/routing/triage/features.py. A word's summed weight vector is cached,
so a complaint costs one dictionary look-up per word and per word pair.
"""

from __future__ import annotations

import heapq
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from .features import (
    BIGRAM,
    FEATURE_SCHEME,
    FUNCTION_WORDS,
    LENGTH_PRIOR,
    normaliser_fingerprint,
    readable,
    word_features,
    words,
)

SIGNALS: tuple[str, ...] = ("safety", "safeguarding", "privacy", "fraud_abuse", "urgent")

MODELS_DIR = Path(__file__).resolve().parent / "models"
MODEL_FORMAT = "haq-triage-model"
MODEL_FORMAT_VERSION = 1
TOP_TERMS = 5
_VERSION = re.compile(r"^triage-([1-9][0-9]{0,5})$")
_WORD_CACHE_LIMIT = 50_000  # distinct words remembered per model before the cache starts again


@dataclass(frozen=True)
class SignalScore:
    signal: str
    score: float  # calibrated probability 0..1
    top_terms: tuple[str, ...]  # most contributing terms (readable words/n-grams), strongest first, ≤ 5
    source: str = "model"  # "model", or "correction" when a person set it


@dataclass(frozen=True)
class TriageModel:
    version: str  # e.g. "triage-1"
    intercepts: tuple[float, ...] = field(default=(0.0,) * len(SIGNALS), repr=False)
    # Platt calibration per signal: p = sigmoid(slope * margin + offset)
    calibration: tuple[tuple[float, float], ...] = field(default=((1.0, 0.0),) * len(SIGNALS), repr=False)
    thresholds: Mapping[str, float] = field(default_factory=dict, repr=False)  # recommended, per signal
    weights: Mapping[str, tuple[float, ...]] = field(default_factory=dict, repr=False, compare=False)
    trained_on: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    _word_cache: dict[str, tuple[int, tuple[float, ...] | None]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def score(self, subject: str, body: str) -> dict[str, SignalScore]:
        """Every signal's calibrated score for one complaint, with the terms that raised it."""
        text_words = words(subject or "", body or "")
        n = len(SIGNALS)
        margin = [0.0] * n
        total = 0
        # Each distinct word and word pair counts once (features.feature_values); its summed
        # weights are kept per term for top_terms.
        contributions: list[tuple[str, tuple[float, ...]]] = []
        for w in dict.fromkeys(text_words):
            occurrences, vector = self._word(w)
            total += occurrences
            if vector is not None:
                if w not in FUNCTION_WORDS:
                    contributions.append((w, vector))
                for i in range(n):
                    margin[i] += vector[i]
        pairs = dict.fromkeys(f"{BIGRAM}{a} {b}" for a, b in zip(text_words, text_words[1:], strict=False))
        total += len(pairs)
        for key in pairs:
            vector = self.weights.get(key)
            if vector is not None:
                term = readable(key)
                if not all(part in FUNCTION_WORDS for part in term.split()):
                    contributions.append((term, vector))
                for i in range(n):
                    margin[i] += vector[i]
        scale = 1.0 / math.sqrt(total + LENGTH_PRIOR) if total else 0.0
        scores: dict[str, SignalScore] = {}
        for i, signal in enumerate(SIGNALS):
            slope, offset = self.calibration[i]
            z = slope * (self.intercepts[i] + scale * margin[i]) + offset
            top = heapq.nlargest(TOP_TERMS, contributions, key=lambda c, i=i: c[1][i])
            terms = tuple(term for term, vector in top if vector[i] > 0)
            scores[signal] = SignalScore(signal, _sigmoid(z), terms)
        return scores

    def _word(self, w: str) -> tuple[int, tuple[float, ...] | None]:
        """How many features a word gives, and the sum of their weight vectors (None: none known)."""
        hit = self._word_cache.get(w)
        if hit is not None:
            return hit
        feats = word_features(w)
        summed: list[float] | None = None
        for f in feats:
            vector = self.weights.get(f)
            if vector is not None:
                if summed is None:
                    summed = list(vector)
                else:
                    for i, v in enumerate(vector):
                        summed[i] += v
        entry = (len(feats), tuple(summed) if summed is not None else None)
        if len(self._word_cache) >= _WORD_CACHE_LIMIT:
            self._word_cache.clear()
        self._word_cache[w] = entry
        return entry


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def shipped_versions() -> tuple[str, ...]:
    """The model versions shipped with the package, oldest first."""
    found = []
    for path in MODELS_DIR.glob("triage-*.json"):
        m = _VERSION.match(path.name.removesuffix(".json"))
        if m:
            found.append((int(m.group(1)), m.group(0)))
    return tuple(v for _, v in sorted(found))


def load_model(version: str | None = None) -> TriageModel:
    """A shipped model by version (None: the newest shipped); cached; ValueError naming the
    version when there is no such model file."""
    if version is None:
        versions = shipped_versions()
        if not versions:
            raise ValueError(f"no triage model is shipped in {MODELS_DIR}")
        version = versions[-1]
    if not isinstance(version, str) or not _VERSION.match(version):
        raise ValueError(f"triage model version {version!r} is not of the form triage-<number>")
    return _load_shipped(version)


@cache
def _load_shipped(version: str) -> TriageModel:
    path = MODELS_DIR / f"{version}.json"
    if not path.is_file():
        shipped = ", ".join(shipped_versions()) or "none"
        raise ValueError(f"no triage model {version!r} (shipped: {shipped})")
    return load_model_file(path, expected_version=version)


def load_model_file(path: Path, expected_version: str | None = None) -> TriageModel:
    """A model from a JSON file; ValueError naming the file and the field that is wrong."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path.name}: not a readable triage model ({type(exc).__name__})") from exc
    return model_from_data(data, path.name, expected_version)


def model_from_data(data: Any, where: str = "model", expected_version: str | None = None) -> TriageModel:
    def bad(name: str, problem: str) -> ValueError:
        return ValueError(f"{where}: {name}: {problem}")

    if not isinstance(data, dict):
        raise bad("model", "must be a JSON object")
    if data.get("format") != MODEL_FORMAT or data.get("format_version") != MODEL_FORMAT_VERSION:
        raise bad("format", f"must be {MODEL_FORMAT} version {MODEL_FORMAT_VERSION}")
    version = data.get("version")
    if not isinstance(version, str) or not _VERSION.match(version):
        raise bad("version", f"{version!r} is not of the form triage-<number>")
    if expected_version is not None and version != expected_version:
        raise bad("version", f"the file says {version!r}, expected {expected_version!r}")
    if tuple(data.get("signals") or ()) != SIGNALS:
        raise bad("signals", f"must be {', '.join(SIGNALS)} in that order")
    if data.get("feature_scheme") != FEATURE_SCHEME:
        raise bad(
            "feature_scheme", f"{data.get('feature_scheme')!r}, this scorer computes {FEATURE_SCHEME!r}"
        )
    if data.get("normaliser") != normaliser_fingerprint():
        raise bad("normaliser", "the text normaliser has changed since training; retrain (make triage-model)")
    n = len(SIGNALS)
    intercepts = data.get("intercepts")
    if not _numbers(intercepts, n):
        raise bad("intercepts", f"must be {n} numbers")
    calibration = data.get("calibration")
    if (
        not isinstance(calibration, list)
        or len(calibration) != n
        or not all(_numbers(c, 2) for c in calibration)
    ):
        raise bad("calibration", f"must be {n} [slope, offset] pairs")
    thresholds = data.get("thresholds")
    if (
        not isinstance(thresholds, dict)
        or set(thresholds) != set(SIGNALS)
        or not all(_number(v) and 0.0 <= v <= 1.0 for v in thresholds.values())
    ):
        raise bad("thresholds", "must give every signal a probability 0..1")
    raw_weights = data.get("weights")
    if not isinstance(raw_weights, dict):
        raise bad("weights", "must map features to weight lists")
    weights: dict[str, tuple[float, ...]] = {}
    for feature, vector in raw_weights.items():
        if not _numbers(vector, n):
            raise bad(f"weights[{feature!r}]", f"must be {n} numbers")
        weights[feature] = tuple(float(v) for v in vector)
    return TriageModel(
        version=version,
        intercepts=tuple(float(v) for v in intercepts),
        calibration=tuple((float(a), float(b)) for a, b in calibration),
        thresholds={s: float(thresholds[s]) for s in SIGNALS},
        weights=weights,
        trained_on=data.get("trained_on") or {},
    )


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _numbers(values: Any, n: int) -> bool:
    return isinstance(values, list) and len(values) == n and all(_number(v) for v in values)
