"""Train the triage model from the labelled corpus and export it for the pure-Python scorer.

    make triage-model            # = python -m services.routing.triage.train

One logistic regression per signal (class weights balanced) over the features of features.py,
fitted on the corpus's train split only. The held-out split is used once, at the end, to report
metrics; nothing is tuned on it. Per signal, on the train split with stratified 5-fold
cross-validation (fixed seed):
  - the regularisation strength C is chosen by out-of-fold average precision;
  - a Platt sigmoid is fitted on the out-of-fold margins (calibrated probabilities);
  - the recommended threshold is the highest out-of-fold probability that still reaches the
    signal's recall target (safety 0.98, safeguarding and privacy 0.95); fraud/abuse and urgency
    have no target and take the threshold that maximises F2 (recall weighs twice).
The final model is refitted on the whole train split, near-zero weights are pruned, and the
model JSON and its metrics JSON (held-out precision/recall/F1 per signal, overall and by language,
measured with the exported pure-Python scorer) are written under models/.

Needs scikit-learn (the `dev` extras); the routing service never imports this module. No network.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score
from sklearn.model_selection import StratifiedGroupKFold

from .corpus import CORPUS, LANGUAGES, RECALL_TARGETS, Item, counts, evaluate, read_corpus, round4
from .features import FEATURE_SCHEME, feature_values, normaliser_fingerprint
from .scorer import MODEL_FORMAT, MODEL_FORMAT_VERSION, MODELS_DIR, SIGNALS, model_from_data

SEED = 20260
FOLDS = 5
C_GRID = (4.0, 16.0, 64.0, 256.0, 1024.0)
MIN_DOCUMENTS = 2  # a feature seen in one training text only is noise, and doubles the file
MAX_FEATURES = 40_000  # the strongest kept; with MIN_WEIGHT keeps the JSON well under 3 MB
MIN_WEIGHT = 1e-3  # |weight| below this for every signal moves no probability visibly


def _folds(y: np.ndarray, folds: int = FOLDS) -> StratifiedGroupKFold | None:
    smallest = int(min(y.sum(), len(y) - y.sum()))
    if smallest < 2:
        return None
    return StratifiedGroupKFold(n_splits=min(folds, smallest), shuffle=True, random_state=SEED)


def _classifier(c: float) -> LogisticRegression:
    return LogisticRegression(C=c, class_weight="balanced", max_iter=5000, tol=1e-6)


def out_of_fold_margins(
    x: Any, y: np.ndarray, groups: Sequence[str], c: float, folds: int = FOLDS
) -> np.ndarray:
    """Margins of each item from a model fitted without its group (paraphrases and spelling
    variants of one complaint never sit on both sides of a fold, as in the held-out split)."""
    splitter = _folds(y, folds)
    if splitter is None:
        raise ValueError("needs at least 2 positive and 2 negative training items")
    margins = np.zeros(len(y))
    for fit_rows, test_rows in splitter.split(np.zeros(len(y)), y, groups):
        model = _classifier(c).fit(x[fit_rows], y[fit_rows])
        margins[test_rows] = model.decision_function(x[test_rows])
    return margins


def platt(margins: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(slope, offset) with p = sigmoid(slope * margin + offset), fitted on out-of-fold margins."""
    fit = LogisticRegression(C=1e4, max_iter=5000, tol=1e-8).fit(margins.reshape(-1, 1), y)
    return float(fit.coef_[0, 0]), float(fit.intercept_[0])


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def choose_threshold(probabilities: np.ndarray, y: np.ndarray, signal: str) -> float:
    """Highest threshold that keeps the recall target on out-of-fold probabilities (or best F2)."""
    order = np.sort(np.unique(probabilities))[::-1]
    positives = int(y.sum())
    best_threshold, best_f2 = float(order[-1]), -1.0
    target = RECALL_TARGETS.get(signal)
    for t in order:
        predicted = probabilities >= t
        tp = int((predicted & (y == 1)).sum())
        recall = tp / positives
        if target is not None:
            if recall >= target:
                # Halfway down to the next lower score: a little slack, the same flagged set here.
                lower = probabilities[probabilities < t]
                return float((t + lower.max()) / 2) if lower.size else float(t)
            continue
        precision = tp / int(predicted.sum())
        f2 = 5 * precision * recall / (4 * precision + recall) if tp else 0.0
        if f2 > best_f2:
            best_threshold, best_f2 = float(t), f2
    return best_threshold


def _sig(value: float) -> float:
    """Six significant digits: enough for the scores, a third of the file size."""
    return float(f"{value:.6g}")


@dataclass
class Fitted:
    """What training produced: the exported model data, the sklearn estimators (for the
    reproduction test) and the out-of-fold figures."""

    model_data: dict[str, Any]
    vectorizer: DictVectorizer
    estimators: dict[str, LogisticRegression]
    calibration: dict[str, tuple[float, float]]
    cross_validation: dict[str, dict[str, Any]]

    def sklearn_probability(self, signal: str, subject: str, body: str) -> float:
        x = self.vectorizer.transform([feature_values(subject, body)])
        slope, offset = self.calibration[signal]
        margin = float(self.estimators[signal].decision_function(x)[0])
        return float(_sigmoid(np.array(slope * margin + offset)))


def fit(
    train: Sequence[Item],
    version: str,
    corpus_sha256: str,
    c_grid: Sequence[float] = C_GRID,
    folds: int = FOLDS,
) -> Fitted:
    rows = [feature_values(i.subject, i.body) for i in train]
    document_frequency: dict[str, int] = {}
    for row in rows:
        for f in row:
            document_frequency[f] = document_frequency.get(f, 0) + 1
    vectorizer = DictVectorizer(sort=True)
    vectorizer.fit([{f: 1.0 for f, df in document_frequency.items() if df >= MIN_DOCUMENTS}])
    x = vectorizer.transform(rows).tocsr()
    names = vectorizer.get_feature_names_out()
    groups = [i.group for i in train]

    estimators: dict[str, LogisticRegression] = {}
    calibration: dict[str, tuple[float, float]] = {}
    thresholds: dict[str, float] = {}
    cross_validation: dict[str, dict[str, Any]] = {}
    for signal in SIGNALS:
        y = np.array([i.labels[signal] for i in train])
        if y.sum() < 2 or len(y) - y.sum() < 2:
            raise ValueError(f"signal {signal}: needs at least 2 positive and 2 negative training items")
        tried = {c: out_of_fold_margins(x, y, groups, c, folds) for c in c_grid}
        chosen = max(c_grid, key=lambda c: (round(average_precision_score(y, tried[c]), 6), -c))
        margins = tried[chosen]
        calibration[signal] = platt(margins, y)
        slope, offset = calibration[signal]
        probabilities = _sigmoid(slope * margins + offset)
        thresholds[signal] = choose_threshold(probabilities, y, signal)
        cross_validation[signal] = {
            "C": chosen,
            "average_precision": round4(float(average_precision_score(y, margins))),
            "recall_target": RECALL_TARGETS.get(signal),
            "at_threshold": counts(list(probabilities >= thresholds[signal]), list(y)),
        }
        estimators[signal] = _classifier(chosen).fit(x, y)

    coef = np.vstack([estimators[s].coef_[0] for s in SIGNALS]).T  # features x signals
    strength = np.abs(coef).max(axis=1)
    kept = [j for j in np.argsort(-strength, kind="stable")[:MAX_FEATURES] if strength[j] >= MIN_WEIGHT]
    weights = {str(names[j]): [_sig(float(v)) for v in coef[j]] for j in sorted(kept, key=lambda j: names[j])}
    model_data = {
        "format": MODEL_FORMAT,
        "format_version": MODEL_FORMAT_VERSION,
        "version": version,
        "signals": list(SIGNALS),
        "feature_scheme": FEATURE_SCHEME,
        "normaliser": normaliser_fingerprint(),
        "trained_on": {
            "corpus": "services/routing/triage/data/corpus.jsonl",
            "corpus_sha256": corpus_sha256,
            "train_items": len(train),
            "features_fitted": len(names),
            "features_kept": len(weights),
        },
        "intercepts": [_sig(float(estimators[s].intercept_[0])) for s in SIGNALS],
        "calibration": [[_sig(calibration[s][0]), _sig(calibration[s][1])] for s in SIGNALS],
        "thresholds": {s: round(thresholds[s], 6) for s in SIGNALS},
        "weights": weights,
    }
    return Fitted(model_data, vectorizer, estimators, calibration, cross_validation)


def write_json(path: Path, data: dict[str, Any], compact: bool) -> None:
    text = (
        json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        if compact
        else json.dumps(data, ensure_ascii=False, sort_keys=True, indent=2)
    )
    path.write_text(text + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--version", default="triage-1")
    parser.add_argument("--out", type=Path, default=MODELS_DIR)
    args = parser.parse_args(argv)

    items, sha256 = read_corpus(args.corpus)
    train = [i for i in items if i.split == "train"]
    heldout = [i for i in items if i.split == "heldout"]
    fitted = fit(train, args.version, sha256)
    model = model_from_data(fitted.model_data, args.version)
    args.out.mkdir(parents=True, exist_ok=True)
    model_path = args.out / f"{args.version}.json"
    write_json(model_path, fitted.model_data, compact=True)
    metrics = {
        "version": args.version,
        "corpus_sha256": sha256,
        "scikit_learn": sklearn.__version__,
        "items": {
            split: {
                "total": len(subset),
                **{lang: sum(1 for i in subset if i.language == lang) for lang in LANGUAGES},
                "positives": {s: sum(i.labels[s] for i in subset) for s in SIGNALS},
            }
            for split, subset in (("train", train), ("heldout", heldout))
        },
        "model_bytes": model_path.stat().st_size,
        "features_kept": len(fitted.model_data["weights"]),
        "train_cross_validation": fitted.cross_validation,
        "heldout": evaluate(model, heldout) if heldout else {},
    }
    write_json(args.out / f"{args.version}.metrics.json", metrics, compact=False)
    print(f"wrote {model_path} ({metrics['model_bytes']:,} bytes, {metrics['features_kept']:,} features)")
    for signal, m in metrics["heldout"].items():
        o = m["overall"]
        print(
            f"  {signal:13s} threshold {m['threshold']:.3f}  held-out precision {o['precision']}  "
            f"recall {o['recall']}  f1 {o['f1']}  ({o['positives']} positives of {o['items']})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
