"""Message templates, rendered in a Jinja2 sandbox.

Each template has, per language, a subject and a plain-text body under
`templates/<language>/<name>.{subject,txt}.j2`; the HTML alternative is the same paragraphs in one
shared `layout.html.j2` (lang and dir set), so the wording lives in one place per language.
Right-to-left safety: in plain text, left-to-right fragments (the reference, names) are wrapped in
Unicode directional isolates (U+2068 ... U+2069) with the `isolate` filter; the HTML sets dir="rtl".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import SandboxedEnvironment

from .model import Template

TEMPLATE_DIR = Path(__file__).resolve().parents[1] / "templates"
SUPPORTED_LANGUAGES = ("fa", "en")
DEFAULT_LANGUAGE = "en"
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

    def render(self, template: str, language: str, context: Mapping[str, Any]) -> RenderedMessage:
        lang = choose_language(language)
        values = {**context, "language": lang, "direction": direction(lang)}
        subject = self.env.get_template(f"{lang}/{template}.subject.j2").render(values)
        subject = " ".join(subject.split())  # one line: it becomes a mail header
        text = self.env.get_template(f"{lang}/{template}.txt.j2").render(values).strip() + "\n"
        paragraphs = [p.splitlines() for p in text.strip().split("\n\n") if p.strip()]
        html = self.env.get_template("layout.html.j2").render(
            {**values, "subject": subject, "paragraphs": paragraphs}
        )
        return RenderedMessage(template, lang, direction(lang), subject, text, html)

    def acknowledgement(self, language: str, reference: str, display_name: str = "") -> RenderedMessage:
        return self.render(
            Template.ACKNOWLEDGEMENT.value,
            language,
            {"reference": reference, "display_name": display_name.strip()},
        )

    def render_source(self, source: str, context: Mapping[str, Any]) -> str:
        """Render untrusted template text; unsafe access raises jinja2.exceptions.SecurityError."""
        return self.env.from_string(source).render(context)
