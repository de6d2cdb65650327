"""The fact records pulled out of Postal log lines (see :mod:`postaltop.core.facts`).

String fields hold text from the log, which clients partly control (addresses, paths): pass
them through :func:`postaltop.core.sanitize.display_text` before showing them. Each is capped at
:data:`MAX_FIELD` characters.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

MAX_FIELD = 512
"""Longest string kept in a fact field (longer values are cut)."""


class HoldReason(StrEnum):
    """Why the worker held a message."""

    CREDENTIAL = "credential"
    SUPPRESSION = "suppression"
    SEND_LIMIT = "send_limit"
    DEVELOPMENT = "development"
    SUSPENDED = "suspended"


@dataclass(frozen=True, slots=True)
class Fact:
    """Base of every fact: when, where and which ingested line (``seq``) it came from."""

    ts: float
    host: str
    seq: int


@dataclass(frozen=True, slots=True)
class AuthFailure(Fact):
    """``Authentication failure for <ip>`` (v3 WARN) or v2 ``AUTH failure for <ip>``.

    ``detail`` is the CRAM-MD5 variant's reason (``no server found matching x``, ``invalid credential``).
    """

    ip: str
    detail: str | None = None
    trace_id: str | None = None


@dataclass(frozen=True, slots=True)
class AuthGranted(Fact):
    """``=> 235 Granted for <org>/<server>``: a successful SMTP AUTH."""

    org: str
    server: str
    trace_id: str | None = None


@dataclass(frozen=True, slots=True)
class CredentialAuthenticated(Fact):
    """``Authenticated with with credential <id>`` (CRAM-MD5 success)."""

    credential_id: int
    trace_id: str | None = None


@dataclass(frozen=True, slots=True)
class InvalidCredential(Fact):
    """``=> 535 Invalid credential``."""

    trace_id: str | None = None


@dataclass(frozen=True, slots=True)
class SuspendedRejection(Fact):
    """``=> 535 Mail server has been suspended``: a suspended server tried to send."""

    trace_id: str | None = None


@dataclass(frozen=True, slots=True)
class SmtpRejected(Fact):
    """Any other 4xx/5xx reply of Postal's SMTP server (530 auth required, 550, 552 ...)."""

    code: int
    reply: str
    trace_id: str | None = None


@dataclass(frozen=True, slots=True)
class ClientIdentified(Fact):
    """``Client identified as <ip>``: the address of an SMTP connection (``trace_id`` names it)."""

    ip: str
    trace_id: str | None = None


@dataclass(frozen=True, slots=True)
class MessageHeld(Fact):
    """The worker held a message; ``send_limit`` is set for send-limit holds."""

    reason: HoldReason
    send_limit: int | None = None
    queued_message: int | None = None


@dataclass(frozen=True, slots=True)
class DeliveryAccepted(Fact):
    """``Accepted by <ip>:<port> (<host>) for <rcpt>``: the remote MX took the message."""

    rcpt: str
    mx_ip: str
    mx_port: int | None
    mx_host: str
    log_id: str | None = None
    queued_message: int | None = None


@dataclass(frozen=True, slots=True)
class DeliveryFailed(Fact):
    """``<Net::SMTP… class>: <remote reply>``; ``permanent`` is True for HardFail classes."""

    permanent: bool
    error_class: str
    reply: str
    log_id: str | None = None
    queued_message: int | None = None


@dataclass(frozen=True, slots=True)
class ConnectFailed(Fact):
    """``Cannot connect to <endpoint> (<Class>: <msg>)``."""

    endpoint: str
    error: str
    log_id: str | None = None


@dataclass(frozen=True, slots=True)
class SendingMessage(Fact):
    """``Sending message <server_id>::<message_id> to <rcpt>``: links ``log_id`` to a message."""

    server_id: int
    message_id: int
    rcpt: str
    log_id: str | None = None
    queued_message: int | None = None


@dataclass(frozen=True, slots=True)
class QueueLatency(Fact):
    """``queue latency is <float>s``."""

    seconds: float
    queued_message: int | None = None


@dataclass(frozen=True, slots=True)
class MessageRequeued(Fact):
    """``message requeued for trying later`` (with ``retry_after`` when logged)."""

    retry_after: float | None = None
    retry_after_text: str | None = None
    queued_message: int | None = None


@dataclass(frozen=True, slots=True)
class MessageHardFailed(Fact):
    """Worker hard-failed a message: ``reason`` is ``max_attempts`` or ``spam``."""

    reason: str
    spam_score: float | None = None
    threshold: float | None = None
    queued_message: int | None = None


@dataclass(frozen=True, slots=True)
class SuppressionAdded(Fact):
    """``Added <rcpt> to suppression list because <n> hard fails in 24 hours``."""

    rcpt: str
    hard_fails: int | None = None


@dataclass(frozen=True, slots=True)
class SuppressionRemoved(Fact):
    """``removed <rcpt> from suppression list``."""

    rcpt: str


@dataclass(frozen=True, slots=True)
class WebRequest(Fact):
    """One web request (``GET /path (200)`` with ``event=request`` tags)."""

    method: str
    path: str
    status: int
    ip: str | None = None
    view_runtime: float | None = None
    db_runtime: float | None = None


@dataclass(frozen=True, slots=True)
class InternalError(Fact):
    """``internal error: <Class>: <msg>`` while processing a queued message."""

    error_class: str
    error: str
    queued_message: int | None = None


@dataclass(frozen=True, slots=True)
class WebhookResult(Fact):
    """``Received <code> status code. That's OK.`` / ``… That's not OK.``."""

    status_code: int
    ok: bool
    webhook_request: int | None = None


SOFT_FAIL_CLASSES = frozenset(
    {
        "Net::SMTPServerBusy",
        "Net::SMTPAuthenticationError",
        "Net::SMTPSyntaxError",
        "Net::SMTPUnknownError",
        "Net::ReadTimeout",
    }
)
HARD_FAIL_CLASSES = frozenset({"Net::SMTPFatalError"})
