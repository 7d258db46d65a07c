"""Persian and English text normalisation and keyword matching for routing rules.

The same complaint arrives typed on Arabic keyboards (ي ك), with or without ZWNJ, with
diacritics and Persian or Arabic-Indic digits; a rule keyword must match all of those spellings.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_CHAR_MAP = str.maketrans(
    {
        "\u064a": "\u06cc",  # Arabic yeh ي -> Persian yeh ی
        "\u0649": "\u06cc",  # alef maksura ى -> ی
        "\u0643": "\u06a9",  # Arabic kaf ك -> Persian keheh ک
        "\u06c0": "\u0647",  # heh with yeh above ۀ -> ه (the ezafe mark is often omitted)
        "\u0629": "\u0647",  # teh marbuta ة -> ه
        "\u0623": "\u0627",  # alef with hamza above أ -> ا
        "\u0625": "\u0627",  # alef with hamza below إ -> ا
        "\u200c": " ",  # ZWNJ: "می‌خواهم" and "می خواهم" tokenise alike
        "\u200d": "",  # ZWJ
        "\u0640": "",  # tatweel (kashida) is decoration
        **{chr(0x06F0 + d): str(d) for d in range(10)},  # Persian digits
        **{chr(0x0660 + d): str(d) for d in range(10)},  # Arabic-Indic digits
    }
)
# Harakat, tanwin, shadda, sukun, superscript alef: optional in Persian writing.
_DIACRITICS = re.compile("[\u064b-\u065f\u0670]")
_TOKEN = re.compile(r"\w+")


def normalize(text: str) -> str:
    """Fold a text to the form rules are matched on: NFKC (Arabic presentation forms become
    base letters), Persian letter and digit forms, no diacritics, case-folded, single spaces."""
    text = unicodedata.normalize("NFKC", text).translate(_CHAR_MAP)
    text = _DIACRITICS.sub("", text).casefold()
    return " ".join(text.split())


def tokens(text: str) -> tuple[str, ...]:
    return tuple(_TOKEN.findall(normalize(text)))


@dataclass(frozen=True)
class Keyword:
    """A word or phrase matched on whole words; a trailing `*` makes the last word a prefix
    ("threat*" matches "threatened", "تهدید*" matches "تهدیدم"), so "harm" never matches "pharmacy"."""

    text: str
    words: tuple[str, ...]
    prefix: bool

    @classmethod
    def parse(cls, text: str) -> Keyword:
        raw = text.strip()
        prefix = raw.endswith("*")
        words = tokens(raw.rstrip("*"))
        if not words:
            raise ValueError(f"keyword {text!r} has no letters or digits")
        return cls(text=raw, words=words, prefix=prefix)

    def found_in(self, text_tokens: tuple[str, ...], token_set: frozenset[str] = frozenset()) -> bool:
        """`token_set` (the set of `text_tokens`) lets a whole-word miss be rejected at once."""
        if token_set and not self.prefix and self.words[-1] not in token_set:
            return False
        n = len(self.words)
        last = n - 1
        for start in range(len(text_tokens) - n + 1):
            if all(
                text_tokens[start + i] == w
                or (i == last and self.prefix and text_tokens[start + i].startswith(w))
                for i, w in enumerate(self.words)
            ):
                return True
        return False
