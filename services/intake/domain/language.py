"""Language detection for Persian and English, by script: reliable for the two languages Haq
serves first, with no model to download."""

from __future__ import annotations

PERSIAN_SPECIFIC = set("پچژگکیۀ")


def detect_language(text: str, default: str = "en") -> str:
    arabic_script = latin = 0
    for ch in text:
        if "\u0600" <= ch <= "\u06ff" or "\ufb50" <= ch <= "\ufdff" or "\ufe70" <= ch <= "\ufeff":
            arabic_script += 1
        elif ch.isascii() and ch.isalpha():
            latin += 1
    if arabic_script == 0 and latin == 0:
        return default
    # Arabic-script text is treated as Persian: Haq's customers write Persian; Arabic proper
    # would need its own templates before it could be told apart usefully.
    return "fa" if arabic_script >= latin else "en"
