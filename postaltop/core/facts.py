"""Typed facts pulled out of Postal log lines, for metrics and detection.

Every ingested line is offered to :func:`extract_fact`, so the common case — a line that
carries no fact — must cost almost nothing: the scan compares the first 4 message bytes with
:data:`FACT_KEYS` (one set lookup) and only candidates reach a handler, which then applies one
anchored regex. Extraction never raises: any surprise in the input yields ``None``.

String fields hold text from the log, which clients partly control (addresses, paths): pass
them through :func:`postaltop.core.sanitize.display_text` before showing them. Each is capped at
:data:`MAX_FIELD` characters.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from postaltop.core.events import Level, LineFormat
from postaltop.core.parsing.prefixes import civil_to_epoch
from postaltop.core.parsing.v2 import split_context
from postaltop.core.parsing.v3 import KNOWN_TAG_KEYS, SGR, TAG_START_BYTES, tag_value

_KNOWN_KEYS = frozenset(k.encode() for k in KNOWN_TAG_KEYS)
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

_Base = tuple[float, str, int]
_Handler = Callable[[bytes, int, _Base], "Fact | None"]


def _text(raw: bytes | None) -> str | None:
    return None if raw is None else raw[:MAX_FIELD].decode("utf-8", "backslashreplace")


def _int(raw: bytes | str | None) -> int | None:
    if raw is None or not raw.isdigit() or len(raw) > 18:
        return None
    return int(raw)


def _float(text: str | None) -> float | None:
    try:
        return None if text is None else float(text)
    except ValueError:
        return None


def message_end(line: bytes, ms: int) -> int:
    """Offset where the tags of a v3 line start (its length if it has none).

    Walks the ``=`` signs (few per line) and checks the word before each against the known
    keys; cheaper than a regex alternation of ~40 keys tried at every position.
    """
    j = line.find(b"=", ms)
    while j >= 0:
        sp = line.rfind(b" ", ms - 1 if ms > 0 else 0, j)
        if sp >= 0 and line[sp + 1 : j] in _KNOWN_KEYS:
            return sp
        if sp < 0 and ms == 0 and line[:j] in _KNOWN_KEYS:
            return 0
        j = line.find(b"=", j + 1)
    return len(line)


def _message(line: bytes, ms: int) -> str:
    """The message part (up to the first known tag), SGR-stripped and decoded."""
    end = max(message_end(line, ms), ms)
    text = line[ms : min(end, ms + 4 * MAX_FIELD)].decode("utf-8", "backslashreplace")
    return SGR.sub("", text) if "\x1b" in text else text


def _tag_text(line: bytes, key: bytes) -> str | None:
    """Value of the last `` key=`` tag (``key`` given as ``b" name="``), decoded; for id-like tags."""
    i = line.rfind(key)
    if i < 0:
        return None
    i += len(key)
    j = line.find(b" ", i)
    return line[i : j if j >= 0 else i + 64][:64].decode("utf-8", "backslashreplace")


def _queued(line: bytes) -> int | None:
    """The ``queued_message`` tag (else ``original_queued_message``) as an int."""
    i = line.rfind(b" queued_message=")
    if i < 0:
        i = line.rfind(b"_queued_message=")
        if i < 0:
            return None
    i += 16
    j = line.find(b" ", i)
    raw = line[i:j] if j >= 0 else line[i:]
    return int(raw) if raw.isdigit() and len(raw) < 19 else None


def _d(raw: bytes) -> str:
    return raw[:MAX_FIELD].decode("utf-8", "backslashreplace")


def _b(line: bytes, ms: int, key: bytes) -> bytes | None:
    return tag_value(line, key, ms)


def _qm(line: bytes, ms: int) -> int | None:
    found = tag_value(line, b"queued_message", ms)
    if found is None:
        found = tag_value(line, b"original_queued_message", ms)
    return _int(found)


_AUTH_FAIL = re.compile(r"Authentication failure for (\S+)(?: \((.*)\))?")
_AUTH_CRED = re.compile(r"Authenticated with with credential (\d+)")
_REPLY = re.compile(r"=> ([2-5]\d\d)[ -]?(.*)")
_GRANTED = re.compile(r"Granted for ([^/\s]+)/(\S+)")
_CLIENT = re.compile(rb"(?:\x1b\[35m)?Client identified as ([^\s\x1b]{1,64})")
_SENDING = re.compile(rb"Sending message (\d{1,18})::(\d{1,18}) to (\S+)")
_ACCEPTED = re.compile(rb"Accepted by ([^\s:]+|\[[^\]\s]*\])(?::(\d{1,5}))? \(([^)\s]*)\) for (\S+)")
_NET = re.compile(r"(Net::\w+): ?(.*)")
_CANNOT = re.compile(r"Cannot connect to (\S+) \((.*)\)")
_LATENCY = re.compile(rb"queue latency is (\d{1,12}(?:\.\d{1,20})?(?:e-?\d{1,3})?)s")
_REQUEUE_AT = re.compile(r"message requeued for trying later, at (.+)")
_SPAM = re.compile(r"message is spam \(([-\d.]+)\), hard failing")
_SUPP_ADD = re.compile(r"Added (\S+) to suppression list because (\d+) hard fails")
_SUPP_DEL = re.compile(r"removed (\S+) from suppression list")
_INTERNAL = re.compile(r"internal error: ([\w:]+): (.*)")
_WEBHOOK = re.compile(r"Received (\d{3}) status code\. That's (not )?OK")
_WEB = re.compile(r"([A-Z]{3,7}) (\S+) \((\d{3})\)")
_TIME = re.compile(r"(\d{4})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)")

_HOLDS: tuple[tuple[str, HoldReason], ...] = (
    ("credential", HoldReason.CREDENTIAL),
    ("suppression list", HoldReason.SUPPRESSION),
    ("send limit", HoldReason.SEND_LIMIT),
    ("development mode", HoldReason.DEVELOPMENT),
    ("suspended", HoldReason.SUSPENDED),
)


def _auth(line: bytes, ms: int, b: _Base) -> Fact | None:
    msg = _message(line, ms)
    m = _AUTH_FAIL.match(msg)
    trace = _text(_b(line, ms, b"trace_id"))
    if m is not None:
        return AuthFailure(ts=b[0], host=b[1], seq=b[2], ip=m[1][:MAX_FIELD], detail=m[2], trace_id=trace)
    c = _AUTH_CRED.match(msg)
    if c is not None:
        return CredentialAuthenticated(ts=b[0], host=b[1], seq=b[2], credential_id=int(c[1]), trace_id=trace)
    return None


def _reply(line: bytes, ms: int, b: _Base) -> Fact | None:
    msg = _message(line, ms)
    m = _REPLY.match(msg)
    if m is None or m[1][0] in "3":
        return None
    code, text = int(m[1]), m[2].rstrip()
    trace = _text(_b(line, ms, b"trace_id"))
    if code == 235:
        g = _GRANTED.match(text)
        if g is None:
            return None
        return AuthGranted(ts=b[0], host=b[1], seq=b[2], org=g[1], server=g[2][:MAX_FIELD], trace_id=trace)
    if code < 400:
        return None
    if code == 535 and text.startswith("Invalid credential"):
        return InvalidCredential(ts=b[0], host=b[1], seq=b[2], trace_id=trace)
    if code == 535 and text.startswith("Mail server has been suspended"):
        return SuspendedRejection(ts=b[0], host=b[1], seq=b[2], trace_id=trace)
    return SmtpRejected(ts=b[0], host=b[1], seq=b[2], code=code, reply=text[:MAX_FIELD], trace_id=trace)


def _client(line: bytes, ms: int, b: _Base) -> Fact | None:
    # normal mode: no escapes; proxy-protocol mode wraps the message in `\x1b[35m … \x1b[0m`
    m = _CLIENT.match(line, ms)
    if m is None:
        return None
    return ClientIdentified(b[0], b[1], b[2], _d(m[1]), _tag_text(line, b" trace_id="))


def _sending(line: bytes, ms: int, b: _Base) -> Fact | None:
    m = _SENDING.match(line, ms)
    if m is None:
        return None
    server_id, message_id, rcpt = m.groups()
    log_id = _tag_text(line, b" log_id=")
    return SendingMessage(b[0], b[1], b[2], int(server_id), int(message_id), _d(rcpt), log_id, _queued(line))


def _accepted(line: bytes, ms: int, b: _Base) -> Fact | None:
    m = _ACCEPTED.match(line, ms)
    if m is None:
        return None
    ip, port, mx, rcpt = m.groups()
    log_id = _tag_text(line, b" log_id=")
    return DeliveryAccepted(
        b[0], b[1], b[2], _d(rcpt), _d(ip), int(port) if port else None, _d(mx), log_id, _queued(line)
    )


def _net(line: bytes, ms: int, b: _Base) -> Fact | None:
    msg = _message(line, ms)
    m = _NET.match(msg)
    if m is None or (m[1] not in SOFT_FAIL_CLASSES and m[1] not in HARD_FAIL_CLASSES):
        return None
    return DeliveryFailed(
        ts=b[0], host=b[1], seq=b[2], permanent=m[1] in HARD_FAIL_CLASSES, error_class=m[1],
        reply=m[2].strip()[:MAX_FIELD], log_id=_text(_b(line, ms, b"log_id")), queued_message=_qm(line, ms),
    )  # fmt: skip


def _cannot(line: bytes, ms: int, b: _Base) -> Fact | None:
    msg = _message(line, ms)
    m = _CANNOT.match(msg)
    if m is None:
        return None
    log_id = _text(_b(line, ms, b"log_id"))
    return ConnectFailed(
        ts=b[0], host=b[1], seq=b[2], endpoint=m[1][:MAX_FIELD], error=m[2][:MAX_FIELD], log_id=log_id
    )


def _latency(line: bytes, ms: int, b: _Base) -> Fact | None:
    m = _LATENCY.match(line, ms)
    if m is None:
        return None
    return QueueLatency(b[0], b[1], b[2], float(m[1]), _queued(line))


def parse_time_text(text: str) -> float | None:
    """UNIX time of ``YYYY-MM-DD HH:MM:SS`` (UTC, as Postal logs ``retry_after``); None if not one."""
    m = _TIME.match(text.strip())
    if m is None:
        return None
    y, mo, d, h, mi, s = (int(x) for x in m.groups())
    return civil_to_epoch(y, mo, d, h, mi, s)


def _message_word(line: bytes, ms: int, b: _Base) -> Fact | None:
    """Lines starting ``message …`` (requeue, max attempts, spam) — v3 and v2 wording."""
    if line[ms + 8 : ms + 11] not in (b"req", b"has", b"is "):
        return None  # `message processing complete`, `message is incoming` …
    msg = _message(line, ms)
    low = msg.lower()
    if low.startswith("message requeued for trying later"):
        text = _text(_b(line, ms, b"retry_after"))
        if text is not None:
            # the value runs to the next tag and has spaces: `2026-04-28 09:27:14 UTC`
            i = line.rfind(b" retry_after=")
            m = TAG_START_BYTES.search(line, i + 13)
            text = _text(line[i + 13 : m.start() if m else len(line)])
        else:
            at = _REQUEUE_AT.match(msg)
            text = at[1].strip()[:MAX_FIELD] if at else None
        when = parse_time_text(text) if text else None
        return MessageRequeued(
            ts=b[0],
            host=b[1],
            seq=b[2],
            retry_after=when,
            retry_after_text=text,
            queued_message=_qm(line, ms),
        )
    if low.startswith("message has reached maximum number of attempts"):
        return MessageHardFailed(
            ts=b[0], host=b[1], seq=b[2], reason="max_attempts", queued_message=_qm(line, ms)
        )
    spam = _SPAM.match(msg)
    if spam is not None:
        return MessageHardFailed(
            ts=b[0], host=b[1], seq=b[2], reason="spam", spam_score=_float(spam[1]),
            threshold=_float(_text(_b(line, ms, b"server_threshold"))), queued_message=_qm(line, ms),
        )  # fmt: skip
    return None


def _hold(line: bytes, ms: int, b: _Base) -> Fact | None:
    msg = _message(line, ms)
    low = msg.lower()
    if "holding" not in low:
        return None
    for needle, reason in _HOLDS:
        if needle in low:
            limit = _int(_b(line, ms, b"send_limit")) if reason is HoldReason.SEND_LIMIT else None
            return MessageHeld(
                ts=b[0], host=b[1], seq=b[2], reason=reason, send_limit=limit, queued_message=_qm(line, ms)
            )
    return None


def _added(line: bytes, ms: int, b: _Base) -> Fact | None:
    if b" to suppression list" not in line:  # `Added external address …` is far more common
        return None
    msg = _message(line, ms)
    m = _SUPP_ADD.match(msg)
    if m is None:
        return None
    return SuppressionAdded(ts=b[0], host=b[1], seq=b[2], rcpt=m[1][:MAX_FIELD], hard_fails=_int(m[2]))


def _removed(line: bytes, ms: int, b: _Base) -> Fact | None:
    msg = _message(line, ms)
    m = _SUPP_DEL.match(msg)
    return None if m is None else SuppressionRemoved(ts=b[0], host=b[1], seq=b[2], rcpt=m[1][:MAX_FIELD])


def _internal(line: bytes, ms: int, b: _Base) -> Fact | None:
    msg = _message(line, ms)
    m = _INTERNAL.match(msg)
    if m is None:
        return None
    return InternalError(
        ts=b[0],
        host=b[1],
        seq=b[2],
        error_class=m[1][:MAX_FIELD],
        error=m[2][:MAX_FIELD],
        queued_message=_qm(line, ms),
    )


def _webhook(line: bytes, ms: int, b: _Base) -> Fact | None:
    msg = _message(line, ms)
    m = _WEBHOOK.match(msg)
    if m is None:
        return None
    request = _int(_b(line, ms, b"webhook_request"))
    return WebhookResult(
        ts=b[0], host=b[1], seq=b[2], status_code=int(m[1]), ok=m[2] is None, webhook_request=request
    )


def _web(line: bytes, ms: int, b: _Base) -> Fact | None:
    msg = _message(line, ms)
    m = _WEB.match(msg)
    if m is None:
        return None
    return WebRequest(
        ts=b[0], host=b[1], seq=b[2], method=m[1], path=m[2][:MAX_FIELD], status=int(m[3]),
        ip=_text(_b(line, ms, b"ip_address")), view_runtime=_float(_text(_b(line, ms, b"view_runtime"))),
        db_runtime=_float(_text(_b(line, ms, b"db_runtime"))),
    )  # fmt: skip


def _reply_sgr(line: bytes, ms: int, b: _Base) -> Fact | None:
    # `\x1b[34m=> 250 OK`: the code sits at a fixed offset; most replies carry no fact
    code = line[ms + 8 : ms + 11]
    if code not in _REPLY_CODES:
        return None
    if code == b"235":
        g = _GRANTED_SGR.match(line, ms)
        if g is not None:
            return AuthGranted(b[0], b[1], b[2], _d(g[1]), _d(g[2]), _tag_text(line, b" trace_id="))
    return _reply(line, ms, b)


_GRANTED_SGR = re.compile(rb"\x1b\[34m=> 235 Granted for ([^/\s\x1b]+)/([^\s\x1b]+)")


_REPLY_CODES = frozenset({b"235"} | {str(c).encode() for c in range(400, 600)})

_DISPATCH: dict[bytes, _Handler] = {
    b"Auth": _auth,
    b"\x1b[34": _reply_sgr,
    b"Clie": _client,
    b"\x1b[35": _client,
    b"=> 2": _reply,
    b"=> 4": _reply,
    b"=> 5": _reply,
    b"Send": _sending,
    b"Acce": _accepted,
    b"Net:": _net,
    b"Cann": _cannot,
    b"queu": _latency,
    b"mess": _message_word,
    b"cred": _hold,
    b"reci": _hold,
    b"serv": _hold,
    b"Adde": _added,
    b"remo": _removed,
    b"inte": _internal,
    b"Rece": _webhook,
    **{m: _web for m in (b"GET ", b"POST", b"PUT ", b"PATC", b"DELE", b"HEAD", b"OPTI")},
}
FACT_KEYS = frozenset(_DISPATCH)
"""First 4 message bytes of every line that may carry a fact."""


def may_carry_fact(head: bytes) -> bool:
    """Whether a v3 message starting with ``head`` (its first 11 bytes) may carry a fact.

    The scan asks once per distinct head and remembers the answer, so frequent lines that share
    a fact key but never carry a fact (``=> 250 OK``, ``Added external address``, ``message
    processing complete``) cost nothing afterwards.
    """
    handler = _DISPATCH.get(head[:4])
    if handler is None:
        return False
    if handler is _reply_sgr:
        return head[8:11] in _REPLY_CODES
    if handler is _added:
        return head[:11] != b"Added exter"
    if handler is _message_word:
        return head[8:11] in (b"req", b"has", b"is ")
    return True


# v2 wording that differs from v3 (`Server is in development mode. Holding.`, `WARN: AUTH failure for ip`)
_V2_AUTH = re.compile(r"(?:WARN: )?AUTH failure for (\S+)")
_V2_DISPATCH: dict[str, _Handler] = {"Serv": _hold, "Cred": _hold, "Reci": _hold, "Mess": _message_word}
_LOG_ID = re.compile(r"[A-Z0-9]{8}")
_QUEUE_CTX = re.compile(r"\d+::\d+ (\d+)")


def _extract_v2(line: bytes, ms: int, b: _Base) -> Fact | None:
    msg = line[ms : ms + 4 * MAX_FIELD].decode("utf-8", "backslashreplace")
    msg = SGR.sub("", msg) if "\x1b" in msg else msg
    context, rest = split_context(msg)
    rest = rest.strip()
    m = _V2_AUTH.match(rest)
    if m is not None:
        return AuthFailure(ts=b[0], host=b[1], seq=b[2], ip=m[1][:MAX_FIELD])
    raw = rest.encode()
    handler = _V2_DISPATCH.get(rest[:4]) or _DISPATCH.get(raw[:4])
    fact = handler(raw, 0, b) if handler is not None else None
    if fact is None or context is None:
        return fact
    if hasattr(fact, "log_id") and _LOG_ID.fullmatch(context):
        return replace(fact, log_id=context)  # type: ignore[call-arg]
    q = _QUEUE_CTX.fullmatch(context)
    if q is not None and hasattr(fact, "queued_message"):
        return replace(fact, queued_message=int(q[1]))  # type: ignore[call-arg]
    return fact


_SPLITTABLE = frozenset({_net, _internal, _cannot})
"""Handlers of ERROR messages that may end in a newline, leaving the tags on the next line."""
_ERROR = int(Level.ERROR)


def extract_batch(
    lines: Sequence[bytes],
    indexes: Sequence[int],
    ts: Sequence[float],
    level: Sequence[int],
    host: str,
    first_seq: int,
) -> tuple[list[Fact], list[int]]:
    """Facts of well-formed v3 lines (message at byte 33): the ingest fast path. Never raises.

    Args:
        lines: the batch.
        indexes: which lines to look at (the scan's fact candidates), ascending.
        ts: the batch's time column.
        level: the batch's level column.
        host: the host of the batch.
        first_seq: sequence number of ``lines[0]``.

    Returns:
        The facts, and the indexes of tagless ERROR records whose tags may be on the next
        physical line (the caller extracts those with :func:`extract_fact` once it knows).
    """
    kept, deferred = split_deferred(lines, indexes, level)
    return extract_indexes(lines, kept, ts, host, first_seq), deferred


def split_deferred(
    lines: Sequence[bytes], indexes: Sequence[int], level: Sequence[int]
) -> tuple[Sequence[int], list[int]]:
    """Set apart the tagless ERROR records whose tags may be on the next physical line.

    Returns:
        ``indexes`` without them (the same object when there are none, the common case) and them.
    """
    errors = [i for i in indexes if level[i] == _ERROR]
    if not errors:
        return indexes, []
    get = _DISPATCH.get
    deferred = [i for i in errors if get(lines[i][33:37]) in _SPLITTABLE and b" component=" not in lines[i]]
    if not deferred:
        return indexes, []
    later = set(deferred)
    return [i for i in indexes if i not in later], deferred


def extract_indexes(
    lines: Sequence[bytes], indexes: Sequence[int], ts: Sequence[float], host: str, first_seq: int
) -> list[Fact]:
    """Facts of the well-formed v3 lines at ``indexes`` (ascending), in line order. Never raises."""
    facts: list[Fact] = []
    add = facts.append
    get = _DISPATCH.get
    for i in indexes:
        line = lines[i]
        handler = get(line[33:37])
        if handler is None:
            continue
        try:
            found = handler(line, 33, (ts[i], host, first_seq + i))
        except Exception:  # untrusted input: a surprise here must never stop ingest
            continue
        if found is not None:
            add(found)
    return facts


_KINDS: dict[_Handler, tuple[type[Fact], ...]] = {
    _auth: (AuthFailure, CredentialAuthenticated),
    _reply: (AuthGranted, InvalidCredential, SuspendedRejection, SmtpRejected),
    _reply_sgr: (AuthGranted, InvalidCredential, SuspendedRejection, SmtpRejected),
    _client: (ClientIdentified,),
    _sending: (SendingMessage,),
    _accepted: (DeliveryAccepted,),
    _net: (DeliveryFailed,),
    _cannot: (ConnectFailed,),
    _latency: (QueueLatency,),
    _message_word: (MessageRequeued, MessageHardFailed),
    _hold: (MessageHeld,),
    _added: (SuppressionAdded,),
    _removed: (SuppressionRemoved,),
    _internal: (InternalError,),
    _webhook: (WebhookResult,),
    _web: (WebRequest,),
}
"""The fact classes each v3 handler can return (a test checks every handler's output against it)."""

_KEYS_FOR: dict[tuple[type[Fact], ...], frozenset[bytes]] = {}


def kinds_of_key(key: bytes) -> tuple[type[Fact], ...]:
    """The fact classes a v3 line whose message starts with ``key`` (4 bytes) can yield."""
    handler = _DISPATCH.get(key)
    return () if handler is None else _KINDS[handler]


def keys_for(kinds: tuple[type[Fact], ...]) -> frozenset[bytes]:
    """First 4 message bytes of the v3 lines that can yield a fact of one of ``kinds`` (or a subclass)."""
    found = _KEYS_FOR.get(kinds)
    if found is None:
        found = frozenset(
            key for key, handler in _DISPATCH.items() if any(issubclass(k, kinds) for k in _KINDS[handler])
        )
        if len(_KEYS_FOR) < 256:
            _KEYS_FOR[kinds] = found
    return found


def extract_fact(
    line: bytes, msg_start: int, *, ts: float, host: str, seq: int, fmt: int = LineFormat.V3
) -> Fact | None:
    """Extract the fact a line carries, if any. Never raises.

    Args:
        line: the line bytes (transport prefix removed; ANSI colours allowed).
        msg_start: offset of the message in ``line`` (33 for a well-formed v3 line).
        ts: the line's time.
        host: the host it came from.
        seq: its sequence number in the log store.
        fmt: ``LineFormat.V3`` or ``LineFormat.V2`` (other formats carry no fact).

    Returns:
        The fact, or None.
    """
    base = (ts, host, seq)
    try:
        if fmt == LineFormat.V2:
            return _extract_v2(line, msg_start, base)
        if fmt != LineFormat.V3:
            return None
        handler = _DISPATCH.get(line[msg_start : msg_start + 4])
        if handler is None:
            return None
        return handler(line, msg_start, base)
    except Exception:  # untrusted input: a surprise here must never stop ingest
        return None
