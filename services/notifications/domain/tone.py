"""Phrases that deflect or blame the customer, which no message of ours may contain.

From the source articles (../shared/seeds/003): "it's not our business", "you shouldn't have bought
it", "you should have asked", "I'm only here to fill in the form", and their Persian originals.
Issue 5's response guard grows from this list (suggestions, per-tenant warn/block).
"""

from __future__ import annotations

import re

DEFLECTING_PHRASES_EN: tuple[str, ...] = (
    "not our business",
    "not our department",
    "not our problem",
    "not our responsibility",
    "you should have asked",
    "you shouldn't have bought",
    "you should not have bought",
    "only here to fill in the form",
    "your fault",
    "i don't know",
)

DEFLECTING_PHRASES_FA: tuple[str, ...] = (
    "به ما ربطی ندارد",
    "ربطی به ما ندارد",
    "می خواستی نخری",
    "می پرسیدی تا بهت می گفتم",
    "من مامورم و معذور",
    "فقط پر کردن همین فرم",
    "تقصیر خودتان",
    "تقصیر خودت",
    "نمی دانم",
)

_ARABIC_TO_PERSIAN = str.maketrans({"ي": "ی", "ك": "ک", "ى": "ی"})
_GAPS = re.compile(r"[\s\u200c\u200f\u200e]+")


def _normalize_en(text: str) -> str:
    return " ".join(text.lower().replace("\u2019", "'").split())


def _normalize_fa(text: str) -> str:
    # Persian writes "می‌خواستی", "می خواستی" and "میخواستی" for the same word: compare without gaps.
    return _GAPS.sub("", text.translate(_ARABIC_TO_PERSIAN))


def find_deflecting_phrases(text: str) -> list[str]:
    """The listed phrases found in `text` (English case-insensitive, Persian spacing-insensitive)."""
    en = _normalize_en(text)
    fa = _normalize_fa(text)
    found = [p for p in DEFLECTING_PHRASES_EN if p in en]
    found += [p for p in DEFLECTING_PHRASES_FA if _normalize_fa(p) in fa]
    return found
