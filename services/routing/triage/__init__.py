"""Triage: a small bilingual text model that scores a complaint for safety, safeguarding,
privacy, fraud/abuse and urgency signals, so routing rules can act on what a complaint says in
everyday words, not only on keyword lists. The runtime (scorer.py) is pure Python; training
(train.py, `make triage-model`) needs scikit-learn from the dev extras."""

from .scorer import SIGNALS, SignalScore, TriageModel, load_model, shipped_versions

__all__ = ["SIGNALS", "SignalScore", "TriageModel", "load_model", "shipped_versions"]
