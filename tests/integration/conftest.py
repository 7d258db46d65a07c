"""Integration fixtures beyond the shared ones: a real PostgreSQL server."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import pytest

from tests.backends import chosen_backend, container_postgres
from tests.pg import REQUIRE_ENV, PostgresUnavailable, isolated_schema, postgres_server


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """SQLAlchemy URL of a real PostgreSQL for the session (HAQ_TEST_POSTGRES_URL, a throwaway
    local cluster, or with HAQ_TEST_BACKEND=testcontainers a container).

    Skips when no server can be started here, unless HAQ_TEST_REQUIRE_POSTGRES=1 (as in CI), where
    a missing PostgreSQL fails the tests instead of skipping them silently.
    """
    if chosen_backend() == "testcontainers" and not os.environ.get("HAQ_TEST_POSTGRES_URL"):
        with container_postgres() as url:
            yield url
        return
    with contextlib.ExitStack() as stack:
        try:
            url = stack.enter_context(postgres_server())
        except PostgresUnavailable as exc:
            reason = str(exc)
        else:
            yield url
            return
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"PostgreSQL required ({REQUIRE_ENV}=1) but unavailable: {reason}", pytrace=False)
    pytest.skip(f"no PostgreSQL: {reason}")


@pytest.fixture
def postgres_db_url(postgres_url: str) -> Iterator[str]:
    """`postgres_url` scoped to a fresh, empty schema for this test, dropped afterwards."""
    with isolated_schema(postgres_url) as url:
        yield url
