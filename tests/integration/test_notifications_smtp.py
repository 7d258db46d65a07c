"""SmtpSender against a real SMTP server (aiosmtpd in the test process): one kept-open connection
for many messages and threads, a transparent reconnect when the server closed it (restarted, or
dropped the idle client), an idle close, and recipients that are exactly one address."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

from services.common.broker import free_port
from services.notifications.adapters.smtp import (
    RecipientRefused,
    SmtpSender,
    build_message,
    check_recipient,
    is_transient,
)
from services.notifications.domain.templates import RenderedMessage

pytestmark = pytest.mark.integration

HOST = "127.0.0.1"


class Server:
    """Accepted messages, and every connection the server saw opened and closed."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list[tuple[tuple[str, int], list[str]]] = []
        self.opened = 0
        self.closed = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd hook name)
        with self.lock:
            self.messages.append((session.peer, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"

    def peers(self) -> set[tuple[str, int]]:
        with self.lock:
            return {peer for peer, _ in self.messages}


class CountingController(Controller):
    """aiosmtpd calls factory() once per accepted connection."""

    def factory(self) -> SMTP:
        box: Server = self.handler
        with box.lock:
            box.opened += 1

        class Counted(SMTP):
            def connection_lost(self, error: Exception | None) -> None:
                with box.lock:
                    box.closed += 1
                super().connection_lost(error)

        return Counted(self.handler, **self.SMTP_kwargs)


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def smtp_server(port: int) -> Iterator[Callable[..., Server]]:
    running: list[Controller] = []

    def start(box: Server | None = None, **smtp_kwargs) -> Server:
        box = box or Server()
        controller = CountingController(box, hostname=HOST, port=port, **smtp_kwargs)
        controller.start()
        running.append(controller)
        # start() opens (and closes) one probe connection of its own: count from after it
        wait_for(lambda: box.closed >= 1)
        with box.lock:
            box.opened = box.closed = 0
        return box

    def stop_all() -> None:
        while running:
            running.pop().stop()

    start.stop_all = stop_all  # type: ignore[attr-defined]
    yield start
    stop_all()


@pytest.fixture
def sender(port: int) -> Iterator[SmtpSender]:
    s = SmtpSender(HOST, port, timeout_s=5)
    yield s
    s.close()


def message(n: int, recipient: str = "sara@example.com") -> EmailMessage:
    rendered = RenderedMessage("acknowledgement", "en", "", f"Received {n}", f"text {n}", f"<p>{n}</p>")
    return build_message(
        rendered, sender="Haq <noreply@haq.example>", recipient=recipient, notification_id=f"n-{n}"
    )


def wait_for(predicate: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def test_many_messages_use_one_connection(smtp_server, sender):
    box = smtp_server()
    for n in range(20):
        sender.send(message(n))
    assert len(box.messages) == 20
    assert len(box.peers()) == 1
    assert box.opened == 1 and sender.connections_opened == 1


def test_threads_share_the_one_connection(smtp_server, sender):
    box = smtp_server()

    def work(t: int) -> None:
        for n in range(10):
            sender.send(message(t * 100 + n, recipient=f"user{t}-{n}@example.com"))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(box.messages) == 40 and box.opened == 1
    assert sorted(r for _, [r] in box.messages) == sorted(
        f"user{t}-{n}@example.com" for t in range(4) for n in range(10)
    )


def test_a_restarted_server_is_reconnected_to(smtp_server, sender):
    first = smtp_server()
    sender.send(message(1))
    smtp_server.stop_all()  # the server goes away, with our connection
    second = smtp_server()
    sender.send(message(2))  # no error: a new connection, the message sent once
    sender.send(message(3))
    assert len(first.messages) == 1
    assert len(second.messages) == 2 and second.opened == 1
    assert sender.connections_opened == 2


def test_a_connection_the_server_dropped_while_idle_is_replaced(smtp_server, sender):
    box = smtp_server(timeout=0.3)  # aiosmtpd answers 421 and hangs up on a client idle this long
    sender.send(message(1))
    wait_for(lambda: box.closed == 1)
    sender.send(message(2))
    assert len(box.messages) == 2 and box.opened == 2


def test_the_sender_closes_an_idle_connection_and_on_close(smtp_server, port):
    box = smtp_server()
    idle = SmtpSender(HOST, port, timeout_s=5, idle_s=0.2)
    try:
        idle.send(message(1))
        wait_for(lambda: box.closed == 1)  # closed by the sender: the server's own timeout is 300 s
        idle.send(message(2))
        assert box.opened == 2
    finally:
        idle.close()
    wait_for(lambda: box.closed == 2)
    assert len(box.messages) == 2


def test_a_refused_recipient_keeps_the_connection(smtp_server, sender):
    class Refusing(Server):
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
            if address.startswith("gone"):
                return "550 5.1.1 No such mailbox"
            envelope.rcpt_tos.append(address)
            return "250 OK"

    box = smtp_server(Refusing())
    with pytest.raises(Exception) as err:
        sender.send(message(1, recipient="gone@example.com"))
    assert not is_transient(err.value)
    sender.send(message(2))
    assert len(box.messages) == 1 and box.opened == 1


@pytest.mark.parametrize(
    "recipient",
    [
        "victim@example.com,postmaster",
        "victim@example.com; other@example.com",
        "victim@example.com\r\nBcc: other@example.com",
        "victim@example.com\n",
        "victim@example.com <other@example.com>",
        "postmaster",
        "",
    ],
)
def test_a_recipient_that_is_not_one_address_is_refused_before_sending(smtp_server, sender, recipient):
    box = smtp_server()
    with pytest.raises(RecipientRefused) as err:
        build_message(
            RenderedMessage("t", "en", "", "s", "t", "<p>t</p>"),
            sender="noreply@haq.example",
            recipient=recipient,
            notification_id="n-1",
        )
    assert not is_transient(err.value)
    assert "victim" not in str(err.value)  # the refusal does not quote the address
    two = message(1)
    two.replace_header("To", "a@example.com, b@example.com")  # a message built elsewhere
    with pytest.raises(RecipientRefused):
        sender.send(two)
    cc = message(2)
    cc["Cc"] = "c@example.com"
    with pytest.raises(RecipientRefused):
        sender.send(cc)
    assert box.messages == [] and box.opened == 0


def test_one_plain_address_or_name_and_address_is_accepted():
    assert check_recipient("sara@example.com") == "sara@example.com"
    assert check_recipient("Sara Ahmadi <sara@example.com>") == "Sara Ahmadi <sara@example.com>"
