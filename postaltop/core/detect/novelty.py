"""Novelty: a scope (a credential, a server) suddenly sending to many recipient domains it never used.

Each scope remembers the domains it has sent to (with when it first did). Over a sliding window it counts
the new domains it mailed: first seen inside the window, or less than ``new_for`` (an hour) before it; many
new domains at once is what a stolen credential mailing a
harvested list looks like. A scope watched for less than ``learning_seconds`` only learns. The new domains
must also be at least ``min_new_share`` of the distinct domains mailed in the window: a busy sender with a
long tail of recipients meets a few new domains every minute, a hijacked one mails mostly new ones.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from postaltop.core.alerts import Finding, Scope, Severity
from postaltop.core.detect import action_for, finite


@dataclass(frozen=True, slots=True)
class NoveltySettings:
    """Tuning of :class:`NoveltyDetector`."""

    window: float = 600.0
    warning_new: int = 10
    critical_new: int = 30
    learning_seconds: float = 3600.0
    min_new_share: float = 0.5
    """New domains must be at least this share of the distinct domains mailed in the window."""
    max_known: int = 50_000
    """Most domains remembered per scope (oldest forgotten first)."""
    new_for: float = 3600.0
    """Seconds a domain stays "new" after it was first mailed: a hijacked sender going on through its list
    keeps mailing domains it never used an hour ago, so its alert stays open while it goes on."""


@dataclass(slots=True)
class _Known:
    since: float
    domains: dict[str, float] = field(default_factory=dict)
    recent: deque[tuple[float, str]] = field(default_factory=deque)
    mailed: dict[str, float] = field(default_factory=dict)
    """Domains mailed inside the window -> when last (new or known)."""


class NoveltyDetector:
    """Per-scope sets of known recipient domains."""

    kind = "novelty"

    def __init__(self, settings: NoveltySettings | None = None) -> None:
        self.settings = settings or NoveltySettings()
        self._scopes: dict[Scope, _Known] = {}

    def learn(self, scope: Scope, domains: list[str], ts: float) -> None:
        """Record domains as known without judging (bootstrap from history)."""
        known = self._scopes.setdefault(scope, _Known(ts))
        known.since = min(known.since, ts)
        learnt = [d.lower() for d in domains]
        for d in learnt:
            known.domains.setdefault(d, ts)
        learnt_set = set(learnt)
        if any(d in learnt_set for _, d in known.recent):  # history says these were mailed before: not new
            known.recent = deque((t, d) for t, d in known.recent if d not in learnt_set)

    def feed(self, scope: Scope, domains: list[str], ts: float) -> Finding | None:
        """Record the domains ``scope`` sent to at ``ts``; a finding if too many are new."""
        if not finite(ts):
            return None
        s = self.settings
        known = self._scopes.get(scope)
        if known is None:
            known = self._scopes[scope] = _Known(ts)
        for raw in domains:
            d = raw.lower()
            if not d:
                continue
            known.mailed.pop(d, None)
            known.mailed[d] = ts  # re-inserted: the dict stays ordered by last time mailed
            if d not in known.domains:
                known.domains[d] = ts
                known.recent.append((ts, d))
        while len(known.domains) > s.max_known:
            del known.domains[next(iter(known.domains))]
        cutoff = ts - s.window
        while known.recent and known.recent[0][0] <= ts - max(s.new_for, s.window):
            known.recent.popleft()
        while known.mailed:
            oldest = next(iter(known.mailed))
            if known.mailed[oldest] > cutoff:
                break
            del known.mailed[oldest]
        if ts - known.since < s.learning_seconds:
            return None
        # new: first mailed within the window, or within ``new_for`` and mailed again in the window (never
        # while the scope was still learning)
        since = known.since + s.learning_seconds
        fresh = [d for t, d in known.recent if t >= since and (t > cutoff or d in known.mailed)]
        n = len(fresh)
        if n < s.min_new_share * len(known.mailed):
            return None
        if n >= s.critical_new:
            severity = Severity.CRITICAL
        elif n >= s.warning_new:
            severity = Severity.WARNING
        else:
            return None
        sample = ", ".join(fresh[-3:])
        why = f"{n} new recipient domains in {s.window / 60:.0f} min (e.g. {sample})"
        return Finding(self.kind, scope, "new_domains", severity, float(n), float(s.warning_new), why, ts,
                       action_for(scope))  # fmt: skip
