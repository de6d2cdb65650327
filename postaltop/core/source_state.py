"""What a source's state text means: one condition per source, and which changes are worth an event.

The host bar, ``watch``'s JSON log and the health metrics all read the same short state texts (``connected
·3``, ``reconnecting (attempt 2, next in 1s): Connection refused``, ``error: not answering (12 s): …``,
``degraded: message database missing (1)``). :func:`condition` reduces a text to one of
:data:`CONDITIONS`; :func:`change_event` names the event a change from one condition to another deserves.
Pure: no I/O.
"""

from __future__ import annotations

CONDITIONS = (
    "up",
    "connecting",
    "stalled",
    "refused",
    "auth-failed",
    "host-key",
    "missing-message-db",
    "degraded",
    "down",
)
"""``stalled``: accepts connections but does not answer; ``refused``: nothing listens; ``auth-failed``: wrong
account, password or key; ``host-key``: unknown or changed host key; ``missing-message-db``: a server's
message database is absent; ``degraded``: other partial problems; ``down``: any other failure."""

_UP = ("connected", "live", "demo", "replay", "ok")
PROBLEMS = frozenset({"stalled", "refused", "auth-failed", "host-key", "down"})


def condition(text: str) -> str:
    """The condition of a state text (see :data:`CONDITIONS`)."""
    lowered = text.lower()
    if lowered.startswith(_UP):
        return "up"
    if lowered.startswith("connecting"):
        return "connecting"
    if "message database missing" in lowered:
        return "missing-message-db"
    if lowered.startswith("degraded"):
        return "degraded"
    if "not answering" in lowered or "timed out" in lowered:
        return "stalled"
    if "auth failed" in lowered or "access denied" in lowered or "permission denied" in lowered:
        return "auth-failed"
    if "host key" in lowered:
        return "host-key"
    if "refused" in lowered:
        return "refused"
    return "down"


def change_event(previous: str | None, current: str) -> str | None:
    """The event of a change: ``source_down``, ``_stalled``, ``_degraded``, ``_back``, ``_up``, or None."""
    if previous == current:
        return None
    if previous in PROBLEMS and current not in PROBLEMS and current != "connecting":
        return "source_back"  # answering again (possibly still with a partial problem, said in the state)
    if current == "up":
        return "source_back" if previous not in (None, "connecting") else "source_up"
    if current == "stalled":
        return "source_stalled"
    if current in ("degraded", "missing-message-db"):
        return "source_degraded"
    if current == "connecting":
        return None
    return "source_down"
