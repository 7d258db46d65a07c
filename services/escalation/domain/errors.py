"""The two ways the domain refuses a request: a transition the case does not allow, and bad input."""

from __future__ import annotations


class CaseError(ValueError):
    """A transition the case refuses (FAILED_PRECONDITION); the message says why."""


class InvalidInput(ValueError):
    """A request with a missing or malformed field (INVALID_ARGUMENT)."""

    def __init__(self, field_name: str, problem: str):
        super().__init__(f"{field_name}: {problem}")
        self.field = field_name
        self.problem = problem
