"""Structured (JSON lines) logging with personal data redacted.

Emails, phone numbers and free text never reach a log line: known personal fields are masked by
name, and anything shaped like an email or a phone number is masked inside messages and rendered
tracebacks. Every field is cut to a bounded prefix (MAX_FIELD_CHARS; MAX_EXCEPTION_CHARS for a
traceback) with a marker, and every pattern is linear, so a huge or adversarial value costs little.
"""

from __future__ import annotations

import logging
import logging.config
import re
from typing import Any

import structlog

PERSONAL_KEYS = frozenset(
    {"email", "phone", "body", "subject", "name", "display_name", "recipient", "text", "handle", "customer"}
)
# Every value is cut to a bounded prefix before it is searched or written: a log line never copies
# unbounded input, and the cost of redaction is bounded per field (docs/limits.md, "Logs").
MAX_FIELD_CHARS = 4096
MAX_EXCEPTION_CHARS = 16384  # a rendered traceback: frames first, then the (redacted) message
TRUNCATED = "…[truncated: {total} characters in all]"
# Both patterns are linear. The email's local part starts only where a run of local-part characters
# starts (the look-behind) and is possessive, so a long run of word characters is scanned once, not
# once per position; the domain's labels are possessive too. A phone is at most 22 characters.
_EMAIL = r"(?<![\w.+-])[\w.+-]++@[\w-]++(?:\.[\w-]++)+"
# No dots: IP addresses and versions stay readable. Not inside a longer token: ids such as UUIDs
# ("12345678-1234-…", "evt-…") must stay readable to correlate logs.
_PHONE = r"(?<![\w-])\+?\d[\d\s()-]{7,20}\d(?![\w-])"
_PERSONAL = re.compile(f"(?P<email>{_EMAIL})|(?P<phone>{_PHONE})")
# An email or phone number that straddles the cut is still matched whole (and masked whole): the
# search window runs this far past the cut; what lies beyond the cut is never written.
_OVERHANG = 320
_KEEP = ("timestamp", "level", "logger")


def redact_text(text: str, limit: int = MAX_FIELD_CHARS) -> str:
    """Emails and phone numbers masked; at most `limit` characters of `text` kept, then a marker."""
    cut = len(text) > limit
    window = text[: limit + _OVERHANG] if cut else text
    parts: list[str] = []
    pos = 0
    for m in _PERSONAL.finditer(window):
        if m.start() >= limit:
            break
        parts.append(window[pos : m.start()])
        parts.append("[email]" if m.group("email") else "[phone]")
        pos = m.end()
    if cut:
        parts.append(window[pos:limit])
        parts.append(TRUNCATED.format(total=len(text)))
    else:
        parts.append(window[pos:])
    return "".join(parts)


def redact_personal_data(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """Runs after the traceback is rendered (format_exc_info), so exception text is redacted too."""
    for key, value in list(event_dict.items()):
        if key in _KEEP or value is None or isinstance(value, bool | int | float):
            continue
        if key in PERSONAL_KEYS and value != "":
            event_dict[key] = "[redacted]"
            continue
        if not isinstance(value, str):  # containers and objects: their text, redacted and bounded
            value = str(value)
        limit = MAX_EXCEPTION_CHARS if key in ("exception", "stack_info") else MAX_FIELD_CHARS
        event_dict[key] = redact_text(value, limit)
    return event_dict


def _render_message(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    record = event_dict.get("_record")
    if record is not None and "event" not in event_dict:
        event_dict["event"] = record.getMessage()
    return event_dict


def logging_config(level: str = "info") -> dict[str, Any]:
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    # Render the traceback first, so its text passes through the redactor.
                    structlog.processors.format_exc_info,
                    redact_personal_data,
                    structlog.processors.JSONRenderer(ensure_ascii=False),
                ],
                "foreign_pre_chain": shared,
            }
        },
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json"}},
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {
            "kafka": {"level": "WARNING"},
            "aiokafka": {"level": "WARNING"},
            "faust": {"level": "WARNING"},
            "mode": {"level": "WARNING"},
        },
    }


def configure_logging(level: str = "info") -> None:
    logging.config.dictConfig(logging_config(level))
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.add_log_level,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
