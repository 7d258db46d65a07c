"""What a consumer calls for each lifecycle event: a plain handler, or a Batched one.

Kept apart from the consumer (which needs faust) so service layers can declare batched handlers
without importing the Kafka runtime.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlmodel import Session

from .codec import Envelope

Handler = Callable[[Session, Envelope], None]


@dataclass(frozen=True)
class Batched:
    """A handler that applies a run of consecutive events in one call (one statement per table
    instead of one ORM flush per event). Called with one event, it applies that one alone."""

    many: Callable[[Session, list[Envelope]], None]

    def __call__(self, session: Session, envelope: Envelope) -> None:
        self.many(session, [envelope])
