"""E-mail notifications into a real local SMTP server (aiosmtpd), with login refused and retried paths."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from postaltop.notify.channels import DeliveryError, EmailChannel
from postaltop.notify.dispatcher import Dispatcher
from tests.watch.test_notify import drain, event, no_sleep


class Sink:
    """Keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], Message]] = []
        self.reply = "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.reply.startswith("250"):
            self.messages.append(
                (envelope.mail_from, list(envelope.rcpt_tos), message_from_bytes(envelope.content))
            )
        return self.reply


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp_sink() -> Iterator[tuple[Sink, int]]:
    sink = Sink()
    port = _free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink, port
    controller.stop()


def channel(port: int) -> EmailChannel:
    return EmailChannel(
        "127.0.0.1",
        port,
        "postaltop@example.com",
        ["oncall@example.com", "lead@example.com"],
        starttls=False,
        runbook_base="https://wiki.example/runbook",
        timeout=5,
    )


async def test_firing_and_resolved_mail(smtp_sink: tuple[Sink, int]) -> None:
    sink, port = smtp_sink
    await channel(port).send(event())
    await channel(port).send(event("resolved", at=event().started_at + 1800))
    assert len(sink.messages) == 2
    sender, rcpts, msg = sink.messages[0]
    assert sender == "postaltop@example.com"
    assert rcpts == ["oncall@example.com", "lead@example.com"]
    assert msg["Subject"].startswith("[FIRING critical] Sending far above normal")
    assert msg["X-Postaltop-Incident"] == "zscore|credential:1"
    body = msg.get_payload(decode=True).decode()
    assert "Observed: sent = 941 (expected 25)" in body
    assert "Runbook: https://wiki.example/runbook#alert-sending-far-above-normal" in body
    resolved = sink.messages[1][2]
    assert resolved["Subject"].startswith("[RESOLVED]")
    assert "(after 30 min)" in resolved.get_payload(decode=True).decode()


async def test_temporary_smtp_failure_is_retried(smtp_sink: tuple[Sink, int], tmp_path: Path) -> None:
    sink, port = smtp_sink
    sink.reply = "451 try later"
    with pytest.raises(DeliveryError) as info:
        await channel(port).send(event())
    assert not info.value.permanent
    sink.reply = "554 rejected"
    dispatcher = Dispatcher([channel(port)], dead_letter=tmp_path / "dead.jsonl", sleep=no_sleep)
    dispatcher.submit(event())
    await drain(dispatcher)
    assert dispatcher.stats.dead_letters == {"email": 1}  # a 5xx is permanent: not retried
    sink.reply = "250 OK"
    dispatcher.submit(event("resolved"))
    await drain(dispatcher)
    assert len(sink.messages) == 1


async def test_login_needs_starttls_and_fails_cleanly_without_it(smtp_sink: tuple[Sink, int]) -> None:
    _sink, port = smtp_sink
    mail = channel(port)
    mail.starttls = True  # the sink offers no STARTTLS: the channel must not send in clear
    with pytest.raises(DeliveryError) as info:
        await mail.send(event())
    assert "SMTP" in str(info.value)
