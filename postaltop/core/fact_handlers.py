"""One handler per kind of fact-bearing v3 message, keyed by the message's first 4 bytes.

A handler gets the line, the offset of its message and ``(ts, host, seq)``; it applies one
anchored regex and returns the fact or None. :func:`may_carry_fact` is the scan's per-head test.
"""

from __future__ import annotations

import re

from postaltop.core.fact_fields import (
    _b,
    _Base,
    _d,
    _float,
    _Handler,
    _int,
    _message,
    _qm,
    _queued,
    _tag_text,
    _text,
    parse_time_text,
)
from postaltop.core.fact_types import (
    HARD_FAIL_CLASSES,
    MAX_FIELD,
    SOFT_FAIL_CLASSES,
    AuthFailure,
    AuthGranted,
    ClientIdentified,
    ConnectFailed,
    CredentialAuthenticated,
    DeliveryAccepted,
    DeliveryFailed,
    Fact,
    HoldReason,
    InternalError,
    InvalidCredential,
    MessageHardFailed,
    MessageHeld,
    MessageRequeued,
    QueueLatency,
    SendingMessage,
    SmtpRejected,
    SuppressionAdded,
    SuppressionRemoved,
    SuspendedRejection,
    WebhookResult,
    WebRequest,
)
from postaltop.core.parsing.v3 import TAG_START_BYTES

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


HEAD_RULES: dict[bytes, tuple[int, bool, frozenset[bytes]]] = {
    b"\x1b[34": (8, True, _REPLY_CODES),
    b"Adde": (4, False, frozenset({b"d exter"})),
    b"mess": (8, True, frozenset({b"req", b"has", b"is "})),
}
"""Fact keys whose lines carry a fact only for some message heads: ``key -> (lo, inside, values)``, the
line may carry one when ``(head[lo:11] in values) == inside``. ``_reply_sgr`` answers only the codes it
knows, ``Added external address`` carries none, and of the ``mess…`` lines only ``message req…``,
``message has…`` and ``message is …`` do. The vectorised scan reads the same table."""


def may_carry_fact(head: bytes) -> bool:
    """Whether a v3 message starting with ``head`` (its first 11 bytes) may carry a fact.

    The scan asks once per distinct head and remembers the answer, so frequent lines that share
    a fact key but never carry a fact (``=> 250 OK``, ``Added external address``, ``message
    processing complete``) cost nothing afterwards.
    """
    key = head[:4]
    if key not in _DISPATCH:
        return False
    rule = HEAD_RULES.get(key)
    if rule is None:
        return True
    lo, inside, values = rule
    return (head[lo:11] in values) == inside
