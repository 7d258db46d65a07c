"""Where a case stands in its life: received -> offered -> owned -> (waiting on customer | in
progress) -> resolved -> closed, and reopen."""

from __future__ import annotations

from enum import StrEnum


class CaseStatus(StrEnum):
    RECEIVED = "received"
    OFFERED = "offered"
    OWNED = "owned"
    IN_PROGRESS = "in_progress"
    WAITING_ON_CUSTOMER = "waiting_on_customer"
    RESOLVED = "resolved"
    CLOSED = "closed"


WORKING = (CaseStatus.OWNED, CaseStatus.IN_PROGRESS, CaseStatus.WAITING_ON_CUSTOMER)
OPEN = (CaseStatus.OFFERED, *WORKING)
