"""Send-limit throttling: a server Postal is holding mail for, because it reached its send limit.

Postal counts a server's volume as the sum of ``live_stats`` outgoing over the last 60 minutes (from the
start of the minute an hour ago); at dequeue, ``volume >= send_limit`` holds the message (a ``Held``
delivery "Message held because send limit (N) has been reached.") and stamps ``send_limit_exceeded_at``;
``volume >= 0.9 * send_limit`` stamps ``send_limit_approaching_at`` and sends on. Postal itself calls a server
"throttling now" while ``send_limit_exceeded_at`` is less than 3 minutes old.

The detector takes, per server, the usage (volume / limit), how old those two marks are, and the messages
held by the limit (per minute, with the credentials that submitted them) and decides:

* **critical**: at least ``held_critical`` messages held by the limit within ``window`` seconds (mail is
  piling up), or throttling now with held mail;
* **warning**: throttling now, ``held_warning`` held in the window, or usage at or above ``approaching_pct``.

The finding names the credentials whose mail is being held (or that send most) and the actions that fit.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from postaltop.core.alerts import Finding, Scope, Severity, SuggestedAction
from postaltop.core.detect import finite

THROTTLING_SECONDS = 180.0
"""Postal's own test for "throttling now": ``send_limit_exceeded_at`` within the last 3 minutes."""

ACTION = SuggestedAction(
    "raise the send limit if the volume is legitimate, else hold the sending credential; release the held "
    "mail once resolved (x)",
    "x",
    "raise_send_limit",
)


@dataclass(frozen=True, slots=True)
class SendLimitSettings:
    """Tuning of :class:`SendLimitDetector`."""

    window: float = 600.0
    """Seconds over which messages held by the limit are summed."""
    held_warning: int = 10
    held_critical: int = 50
    approaching_pct: float = 90.0
    """Postal's own "approaching" mark."""


class SendLimitDetector:
    """Per-server sliding sums of messages held by the send limit, and the judgement."""

    kind = "send_limit"

    def __init__(self, settings: SendLimitSettings | None = None) -> None:
        self.settings = settings or SendLimitSettings()
        self._held: dict[Scope, deque[tuple[float, int, dict[str, int]]]] = {}

    def observe_held(self, scope: Scope, ts: float, held: int, by_sender: Mapping[str, int]) -> None:
        """Messages of ``scope`` held by the limit at ``ts`` (``by_sender``: credential label -> count)."""
        if not finite(ts) or held <= 0:
            return
        window = self._held.setdefault(scope, deque())
        window.append((ts, int(held), dict(by_sender)))

    def held_in_window(self, scope: Scope, ts: float) -> tuple[int, dict[str, int]]:
        """Messages held by the limit in the ``window`` seconds up to ``ts``, and per sender."""
        window = self._held.get(scope)
        if not window:
            return 0, {}
        cutoff = ts - self.settings.window
        while window and window[0][0] <= cutoff:
            window.popleft()
        total = 0
        senders: dict[str, int] = {}
        for at, count, by in window:
            if at <= ts:
                total += count
                for name, n in by.items():
                    senders[name] = senders.get(name, 0) + n
        return total, senders

    def judge(
        self,
        scope: Scope,
        ts: float,
        *,
        usage_pct: float | None = None,
        limit: int | None = None,
        exceeded_age: float | None = None,
        busiest: Sequence[tuple[str, int]] = (),
    ) -> Finding | None:
        """A finding when ``scope`` is throttled by (or close to) its send limit; see the module docstring.

        Args:
            scope: the server.
            ts: the judgement time (database clock).
            usage_pct: last-60-minute volume / limit * 100 (None: no limit or unknown).
            limit: the server's send limit.
            exceeded_age: seconds since ``send_limit_exceeded_at`` (None: not set or unknown).
            busiest: (credential label, messages) of the server's busiest senders now, busiest first.
        """
        if not finite(ts):
            return None
        s = self.settings
        held, held_by = self.held_in_window(scope, ts)
        throttling = (
            exceeded_age is not None and finite(exceeded_age) and -60.0 <= exceeded_age <= THROTTLING_SECONDS
        )
        near = usage_pct is not None and finite(usage_pct) and usage_pct >= s.approaching_pct
        if held >= s.held_critical or (throttling and held > 0):
            severity = Severity.CRITICAL
        elif throttling or held >= s.held_warning or near:
            severity = Severity.WARNING
        else:
            return None
        parts = []
        if usage_pct is not None and finite(usage_pct):
            parts.append(
                f"{usage_pct:.0f} % of its send limit" + (f" ({limit}/h)" if limit is not None else "")
            )
        if throttling:
            parts.append("Postal is holding its outgoing mail now")
        if held:
            parts.append(f"{held} held by the limit in {s.window / 60:.0f} min")
        senders = sorted(held_by.items(), key=lambda item: (-item[1], item[0])) or list(busiest)
        if senders:
            parts.append("sending: " + ", ".join(f"{name} ({n})" for name, n in senders[:3]))
        why = "send limit: " + "; ".join(parts)
        observed = float(held) if held else float(usage_pct or 0.0)
        expected = float(s.held_warning)
        return Finding(self.kind, scope, "held_send_limit", severity, observed, expected, why, ts, ACTION)
