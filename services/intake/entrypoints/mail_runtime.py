"""The email channel's listeners in the intake process: the SMTP listener (HAQ_MAIL_SMTP_ENABLED)
and the IMAP poller (HAQ_MAIL_IMAP_HOST), started and stopped with the gRPC server."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from services.common.grpc_server import GrpcServer
from services.common.outbox import OutboxRelay
from services.common.runtime import ServiceRuntime
from services.common.settings import Settings

from ..mail_service import MailIntake
from ..service import IntakeService
from ..settings import MailSettings, get_mail_settings
from .imap_poller import ImapPoller
from .smtp_in import SmtpListener

log = logging.getLogger(__name__)


class MailChannels:
    def __init__(self, listeners: list[SmtpListener | ImapPoller]):
        self.listeners = listeners

    @classmethod
    def build(
        cls, service: IntakeService, settings: Settings, mail: MailSettings | None = None
    ) -> MailChannels:
        mail = mail or get_mail_settings()
        listeners: list[SmtpListener | ImapPoller] = []
        if mail.smtp_enabled or mail.imap_host:
            intake = MailIntake(service, settings, mail)
            if mail.smtp_enabled:
                listeners.append(SmtpListener(intake, mail.smtp_host, mail.smtp_port, mail.max_message_bytes))
            if mail.imap_host:
                listeners.append(ImapPoller(intake, mail))
        return cls(listeners)

    def start(self) -> None:
        for listener in self.listeners:
            listener.start()

    def stop(self) -> None:
        for listener in reversed(self.listeners):
            listener.stop()


class IntakeRuntime(ServiceRuntime):
    """ServiceRuntime plus the email channel's listeners (started last, stopped first)."""

    def __init__(
        self,
        name: str,
        grpc_server: GrpcServer | None,
        relay: OutboxRelay | None,
        mail: MailChannels,
        **kw: Any,
    ):
        super().__init__(name, grpc_server, relay, **kw)
        self.mail = mail

    async def on_start(self) -> None:
        await super().on_start()
        await asyncio.to_thread(self.mail.start)

    async def on_stop(self) -> None:
        await asyncio.to_thread(self.mail.stop)
        await super().on_stop()
