"""Every Kafka topic Haq uses, declared once, and created at start-up."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError
from tenacity import retry, stop_after_delay, wait_exponential

from .settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    description: str
    config: tuple[tuple[str, str], ...] = ()


def lifecycle(settings: Settings) -> TopicSpec:
    return TopicSpec(
        "haq.complaints.lifecycle.v1",
        settings.lifecycle_partitions,
        "every event of a complaint's life, protobuf + CloudEvents binary headers, keyed by complaint id",
    )


def raw_intake(settings: Settings) -> TopicSpec:
    return TopicSpec(
        "haq.intake.raw.v1",
        settings.raw_partitions,
        "JSON CloudEvents (structured mode) posted by integrations",
    )


def dead_letter(settings: Settings) -> TopicSpec:
    return TopicSpec(
        "haq.deadletter.v1",
        1,
        "refused input with the reason and the original bytes (haq.v1.DeadLetter)",
    )


LIFECYCLE_TOPIC = "haq.complaints.lifecycle.v1"
RAW_TOPIC = "haq.intake.raw.v1"
DEAD_LETTER_TOPIC = "haq.deadletter.v1"


def all_topics(settings: Settings) -> list[TopicSpec]:
    return [lifecycle(settings), raw_intake(settings), dead_letter(settings)]


@retry(stop=stop_after_delay(60), wait=wait_exponential(multiplier=0.2, max=3), reraise=True)
def ensure_topics(settings: Settings) -> None:
    """Create missing topics; existing ones are left as they are. Retries while the broker starts."""
    admin = KafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id="haq-topic-admin",
        request_timeout_ms=int(settings.kafka_request_timeout_s * 1000),
    )
    try:
        existing = set(admin.list_topics())
        missing = [t for t in all_topics(settings) if t.name not in existing]
        for spec in missing:
            try:
                admin.create_topics(
                    [NewTopic(spec.name, spec.partitions, 1, topic_configs=dict(spec.config))]
                )
                log.info("created topic %s (%d partitions)", spec.name, spec.partitions)
            except TopicAlreadyExistsError:
                pass
    finally:
        admin.close()
