"""One line per event for `haq watch`: time, short type, complaint id and the key facts.

The human line never shows personal data (emails, phone numbers, names, subjects, bodies,
recipients); free-text reasons are passed through the log redaction. Event types this module
does not know yet get a generic line built from their non-personal scalar fields.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from services.common.codec import Envelope
from services.common.logs import PERSONAL_KEYS, redact_text
from services.common.pb.haq.v1 import events_pb2
from services.common.tail import TailedRecord

from . import enums
from .views import ts_datetime

# Field names never printed in the human view, on top of the shared redaction list.
_HIDDEN = PERSONAL_KEYS | {"emails", "phones", "social", "metadata", "original_value", "original_headers"}


def _time(ts: Timestamp) -> str:
    dt = ts_datetime(ts)
    return "-" if dt is None else dt.astimezone().strftime("%H:%M:%S")


def _facts(**pairs: Any) -> str:
    return " ".join(f"{k}={v}" for k, v in pairs.items() if v not in (None, "", [], False))


def _received(m: events_pb2.ComplaintReceived) -> str:
    c = m.complaint
    return _facts(
        ref=c.reference,
        channel=enums.to_name(enums.CHANNEL, c.channel),
        sector=enums.to_name(enums.SECTOR, c.sector),
        role=enums.to_name(enums.ROLE, c.complainant_role),
        lang=c.language,
        customer=c.customer_id,
        previous=m.history.previous_complaints or None,
        open=m.history.open_complaints or None,
    )


def _followed_up(m: events_pb2.CustomerFollowedUp) -> str:
    return _facts(follow_up=m.follow_up_id, channel=enums.to_name(enums.CHANNEL, m.channel))


def _routed(m: events_pb2.ComplaintRouted) -> str:
    owner = m.owner + (" (duty lead)" if m.owner_is_duty_lead else "")
    return _facts(
        team=m.team,
        owner=owner,
        priority=enums.to_name(enums.PRIORITY, m.priority),
        sla=m.sla_policy,
        rule=m.rule_id + (f"@{m.rule_set_version}" if m.rule_set_version else ""),
    )


def _assigned(m: events_pb2.OwnerAssigned) -> str:
    return _facts(
        owner=m.owner,
        team=m.team,
        status=enums.to_name(enums.STATUS, m.status),
        accept_by=_time(m.accept_by) if ts_datetime(m.accept_by) else None,
    )


def _clock(c: events_pb2.SlaClock) -> str:
    due = f" due {_time(c.due_at)}" if ts_datetime(c.due_at) else ""
    return f"{c.name}:{c.state}{due}"


def _clocks_started(m: events_pb2.SlaClocksStarted) -> str:
    return _facts(policy=m.policy) + " " + ", ".join(_clock(c) for c in m.clocks)


def _clock_stopped(m: events_pb2.SlaClockStopped) -> str:
    return _clock(m.clock)


def _breached(m: events_pb2.SlaBreached) -> str:
    return _facts(clock=m.clock.name, due=_time(m.clock.due_at), owner=m.owner, team=m.team)


def _sent(m: events_pb2.NotificationSent) -> str:
    return _facts(channel=m.channel, template=m.template, lang=m.language)


def reason_text(reason: str, limit: int = 160) -> str:
    """The first line of a free-text reason, shortened and redacted: error texts can quote the
    input (an SQL statement's parameters, a template's values), and the rest stays in --json."""
    first = reason.strip().splitlines()[0] if reason.strip() else ""
    if len(first) > limit:
        first = first[: limit - 1] + "…"
    return repr(redact_text(first))


def _failed(m: events_pb2.NotificationFailed) -> str:
    return _facts(channel=m.channel, template=m.template, attempts=m.attempts, reason=reason_text(m.reason))


def _dead_letter(m: events_pb2.DeadLetter) -> str:
    return _facts(
        service=m.service,
        source=f"{m.source_topic}/{m.partition}@{m.offset}",
        reason=reason_text(m.reason),
    )


_SUMMARIES: dict[str, Callable[[Any], str]] = {
    "ComplaintReceived": _received,
    "CustomerFollowedUp": _followed_up,
    "ComplaintRouted": _routed,
    "OwnerAssigned": _assigned,
    "SlaClocksStarted": _clocks_started,
    "SlaClockStopped": _clock_stopped,
    "SlaBreached": _breached,
    "NotificationSent": _sent,
    "NotificationFailed": _failed,
    "DeadLetter": _dead_letter,
}


def generic_facts(message: Message) -> str:
    """Non-personal scalar fields of any message (enums by short name, times as HH:MM:SS)."""
    pairs: dict[str, Any] = {}
    for fd, value in message.ListFields():
        if fd.name in _HIDDEN or fd.name == "complaint_id":
            continue
        if fd.is_repeated:
            continue
        if fd.type == fd.TYPE_ENUM:
            pairs[fd.name] = enums.to_name(fd.enum_type, value)
        elif fd.type == fd.TYPE_MESSAGE:
            if fd.message_type.full_name == "google.protobuf.Timestamp":
                pairs[fd.name] = _time(value)
        elif fd.type == fd.TYPE_BYTES:
            continue
        elif fd.type == fd.TYPE_STRING:
            pairs[fd.name] = reason_text(value) if " " in value or "\n" in value else redact_text(value)
        else:
            pairs[fd.name] = value
    return _facts(**pairs)


def complaint_id(envelope: Envelope) -> str:
    value = getattr(envelope.message, "complaint_id", "")
    if not value and isinstance(envelope.message, events_pb2.ComplaintReceived):
        value = envelope.message.complaint.id
    return value or envelope.subject


def summarize(envelope: Envelope) -> str:
    summary = _SUMMARIES.get(envelope.type.removeprefix("haq.v1."))
    if summary is not None:
        return summary(envelope.message).strip()
    return generic_facts(envelope.message)


def format_line(record: TailedRecord) -> str:
    """The human line for one record; undecodable records say why."""
    env = record.envelope
    if env is None:
        where = f"{record.topic}/{record.partition}@{record.offset}"
        return f"--:--:--  {'(undecodable)':<20} {where}  {record.error}"
    when = env.time.astimezone().strftime("%H:%M:%S")
    return f"{when}  {env.name:<20} {complaint_id(env):<36}  {summarize(env)}".rstrip()


def record_to_dict(record: TailedRecord) -> dict[str, Any]:
    """The `--json` form: the CloudEvent with its decoded data, plus where it was read."""
    where = {"topic": record.topic, "partition": record.partition, "offset": record.offset}
    if record.envelope is None:
        return {**where, "error": record.error}
    return {**where, **record.envelope.to_dict()}


def type_filter(types: Iterable[str]) -> Callable[[TailedRecord], bool]:
    """--type ComplaintRouted / complaintrouted / haq.v1.ComplaintRouted; none given: everything."""
    wanted = {t.strip().lower().rsplit(".", 1)[-1] for t in types if t.strip()}
    if not wanted:
        return lambda _r: True
    return lambda r: r.envelope is not None and r.envelope.name.lower() in wanted
