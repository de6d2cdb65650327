"""Static thresholds: fixed per-minute limits from the configuration (the simplest, always-on check)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from postaltop.core.alerts import Finding, Scope, ScopeKind, Severity
from postaltop.core.detect import action_for, finite, fmt_rate


@dataclass(frozen=True, slots=True)
class Threshold:
    """``warning``/``critical`` limits of one metric (None = no limit at that severity)."""

    warning: float | None = None
    critical: float | None = None


class StaticDetector:
    """Compare a value with its fixed thresholds.

    Args:
        thresholds: metric -> :class:`Threshold`, applied to server and credential scopes (and global).
        scope_kinds: scope kinds the thresholds apply to.
    """

    kind = "static"

    def __init__(
        self,
        thresholds: Mapping[str, Threshold],
        scope_kinds: frozenset[ScopeKind] = frozenset(
            {ScopeKind.SERVER, ScopeKind.CREDENTIAL, ScopeKind.GLOBAL}
        ),
    ) -> None:
        self.thresholds = dict(thresholds)
        self.scope_kinds = scope_kinds

    def check(self, scope: Scope, metric: str, value: float, ts: float) -> Finding | None:
        """A finding if ``value`` (per minute, or a gauge) reaches a threshold."""
        limit = self.thresholds.get(metric)
        if limit is None or scope.kind not in self.scope_kinds or not finite(value):
            return None
        if limit.critical is not None and value >= limit.critical:
            severity, bound = Severity.CRITICAL, limit.critical
        elif limit.warning is not None and value >= limit.warning:
            severity, bound = Severity.WARNING, limit.warning
        else:
            return None
        unit = "" if metric == "queue_depth" else "/min"
        shown = f"{value:.0f}" if unit == "" else fmt_rate(value)
        why = f"{metric} {shown} ≥ static {severity.value} limit {bound:g}{unit}"
        return Finding(self.kind, scope, metric, severity, value, bound, why, ts, action_for(scope))
