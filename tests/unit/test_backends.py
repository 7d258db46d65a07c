"""The test backend switch (tests/backends.py): pure parts, no Docker needed."""

from __future__ import annotations

import pytest

from tests.backends import BACKEND_ENV, BackendUnavailable, chosen_backend, kafka_environment


def test_the_local_backend_is_the_default_and_testcontainers_is_chosen_by_name():
    assert chosen_backend({}) == "local"
    assert chosen_backend({BACKEND_ENV: " "}) == "local"
    assert chosen_backend({BACKEND_ENV: "testcontainers"}) == "testcontainers"


def test_a_misspelt_backend_is_refused_with_the_choices():
    with pytest.raises(BackendUnavailable, match="testcontainer.*local, testcontainers"):
        chosen_backend({BACKEND_ENV: "testcontainer"})


def test_the_kafka_container_advertises_the_address_clients_dial_and_has_one_replica():
    env = kafka_environment("127.0.0.1:39092")
    assert env["KAFKA_ADVERTISED_LISTENERS"] == "PLAINTEXT://127.0.0.1:39092"
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "1"
    # Topics are created by the services (services/common/topics.py), never by a typo in a client.
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
