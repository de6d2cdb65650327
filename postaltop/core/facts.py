"""Typed facts pulled out of Postal log lines, for metrics and detection.

Every ingested line is offered to :func:`extract_fact`, so the common case — a line that
carries no fact — must cost almost nothing: the scan compares the first 4 message bytes with
:data:`FACT_KEYS` (one set lookup) and only candidates reach a handler, which then applies one
anchored regex. Extraction never raises: any surprise in the input yields ``None``.

String fields hold text from the log, which clients partly control (addresses, paths): pass
them through :func:`postaltop.core.sanitize.display_text` before showing them. Each is capped at
:data:`MAX_FIELD` characters.

The records are in :mod:`postaltop.core.fact_types`, the per-message handlers in
:mod:`postaltop.core.fact_handlers`; this module is the entry point and re-exports both.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from postaltop.core.events import Level, LineFormat
from postaltop.core.fact_fields import _Base, _Handler, message_end, parse_time_text
from postaltop.core.fact_handlers import (
    _DISPATCH,
    FACT_KEYS,
    _accepted,
    _added,
    _auth,
    _cannot,
    _client,
    _hold,
    _internal,
    _latency,
    _message_word,
    _net,
    _removed,
    _reply,
    _reply_sgr,
    _sending,
    _web,
    _webhook,
    may_carry_fact,
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
from postaltop.core.parsing.v2 import split_context
from postaltop.core.parsing.v3 import SGR

__all__ = [  # noqa: RUF022 - grouped: records, then functions
    "MAX_FIELD", "SOFT_FAIL_CLASSES", "HARD_FAIL_CLASSES", "HoldReason", "Fact", "AuthFailure", "AuthGranted",
    "CredentialAuthenticated", "InvalidCredential", "SuspendedRejection", "SmtpRejected", "ClientIdentified",
    "MessageHeld", "DeliveryAccepted", "DeliveryFailed", "ConnectFailed", "SendingMessage", "QueueLatency",
    "MessageRequeued", "MessageHardFailed", "SuppressionAdded", "SuppressionRemoved", "WebRequest",
    "InternalError", "WebhookResult", "FACT_KEYS", "may_carry_fact", "message_end", "parse_time_text",
    "extract_batch", "split_deferred", "extract_indexes", "kinds_of_key", "keys_for", "extract_fact",
]  # fmt: skip


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
