"""The notification channels: each sends one :class:`NotificationEvent` or raises :class:`DeliveryError`.

HTTP goes through ``urllib`` in a worker thread and e-mail through ``smtplib`` in a worker thread, so the
event loop never blocks and no HTTP client library is needed. Error messages never contain a URL or a key:
webhook URLs and routing keys are secrets.
"""

from __future__ import annotations

import asyncio
import json
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, Protocol

from postaltop.core.notification import NotificationEvent
from postaltop.notify import content


class DeliveryError(Exception):
    """A delivery failed; ``permanent`` ones (a 4xx other than 408/429) are not retried."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Channel(Protocol):
    """Something notifications can be sent to."""

    name: str
    refresh_interval: float | None
    """Seconds between re-sends of an open incident that the receiver needs (Alertmanager), or None."""

    async def send(self, event: NotificationEvent) -> None:
        """Deliver ``event`` once; raises :class:`DeliveryError`."""
        ...


def _post_json(url: str, body: Any, timeout: float) -> int:
    data = json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "application/json", "User-Agent": "postaltop"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read(65_536)
            return int(response.status)
    except urllib.error.HTTPError as exc:
        status = exc.code
        permanent = 400 <= status < 500 and status not in (408, 425, 429)
        raise DeliveryError(f"HTTP {status}", permanent=permanent) from None
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryError(f"connection failed: {type(reason).__name__}") from None


@dataclass
class AlertmanagerChannel:
    """Posts to Alertmanager's ``/api/v2/alerts`` (re-posted every ``refresh_interval`` while open)."""

    url: str
    runbook_base: str = "docs/runbook.md"
    refresh_interval: float | None = 60.0
    timeout: float = 10.0
    name: str = "alertmanager"
    clock: Callable[[], float] = field(default=time.time, repr=False)
    """Alertmanager's time base: the wall clock."""
    labels: dict[str, str] = field(default_factory=dict)
    """Extra labels on every alert (which watch instance / host group posted it)."""

    @property
    def endpoint(self) -> str:
        """The alerts endpoint."""
        return self.url.rstrip("/") + "/api/v2/alerts"

    async def send(self, event: NotificationEvent) -> None:
        """POST the alert; a firing one ends three refresh intervals from now unless re-posted."""
        now = self.clock()
        ends = now + 3 * self.refresh_interval if event.firing and self.refresh_interval else None
        body = content.alertmanager_payload(
            wall_clock_event(event, now), self.runbook_base, ends_at=ends, labels=self.labels
        )
        await asyncio.to_thread(_post_json, self.endpoint, body, self.timeout)


def wall_clock_event(event: NotificationEvent, now: float) -> NotificationEvent:
    """``event`` with no time after ``now``: Alertmanager resolves an alert once its end has passed by its own
    clock and refuses one ending before it starts, while a demo running faster than real time stamps its
    incidents ahead of the wall clock. Live, every time is already in the past and nothing changes."""
    starts = min(event.started_at, now)
    ended = None if event.ended_at is None else max(starts, min(event.ended_at, now))
    if (starts, ended, min(event.at, now)) == (event.started_at, event.ended_at, event.at):
        return event
    return replace(event, started_at=starts, ended_at=ended, at=max(starts, min(event.at, now)))


@dataclass
class SlackChannel:
    """A Slack incoming webhook."""

    webhook_url: str = field(repr=False)
    runbook_base: str = "docs/runbook.md"
    timeout: float = 10.0
    name: str = "slack"
    refresh_interval: float | None = None

    async def send(self, event: NotificationEvent) -> None:
        """POST the message."""
        body = content.slack_payload(event, self.runbook_base)
        await asyncio.to_thread(_post_json, self.webhook_url, body, self.timeout)


@dataclass
class PagerDutyChannel:
    """PagerDuty Events API v2."""

    routing_key: str = field(repr=False)
    url: str = "https://events.pagerduty.com/v2/enqueue"
    runbook_base: str = "docs/runbook.md"
    timeout: float = 10.0
    name: str = "pagerduty"
    refresh_interval: float | None = None

    async def send(self, event: NotificationEvent) -> None:
        """Enqueue a trigger or a resolve."""
        body = content.pagerduty_payload(event, self.routing_key, self.runbook_base)
        await asyncio.to_thread(_post_json, self.url, body, self.timeout)


@dataclass
class EmailChannel:
    """E-mail over SMTP (STARTTLS or implicit TLS with certificate checks, optional login)."""

    host: str
    port: int
    sender: str
    recipients: list[str]
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = True
    tls: bool = False
    runbook_base: str = "docs/runbook.md"
    timeout: float = 20.0
    ssl_context: ssl.SSLContext | None = field(default=None, repr=False)
    name: str = "email"
    refresh_interval: float | None = None

    def message(self, event: NotificationEvent) -> EmailMessage:
        """The message that :meth:`send` delivers."""
        msg = EmailMessage()
        msg["Subject"] = content.email_subject(event)
        msg["From"] = self.sender
        msg["To"] = ", ".join(self.recipients)
        msg["Date"] = formatdate(event.at, usegmt=True)
        msg["Message-ID"] = make_msgid(domain="postaltop.invalid")
        msg["X-Postaltop-Incident"] = event.key
        msg.set_content(content.email_body(event, self.runbook_base))
        return msg

    def _send_blocking(self, msg: EmailMessage) -> None:
        context = self.ssl_context or ssl.create_default_context()
        smtp: smtplib.SMTP
        if self.tls:
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with smtp:
            smtp.ehlo()
            if self.starttls and not self.tls:
                smtp.starttls(context=context)
                smtp.ehlo()
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(msg)

    async def send(self, event: NotificationEvent) -> None:
        """Deliver the message to every recipient."""
        msg = self.message(event)
        try:
            await asyncio.to_thread(self._send_blocking, msg)
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"SMTP login refused ({exc.smtp_code})", permanent=True) from None
        except smtplib.SMTPResponseException as exc:
            permanent = 500 <= exc.smtp_code < 600
            raise DeliveryError(f"SMTP {exc.smtp_code}", permanent=permanent) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP failed: {type(exc).__name__}") from None
