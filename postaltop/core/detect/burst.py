"""Bursts of SMTP AUTH failures: per client IP, per attempted user name, and in total, per sliding minute.

Fed with :class:`~postaltop.core.facts.AuthFailure` facts (one per ``Authentication failure for <ip>``
line). The CRAM-MD5 variant names the user tried (``no server found matching <org/server>``), which gives
the per-credential view. Each finding carries the sequence numbers of the lines that raised it, so the
log panel can mark them.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass
from itertools import islice

from postaltop.core.alerts import GLOBAL, MAX_SEQS, Finding, Scope, ScopeKind, Severity
from postaltop.core.detect import action_for, finite
from postaltop.core.facts import AuthFailure

_USER = re.compile(r"no server found matching (\S+)")


def attempted_user(detail: str) -> str | None:
    """The user name an AUTH failure tried (the CRAM-MD5 variant names it), or None."""
    found = _USER.search(detail or "")
    return None if found is None else found[1]


@dataclass(frozen=True, slots=True)
class BurstSettings:
    """Limits of :class:`AuthBurstDetector` (failures per ``window`` seconds)."""

    window: float = 60.0
    ip_warning: int = 10
    ip_critical: int = 30
    user_warning: int = 10
    user_critical: int = 30
    total_warning: int = 20
    total_critical: int = 60


def _newest_seqs(window: deque[tuple[float, int]]) -> tuple[int, ...]:
    """The window's newest :data:`MAX_SEQS` line numbers, oldest first (an alert keeps no more).

    Copying the whole window per failure made a fleet-wide burst quadratic: the global window of 50 hosts
    held thousands of failures, each new one copied them all.
    """
    newest = [q for _, q in islice(reversed(window), MAX_SEQS)]
    newest.reverse()
    return tuple(newest)


class AuthBurstDetector:
    """Sliding-window counters of AUTH failures."""

    kind = "auth_burst"

    def __init__(self, settings: BurstSettings | None = None) -> None:
        self.settings = settings or BurstSettings()
        self._windows: dict[Scope, deque[tuple[float, int]]] = {}
        self._latest = float("-inf")

    def _push(self, scope: Scope, ts: float, seq: int) -> deque[tuple[float, int]]:
        window = self._windows.get(scope)
        if window is None:
            window = self._windows[scope] = deque()
        window.append((ts, seq))
        return window

    def _trim(self, window: deque[tuple[float, int]], now: float) -> None:
        cutoff = now - self.settings.window
        while window and window[0][0] <= cutoff:
            window.popleft()

    def feed(self, fact: AuthFailure) -> list[Finding]:
        """Count one failure; return findings for the scopes now over a limit."""
        ts = fact.ts
        if not finite(ts):
            return []
        # Clock skew between hosts: never let one host's late line move the window backwards.
        now = max(ts, self._latest) if ts > self._latest - 300 else ts
        self._latest = max(self._latest, ts)
        s = self.settings
        scopes: list[tuple[Scope, int, int]] = [
            (Scope(ScopeKind.IP, fact.ip), s.ip_warning, s.ip_critical),
            (GLOBAL, s.total_warning, s.total_critical),
        ]
        user = _USER.search(fact.detail or "")
        if user is not None:
            scopes.append((Scope(ScopeKind.CREDENTIAL, user[1]), s.user_warning, s.user_critical))
        out: list[Finding] = []
        for scope, warn, crit in scopes:
            window = self._push(scope, ts, fact.seq)
            self._trim(window, now)
            n = len(window)
            if n >= crit:
                severity = Severity.CRITICAL
            elif n >= warn:
                severity = Severity.WARNING
            else:
                continue
            what = "from " + scope.key if scope.kind is ScopeKind.IP else "for " + scope.display
            why = f"{n} SMTP AUTH failures in {s.window:.0f}s {what} (limit {warn})"
            action = (
                action_for(Scope(ScopeKind.IP, fact.ip)) if scope.kind is not ScopeKind.CREDENTIAL else None
            )
            out.append(
                Finding(self.kind, scope, "auth_failures", severity, float(n), float(warn), why, ts,
                        action or action_for(scope), source=fact.host, seqs=_newest_seqs(window))
            )  # fmt: skip
        return out

    def prune(self, now: float) -> None:
        """Forget scopes with no failure in the window (bounded memory under a scan of many IPs)."""
        for scope in list(self._windows):
            window = self._windows[scope]
            self._trim(window, now)
            if not window:
                del self._windows[scope]
