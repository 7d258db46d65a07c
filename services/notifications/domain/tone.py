"""Phrases that deflect or blame the customer, which no message of ours may contain.

Kept for callers that only want the phrases; the full response guard (rules, suggestions,
per-tenant warn/block, length) is `guard.py`.
"""

from __future__ import annotations

from .guard import find_phrases


def find_deflecting_phrases(text: str) -> list[str]:
    """The listed phrases found in `text`, as written there."""
    return [f.phrase for f in find_phrases(text)]
