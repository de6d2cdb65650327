"""Source health as alerts: a log host or the database that cannot be read is an alert of its own.

The front ends show each source's state as a short text (``connected ·3``, ``reconnecting (attempt 2,
next in 4s): connection refused``, ``auth failed``, ``HOST KEY CHANGED … (refused)``, ``error:
unreachable …``). :func:`down_reason` reads that text and says whether the source is down and why;
:func:`health_finding` turns a down source into a :class:`~postaltop.core.alerts.Finding` of kind
:data:`SOURCE_DOWN`. Its ``source`` is :data:`HEALTH_SOURCE`, not the host itself, so the alert about a
down host is never muted by the inhibition it causes for that host's rate alerts.

:func:`short_reason` turns an SSH/socket error message into the few words a chip has room for.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the host bar reads down_reason on the first frame; the alert types load with a finding
    from postaltop.core.alerts import Finding

SOURCE_DOWN = "source_down"
"""The alert kind of a source that cannot be read."""
HEALTH_SOURCE = "health"
"""The ``source`` of source-health findings (never inhibited: the sources they describe are)."""
UP_METRIC = "source_up"
"""Metric of source-health alerts and of the series charted for them: 1 per minute up, 0 down."""

_DOWN_PREFIXES: tuple[tuple[str, str], ...] = (
    ("host key changed", "host key changed"),
    ("host key unknown", "host key not trusted"),
    ("auth failed", "authentication refused"),
    ("no log source", "no Postal logs found"),
    ("reconnecting", "unreachable"),
    ("refused", "connection refused"),
    ("stalled", "stalled"),
    ("not answering", "not answering"),
    ("unreachable", "unreachable"),
    ("error", "error"),
    ("disconnected", "disconnected"),
    ("down", "down"),
    ("failed", "failed"),
)
"""State prefixes (lower case) of a source that is down, and the reason when the text gives no more."""

_REASONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"errno 111|connection refused|connect call failed", re.I), "connection refused"),
    (re.compile(r"errno 113|no route to host", re.I), "no route to host"),
    (re.compile(r"errno 101|network is unreachable", re.I), "network unreachable"),
    (re.compile(r"timed? ?out|timeout", re.I), "timed out"),
    (re.compile(r"not known|nodename nor servname|getaddrinfo|failure in name resolution", re.I),
     "name not resolved"),
    (re.compile(r"permission denied|auth", re.I), "authentication refused"),
    (re.compile(r"host key", re.I), "host key problem"),
    (re.compile(r"connection (?:lost|reset|closed)|broken pipe|errno 104", re.I), "connection lost"),
    (re.compile(r"access denied", re.I), "access denied"),
    (re.compile(r"can't connect|cannot connect|lost connection|2003|2013", re.I), "database unreachable"),
)  # fmt: skip

MAX_REASON = 40
"""Longest reason kept from a free-form error message."""


def short_reason(message: str) -> str:
    """``[Errno 111] Connect call failed ('10.0.0.5', 22)`` -> ``connection refused``.

    Unknown messages are cut to :data:`MAX_REASON` characters (plain text; sanitise before display).
    """
    text = " ".join(message.split())
    for pattern, reason in _REASONS:
        if pattern.search(text):
            return reason
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "…"


def down_reason(state: str) -> str | None:
    """Why a source whose state text is ``state`` is down, or None while it is up (or still starting).

    ``connecting`` and ``waiting`` are not down (a first attempt in progress); everything the host bar
    shows as a failure is. The words after a ``:`` in the state (``reconnecting (…): connection
    refused``, ``error: unreachable …``) are the reason when present.
    """
    text = state.strip()
    low = text.lower()
    for prefix, default in _DOWN_PREFIXES:
        if low.startswith(prefix):
            _head, sep, tail = text.partition(": ")
            detail = tail.split(" (retrying", 1)[0].strip() if sep else ""
            if prefix == "host key changed":
                return "host key changed (refused)"
            return short_reason(detail) if detail else default
    return None


def health_finding(source: str, state: str, reason: str, ts: float) -> Finding:
    """The finding "``source`` is down because ``reason``" (critical; one alert per source)."""
    from postaltop.core.alerts import DB_SOURCE, Finding, Scope, ScopeKind, Severity, SuggestedAction

    is_db = source == DB_SOURCE
    what = "database" if is_db else f"host {source}"
    advice = (
        "check the database server, the network and [database] settings"
        if is_db
        else f"check {source}: sshd, the network, the key (postaltop hosts list)"
    )
    return Finding(
        SOURCE_DOWN,
        Scope(ScopeKind.HOST, source),
        UP_METRIC,
        Severity.CRITICAL,
        0.0,
        1.0,
        f"{what} down: {reason}; its rate alerts are held until it is back (state: {state})",
        ts,
        SuggestedAction(advice, key="", action_id=""),
        source=HEALTH_SOURCE,
    )
