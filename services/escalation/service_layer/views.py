"""Escalation's queries: what it knows of a complaint."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Session

from ..adapters.db import (
    ComplaintFactsRow,
    clock_history,
    get_facts,
    load_case,
)
from ..domain import (
    Case,
    SlaClock,
)
from .shared import Binder

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClocksView:
    """What escalation knows of a complaint: its case and every clock cycle, or only that it was
    received."""

    complaint_id: str
    case: Case | None
    facts: ComplaintFactsRow | None
    history: tuple[SlaClock, ...] = ()


def clocks_view(engine: Engine, complaint_id: str, binder: Binder | None = None) -> ClocksView | None:
    with Session(engine) as session:
        case = load_case(session, complaint_id)
        history = tuple(clock_history(session, complaint_id)) if case is not None else ()
        facts = get_facts(session, complaint_id)
        if facts is not None:
            session.expunge(facts)
    if case is None and facts is None:
        return None
    if case is not None and binder is not None:
        binder(case, facts.tenant if facts is not None else "")
    return ClocksView(complaint_id, case, facts, history)
