"""The response guard: a public reply (an agent's response or a rendered template) is checked for
phrases that deflect or blame the customer, and for length, before it goes out.

The phrases come from the source articles (../shared/seeds/003 and 001): never "it's not our
business", never "you shouldn't have bought it", never "you should have asked", never "I'm only
here to fill in the form", and "I don't know" is better said as "I'm not informed, I'll find out".
Each finding names the phrase as the agent wrote it and a calmer alternative in the same language.
Whether a finding only warns or blocks the reply is the tenant's choice.

Persian is compared after normalisation: Arabic yeh/kaf are folded into their Persian forms,
diacritics, tatweel and bidi marks dropped, and a zero-width non-joiner, a space or nothing between
the parts of a phrase all match, because Persian writes "می‌خواستی", "می خواستی" and "میخواستی" for
the same word. Phrases match whole words only ("اکنون می‌دانم" is not "نمی‌دانم").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum


class GuardMode(StrEnum):
    WARN = "warn"
    BLOCK = "block"


class Rule(StrEnum):
    DEFLECTION = "deflection"  # "not our department": the complaint is pushed away
    BLAME = "blame"  # "you should have asked": the customer is made the cause
    FORM_ONLY = "form_only"  # "I'm only here to fill in the form": no ownership
    DONT_KNOW = "dont_know"  # "I don't know": say what you will find out instead
    TOO_LONG = "too_long"  # long replies escalate; short and calm ones settle


@dataclass(frozen=True)
class PhraseRule:
    rule: Rule
    language: str
    patterns: tuple[str, ...]  # English: regexes on normalised text; Persian: plain phrases
    suggestion: str


SUGGEST_EN = {
    Rule.DEFLECTION: "I'll take this on myself and make sure the right colleagues act on it; I'll keep you updated.",
    Rule.BLAME: "I'm sorry this wasn't made clear. Here is what applies, and here is what we can do now.",
    Rule.FORM_ONLY: "I've recorded your complaint and I'll stay with it until it is resolved.",
    Rule.DONT_KNOW: "I'm not informed about that yet; I'll find out and get back to you.",
}
SUGGEST_FA = {
    Rule.DEFLECTION: "این موضوع را خودم پیگیری می‌کنم و از همکاران مربوط پاسخ می‌گیرم؛ شما را در جریان می‌گذارم.",
    Rule.BLAME: "متأسفم که این موضوع از ابتدا روشن نبود. شرایط این است و این کاری است که اکنون می‌توانیم انجام دهیم.",
    Rule.FORM_ONLY: "شکایت شما را ثبت کردم و خودم تا نتیجه همراه شما هستم.",
    Rule.DONT_KNOW: "در این مورد اطلاع ندارم؛ پیگیری می‌کنم و به شما خبر می‌دهم.",
}

RULES: tuple[PhraseRule, ...] = (
    PhraseRule(
        Rule.DEFLECTION,
        "en",
        (
            r"\b(?:it'?s |it is |that'?s |that is |this is )?not (?:our|my) (?:business|department|problem|responsibility|concern|job)\b",
            r"\bnothing to do with (?:us|me)\b",
            r"\b(?:isn'?t|is not) (?:our|my) (?:business|department|problem|responsibility|job)\b",
        ),
        SUGGEST_EN[Rule.DEFLECTION],
    ),
    PhraseRule(
        Rule.BLAME,
        "en",
        (
            r"\byou should(?:'ve| have) asked\b",
            r"\byou (?:shouldn'?t|should not)(?: have|'ve)? (?:bought|purchased|ordered)\b",
            r"\b(?:it'?s|it is|that'?s|that is) your (?:own )?fault\b",
            r"\byou only have yourself to blame\b",
        ),
        SUGGEST_EN[Rule.BLAME],
    ),
    PhraseRule(
        Rule.FORM_ONLY,
        "en",
        (
            r"\b(?:i'?m|i am|we'?re|we are) (?:only|just) here to fill (?:in|out) (?:the|this|a) forms?\b",
            r"\b(?:my|our) job is (?:only|just) (?:to fill|filling) (?:in|out) (?:the|this) forms?\b",
        ),
        SUGGEST_EN[Rule.FORM_ONLY],
    ),
    PhraseRule(
        Rule.DONT_KNOW,
        "en",
        (r"\bi (?:don'?t|do not) know\b", r"\bno idea\b"),
        SUGGEST_EN[Rule.DONT_KNOW],
    ),
    PhraseRule(
        Rule.DEFLECTION,
        "fa",
        (
            "به ما ربطی ندارد",
            "ربطی به ما ندارد",
            "به من ربطی ندارد",
            "به ما ربطی نداره",
            "به ما مربوط نیست",
            "مربوط به ما نیست",
            "به واحد ما مربوط نیست",
            "کار ما نیست",
        ),
        SUGGEST_FA[Rule.DEFLECTION],
    ),
    PhraseRule(
        Rule.BLAME,
        "fa",
        (
            "می خواستی نخری",
            "می خواستید نخرید",
            "نباید می خریدید",
            "نباید می خریدی",
            "می پرسیدی تا بهت می گفتم",
            "می پرسیدید تا می گفتیم",
            "باید می پرسیدید",
            "باید می پرسیدی",
            "تقصیر خودتان است",
            "تقصیر خودت است",
            "تقصیر خودتونه",
            "تقصیر خودته",
        ),
        SUGGEST_FA[Rule.BLAME],
    ),
    PhraseRule(
        Rule.FORM_ONLY,
        "fa",
        (
            "من مامورم و معذور",
            "مامورم و معذورم",
            "فقط پر کردن همین فرم",
            "وظیفمون فقط پر کردن",
            "وظیفه ما فقط پر کردن",
            "وظیفه من فقط پر کردن",
        ),
        SUGGEST_FA[Rule.FORM_ONLY],
    ),
    PhraseRule(
        Rule.DONT_KNOW,
        "fa",
        ("نمی دانم", "نمی دونم", "هیچ ایده ای ندارم"),
        SUGGEST_FA[Rule.DONT_KNOW],
    ),
)

DEFAULT_MAX_CHARS = 1200  # about a short email; article 001: keep replies "the length of a tweet"
TOO_LONG_SUGGESTION = {
    "en": "Keep it short and calm: what happened, what you will do, and when the customer will hear next.",
    "fa": "کوتاه و آرام بنویسید: چه شده، چه می‌کنید و مشتری چه زمانی دوباره از شما خبر می‌گیرد.",
}

_ARABIC_TO_PERSIAN = {"ي": "ی", "ى": "ی", "ك": "ک", "ة": "ه", "ۀ": "ه", "أ": "ا", "إ": "ا", "آ": "ا"}
_INVISIBLE = {"\u200d", "\u200e", "\u200f", "\u2066", "\u2067", "\u2068", "\u2069", "\u0640"}
_PERSIAN_LETTERS = re.compile(r"[\u0600-\u06ff]")


@dataclass(frozen=True)
class Finding:
    phrase: str  # as written in the checked text
    rule: Rule
    suggestion: str
    language: str


@dataclass(frozen=True)
class Verdict:
    mode: GuardMode
    findings: tuple[Finding, ...]

    @property
    def allowed(self) -> bool:
        return self.mode is GuardMode.WARN or not self.findings


def _fold(ch: str) -> str:
    """One character of normalised text ('' when it is dropped)."""
    if ch in _INVISIBLE or unicodedata.category(ch) == "Mn":  # marks: harakat, shadda, sukun...
        return ""
    ch = _ARABIC_TO_PERSIAN.get(ch, ch)
    if ch in "\u2019\u2018`\u00b4":
        return "'"
    return ch.lower()


def _normalised(text: str, *, drop_spaces: bool) -> tuple[str, list[int]]:
    """The normalised text and, for each of its characters, the index it came from in `text`,
    so a match can be reported as the agent wrote it."""
    out: list[str] = []
    origin: list[int] = []
    previous_space = True
    for i, ch in enumerate(text):
        if ch.isspace() or ch == "\u200c":  # ZWNJ separates word parts as a space does
            if drop_spaces or previous_space:
                continue
            out.append(" ")
            origin.append(i)
            previous_space = True
            continue
        folded = _fold(ch)
        if folded:
            out.append(folded)
            origin.append(i)
            previous_space = False
    return "".join(out), origin


def detect_language(text: str) -> str:
    return "fa" if _PERSIAN_LETTERS.search(text) else "en"


def _persian_pattern(phrase: str) -> str:
    """Whole words; a space, a ZWNJ or nothing between the phrase's parts."""
    parts = _normalised(phrase, drop_spaces=False)[0].split(" ")
    return r"(?<!\w)" + r" ?".join(re.escape(p) for p in parts) + r"(?!\w)"


def _compiled() -> list[tuple[PhraseRule, re.Pattern[str]]]:
    compiled = []
    for rule in RULES:
        for pattern in rule.patterns:
            compiled.append(
                (rule, re.compile(_persian_pattern(pattern) if rule.language == "fa" else pattern))
            )
    return compiled


_PATTERNS = _compiled()


def find_phrases(text: str) -> list[Finding]:
    """Every listed phrase in `text`, in both languages (replies mix them), in order of appearance."""
    haystack, origin = _normalised(text, drop_spaces=False)
    hits: dict[tuple[int, int], Finding] = {}
    for rule, pattern in _PATTERNS:
        for m in pattern.finditer(haystack):
            start, end = origin[m.start()], origin[m.end() - 1] + 1
            if any(s <= start and end <= e for s, e in hits):
                continue  # inside a longer phrase already found
            hits[(start, end)] = Finding(text[start:end], rule.rule, rule.suggestion, rule.language)
    return [hits[span] for span in sorted(hits)]


def check(
    text: str,
    *,
    mode: GuardMode | str = GuardMode.WARN,
    language: str = "",
    max_chars: int = DEFAULT_MAX_CHARS,
) -> Verdict:
    findings = find_phrases(text)
    lang = language or detect_language(text)
    if max_chars and len(text.strip()) > max_chars:
        findings.append(
            Finding(
                f"{len(text.strip())} characters (limit {max_chars})",
                Rule.TOO_LONG,
                TOO_LONG_SUGGESTION.get(lang, TOO_LONG_SUGGESTION["en"]),
                lang,
            )
        )
    return Verdict(GuardMode(mode), tuple(findings))
