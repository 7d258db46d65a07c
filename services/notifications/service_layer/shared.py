"""What the recorder, planner, dispatcher and admin share: the event source, the metrics, describe()."""

from __future__ import annotations

from prometheus_client import Counter

SOURCE = "/haq/notifications"

NOTIFICATIONS = Counter(
    "haq_notifications_total", "Deliveries by outcome", ["channel", "template", "outcome"]
)
SEND_ATTEMPTS = Counter("haq_notification_attempts_total", "Send attempts", ["channel", "outcome"])
GUARD_FINDINGS = Counter("haq_response_guard_findings_total", "Response guard findings", ["rule", "source"])
INTERRUPTED_RETRIED = Counter(
    "haq_notification_interrupted_retried_total", "Email attempts interrupted before DATA and made again"
)
DIGESTS = Counter("haq_notification_digests_total", "Digest emails sent: a staff member's mail due together")
DIGESTED = Counter("haq_notification_digested_total", "Deliveries that went out inside a digest email")
JOBS_POSTPONED = Counter("haq_notification_jobs_postponed_total", "Jobs waiting on routing's directory")


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]
