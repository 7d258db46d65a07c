"""Follow-ups have the same size contract as complaints (docs/limits.md): checked before any lookup."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.common.db import create_tables, make_engine
from services.intake.adapters.db import MODELS
from services.intake.domain.draft import MAX_BODY
from services.intake.service import IntakeService, InvalidRequest


@pytest.fixture
def service(tmp_path: Path) -> IntakeService:
    engine = make_engine(f"sqlite:///{tmp_path / 'intake.db'}")
    create_tables(engine, MODELS)
    return IntakeService(engine, "default")


@pytest.mark.parametrize(
    ("kwargs", "field", "problem"),
    [
        ({"body": "x" * (MAX_BODY + 1)}, "body", f"at most {MAX_BODY} characters"),
        ({"body": "broken\x00again"}, "body", "NUL"),
        ({"complaint": "HQ-" + "7" * 100}, "complaint", "at most 64 characters"),
        ({"idempotency_key": "k" * 201}, "idempotency_key", "at most 200 characters"),
    ],
)
def test_oversized_or_unstorable_follow_ups_are_refused_naming_the_field(service, kwargs, field, problem):
    args = {"complaint": "HQ-7KX2-94", "body": "any news?", "channel": "email", **kwargs}
    with pytest.raises(InvalidRequest) as refused:
        service.add_follow_up(**args)
    assert refused.value.error.field == field and problem in refused.value.error.problem
