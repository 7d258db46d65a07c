"""Typed settings for every Haq process, read from HAQ_* environment variables.

Every field has an embedded default, so each service runs with zero configuration on the
local broker and SQLite. Production overrides the broker and the database URLs.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

SERVICES = ("intake", "routing", "escalation", "notifications")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HAQ_", extra="ignore")

    # Kafka. The timeouts are explicit because the defaults misbehave on the local broker:
    # a 300 s poll interval can stall a group join, and a 5 s one drops a busy faust worker.
    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka_max_poll_interval_s: float = 30.0
    kafka_session_timeout_s: float = 10.0
    kafka_heartbeat_interval_s: float = 1.0
    kafka_request_timeout_s: float = 30.0
    # How long the broker may hold a consumer's fetch when no records are waiting (faust's own
    # 1.5 s adds that much to each hop on the local broker).
    kafka_fetch_max_wait_ms: int = 50
    lifecycle_partitions: int = 6
    # Consumers take up to this many records at a time (or what came within the window) and apply
    # them in one transaction; a failing batch falls back to one event at a time.
    consumer_batch_max: int = 500
    consumer_batch_window_s: float = 0.02
    # Processed-event markers are kept longer than any topic keeps records (Kafka's default
    # retention is 7 days), then pruned hourly.
    processed_events_retention_days: float = 14.0
    raw_partitions: int = 3

    data_dir: Path = Path("var")

    # Telemetry: OTLP collector (gRPC, e.g. http://otel-collector:4317); spans as JSON lines to a file.
    otlp_endpoint: str = ""
    trace_file: str = ""
    log_level: str = "info"
    tenant: str = "default"

    # Authentication: the HS256 secret that signs every token (services.common.auth). Set, every
    # gRPC API and the HTTP CloudEvents endpoint demand a token; empty, auth is off (the embedded
    # default, for a single service in tests) and each service warns loudly at start.
    # Production must set it (long and random), the same in every service and the dashboard.
    auth_secret: str = ""

    # Databases: one per service. Empty means SQLite under data_dir.
    intake_database_url: str = ""
    routing_database_url: str = ""
    escalation_database_url: str = ""
    notifications_database_url: str = ""

    # gRPC ports (all services listen on host below).
    grpc_host: str = "127.0.0.1"
    intake_grpc_port: int = 50051
    routing_grpc_port: int = 50052
    escalation_grpc_port: int = 50053
    notifications_grpc_port: int = 50054

    # Where clients reach each service; empty means grpc_host:port. In containers, set these to
    # the service names (routing:50052), since grpc_host is then the listen address 0.0.0.0.
    intake_grpc_target: str = ""
    routing_grpc_target: str = ""
    escalation_grpc_target: str = ""
    notifications_grpc_target: str = ""

    # HTTP ports: intake's doubles as the CloudEvents webhook endpoint; all serve /metrics.
    http_host: str = "127.0.0.1"
    intake_http_port: int = 8080
    routing_http_port: int = 8081
    escalation_http_port: int = 8082
    notifications_http_port: int = 8083

    # Outbox relay: set enabled=false to run a service that records events but leaves
    # relaying to another process (and, in tests, to prove nothing is lost on a crash).
    outbox_relay_enabled: bool = True
    outbox_poll_interval_s: float = 0.2

    # Notifications: SMTP (the local sink in `make run`).
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_sender: str = "Haq <care@haq.local>"
    smtp_timeout_s: float = 10.0

    # Escalation: how often due deadlines are looked for.
    deadline_tick_s: float = 0.25

    # Routing: the seeded directory of teams and agents.
    directory_file: Path = Path(__file__).resolve().parents[1] / "routing" / "seed" / "directory.yaml"

    def service_token(self) -> str | None:
        """The token this process sends when it calls another Haq service (None when auth is off)."""
        if not self.auth_secret:
            return None
        from .auth import mint_token

        # Minted once per process start; a year outlives any deployment's restart cycle.
        return mint_token(self.auth_secret, "haq-service", self.tenant, ["service"], ttl_s=365 * 24 * 3600)

    def database_url(self, service: str) -> str:
        url = getattr(self, f"{service}_database_url")
        if url:
            return url
        return f"sqlite:///{(self.data_dir / f'{service}.db').resolve()}"

    def grpc_port(self, service: str) -> int:
        return getattr(self, f"{service}_grpc_port")

    def http_port(self, service: str) -> int:
        return getattr(self, f"{service}_http_port")

    def grpc_target(self, service: str) -> str:
        explicit = getattr(self, f"{service}_grpc_target")
        if explicit:
            return explicit
        host = "127.0.0.1" if self.grpc_host in ("0.0.0.0", "::") else self.grpc_host
        return f"{host}:{self.grpc_port(service)}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
