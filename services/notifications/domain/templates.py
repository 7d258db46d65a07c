"""Message templates, rendered in a Jinja2 sandbox.

Each template has, per language, a subject and a plain-text body under
`templates/<language>/<name>.{subject,txt}.j2`; the HTML alternative is the same paragraphs in one
shared `layout.html.j2` (lang and dir set), so the wording lives in one place per language.
Right-to-left safety: in plain text, left-to-right fragments (the reference, names) are wrapped in
Unicode directional isolates (U+2068 ... U+2069) with the `isolate` filter; the HTML sets dir="rtl".
Dates: the `date` and `datetime` filters write the Jalali calendar with Persian digits and month
names for Persian, and the Gregorian calendar for English, in the tenant's time zone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jdatetime
from jinja2 import FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.sandbox import SandboxedEnvironment

from .model import Template

TEMPLATE_DIR = Path(__file__).resolve().parents[1] / "templates"
SUPPORTED_LANGUAGES = ("fa", "en")
DEFAULT_LANGUAGE = "en"
DEFAULT_SENDER = {"fa": "واحد رسیدگی به شکایات حق", "en": "Haq customer care"}
RTL_LANGUAGES = frozenset({"fa", "ar", "he", "ur", "ps"})

FSI = "\u2068"  # FIRST STRONG ISOLATE
PDI = "\u2069"  # POP DIRECTIONAL ISOLATE


def choose_language(tag: str) -> str:
    """The template language for a BCP 47 tag: "fa-IR" -> "fa"; anything unsupported -> English."""
    primary = tag.strip().lower().replace("_", "-").split("-")[0]
    return primary if primary in SUPPORTED_LANGUAGES else DEFAULT_LANGUAGE


def direction(language: str) -> str:
    return "rtl" if language in RTL_LANGUAGES else "ltr"


def isolate(value: Any) -> str:
    """Keep a fragment's own direction inside text of the other direction."""
    return f"{FSI}{value}{PDI}"


PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def format_date(value: datetime, language: str, zone: str, *, with_time: bool) -> str:
    """21 March 2025, 14:30 (en) or ۱ فروردین ۱۴۰۴، ساعت ۱۴:۳۰ (fa, Jalali), in `zone`."""
    local = value.astimezone(ZoneInfo(zone))
    if language == "fa":
        jalali = jdatetime.datetime.fromgregorian(datetime=local, locale=jdatetime.FA_LOCALE)
        text = f"{jalali.day} {jalali.strftime('%B')} {jalali.year}"
        if with_time:
            text += f"، ساعت {local:%H:%M}"
        return text.translate(PERSIAN_DIGITS)
    text = f"{local.day} {local:%B %Y}"
    return f"{text}, {local:%H:%M}" if with_time else text


def format_number(value: Any, language: str) -> str:
    return str(value).translate(PERSIAN_DIGITS) if language == "fa" else str(value)


@dataclass(frozen=True)
class RenderedMessage:
    template: str
    language: str
    direction: str
    subject: str
    text: str
    html: str


class TemplateRenderer:
    """Renders templates from files we ship; `render_source` renders any template text (previews)
    in the same sandbox, so a template can read the values it is given and nothing else."""

    def __init__(self, directory: Path = TEMPLATE_DIR):
        self.env = SandboxedEnvironment(
            loader=FileSystemLoader(directory),
            autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
            undefined=StrictUndefined,  # a missing value is a bug, not a blank in a customer's email
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["isolate"] = isolate
        self.env.filters["date"] = self._date_filter(with_time=False)
        self.env.filters["datetime"] = self._date_filter(with_time=True)
        self.env.filters["number"] = pass_context(lambda ctx, v: format_number(v, ctx.get("language", "en")))

    @staticmethod
    def _date_filter(*, with_time: bool):
        @pass_context
        def render_date(ctx: Any, value: datetime | None) -> str:
            if value is None:
                return ""
            return format_date(
                value, ctx.get("language", "en"), ctx.get("time_zone", "Asia/Tehran"), with_time=with_time
            )

        return render_date

    def templates(self) -> list[str]:
        """Names of the templates shipped for every supported language."""
        names = None
        for lang in SUPPORTED_LANGUAGES:
            found = {
                n.split("/", 1)[1].removesuffix(".txt.j2")
                for n in self.env.list_templates()
                if n.startswith(f"{lang}/") and n.endswith(".txt.j2")
            }
            names = found if names is None else names & found
        return sorted(names or ())

    def render(self, template: str, language: str, context: Mapping[str, Any]) -> RenderedMessage:
        lang = choose_language(language)
        values = {
            "sender_name": DEFAULT_SENDER[lang],
            "time_zone": "Asia/Tehran",
            **{k: v for k, v in context.items() if v is not None or k not in ("sender_name", "time_zone")},
            "language": lang,
            "direction": direction(lang),
        }
        if not values["sender_name"]:
            values["sender_name"] = DEFAULT_SENDER[lang]
        subject = self.env.get_template(f"{lang}/{template}.subject.j2").render(values)
        subject = " ".join(subject.split())  # one line: it becomes a mail header
        text = self.env.get_template(f"{lang}/{template}.txt.j2").render(values).strip() + "\n"
        paragraphs = [p.splitlines() for p in text.strip().split("\n\n") if p.strip()]
        html = self.env.get_template("layout.html.j2").render(
            {**values, "subject": subject, "paragraphs": paragraphs}
        )
        return RenderedMessage(template, lang, direction(lang), subject, text, html)

    def acknowledgement(
        self,
        language: str,
        reference: str,
        display_name: str = "",
        *,
        respond_by: datetime | None = None,
        time_zone: str = "Asia/Tehran",
    ) -> RenderedMessage:
        return self.render(
            Template.ACKNOWLEDGEMENT.value,
            language,
            {
                "reference": reference,
                "display_name": display_name.strip(),
                "respond_by": respond_by,
                "time_zone": time_zone,
            },
        )

    def render_source(self, source: str, context: Mapping[str, Any]) -> str:
        """Render untrusted template text; unsafe access raises jinja2.exceptions.SecurityError."""
        return self.env.from_string(source).render(context)
