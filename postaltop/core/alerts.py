"""Alerts: the stable types front ends and notifiers consume, and the lifecycle turning findings into alerts.

Detectors (``postaltop.core.detect``) emit :class:`Finding` objects: "at ``ts``, ``scope``'s ``metric``
looks wrong, this much". The :class:`AlertManager` keeps **one alert per (kind, scope)** — repeated
findings bump :attr:`Alert.count` — and runs the lifecycle::

    pending ──(still seen after pending_for)──► firing ──(not seen for resolve_after)──► resolved
       └──(not seen for resolve_after)──► dropped (never shown)

* acknowledge: an operator's comment is kept on the alert; if the severity later rises the
  acknowledgement is cleared and the alert is re-raised (``escalated``).
* silence: a :class:`Silence` mutes matching alerts until it expires (they still exist and are
  listed, but :attr:`Alert.silenced` is true and notifiers skip them).
* inhibition: when a source (a host name or :data:`DB_SOURCE`) is down, its findings are ignored and
  its open alerts are neither raised nor resolved until it is back: a gap is not "back to normal".

The types live in :mod:`postaltop.core.alert_types` and are re-exported here. Everything here is pure: the
caller passes the time. Consumers (TUI, headless ``watch``, notifiers)
subscribe with :meth:`AlertManager.on_event` and receive :class:`AlertEvent` objects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from postaltop.core.alert_types import DB_SOURCE as DB_SOURCE
from postaltop.core.alert_types import GLOBAL as GLOBAL
from postaltop.core.alert_types import KIND_RANK as KIND_RANK
from postaltop.core.alert_types import SCOPE_RANK as SCOPE_RANK
from postaltop.core.alert_types import Acknowledgement as Acknowledgement
from postaltop.core.alert_types import Alert as Alert
from postaltop.core.alert_types import AlertEvent as AlertEvent
from postaltop.core.alert_types import AlertState as AlertState
from postaltop.core.alert_types import Finding as Finding
from postaltop.core.alert_types import Scope as Scope
from postaltop.core.alert_types import ScopeKind as ScopeKind
from postaltop.core.alert_types import Severity as Severity
from postaltop.core.alert_types import Silence as Silence
from postaltop.core.alert_types import SuggestedAction as SuggestedAction
from postaltop.core.alert_types import Transition as Transition
from postaltop.core.alert_types import alert_order as alert_order


@dataclass(frozen=True, slots=True)
class LifecycleSettings:
    """Timings of the lifecycle (seconds)."""

    pending_for: float = 60.0
    """A finding must persist this long before its alert fires."""
    critical_pending_for: float = 0.0
    """Pending time for critical findings (fire at once by default)."""
    resolve_after: float = 300.0
    """Hysteresis: an alert resolves after this long without a finding."""
    keep_resolved: float = 3600.0
    """Resolved alerts stay in :attr:`AlertManager.alerts` this long."""
    pending_overrides: tuple[tuple[str, float], ...] = ()
    """Per detector kind pending time, e.g. ``(("auth_burst", 0.0),)``."""

    def pending_time(self, kind: str, severity: Severity) -> float:
        """How long a finding of ``kind`` at ``severity`` must persist before firing."""
        for name, seconds in self.pending_overrides:
            if name == kind:
                return seconds
        return self.critical_pending_for if severity is Severity.CRITICAL else self.pending_for


MAX_SEQS = 64
"""Most log sequence numbers kept per alert."""

EventListener = Callable[[AlertEvent], None]


class AlertManager:
    """Folds findings into alerts and runs their lifecycle (pure; time is passed in).

    Args:
        settings: lifecycle timings.
        silences: silences restored from the store (expired ones are ignored).
        acks: acknowledgements restored from the store, by alert key.
    """

    def __init__(
        self,
        settings: LifecycleSettings | None = None,
        silences: Iterable[Silence] = (),
        acks: dict[str, Acknowledgement] | None = None,
    ) -> None:
        self.settings = settings or LifecycleSettings()
        self._alerts: dict[str, Alert] = {}
        self._silences: dict[str, Silence] = {s.id: s for s in silences}
        self._saved_acks: dict[str, Acknowledgement] = dict(acks or {})
        self._down: set[str] = set()
        self._listeners: list[EventListener] = []
        self._silence_seq = 0

    # -- reading ------------------------------------------------------------------------

    @property
    def alerts(self) -> list[Alert]:
        """Known alerts: firing (critical first), then pending, then resolved."""
        return sorted(self._alerts.values(), key=alert_order)

    @property
    def firing(self) -> list[Alert]:
        """Alerts that are firing now."""
        return [a for a in self.alerts if a.state is AlertState.FIRING]

    def get(self, key: str) -> Alert | None:
        """The alert with ``key``, if known."""
        return self._alerts.get(key)

    @property
    def silences(self) -> list[Silence]:
        """Every silence not yet removed (including expired ones until :meth:`tick` prunes them)."""
        return list(self._silences.values())

    @property
    def acks(self) -> dict[str, Acknowledgement]:
        """Acknowledgements by alert key (for persistence)."""
        out = dict(self._saved_acks)
        for alert in self._alerts.values():
            if alert.ack is not None and alert.is_open:
                out[alert.key] = alert.ack
        return out

    def on_event(self, listener: EventListener) -> Callable[[], None]:
        """Call ``listener`` with every :class:`AlertEvent`. Returns an unsubscribe function."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _emit(self, transition: Transition, alert: Alert, at: float) -> None:
        event = AlertEvent(transition, alert, at)
        for listener in list(self._listeners):
            listener(event)

    # -- inhibition -------------------------------------------------------------------------

    def set_source_down(self, source: str, down: bool, now: float) -> None:
        """Mark a source (host name or :data:`DB_SOURCE`) down or back up."""
        if down:
            self._down.add(source)
        else:
            self._down.discard(source)
        for key, alert in list(self._alerts.items()):
            if alert.source == source and alert.is_open and alert.inhibited != down:
                # Coming back: restart the hysteresis clock so the gap itself does not resolve it.
                self._alerts[key] = replace(alert, inhibited=down, last_seen=max(alert.last_seen, now))

    def is_down(self, source: str) -> bool:
        """True while ``source`` is marked down."""
        return source in self._down

    # -- findings -----------------------------------------------------------------------------

    def observe(self, findings: Iterable[Finding], now: float) -> None:
        """Fold ``findings`` into alerts, then run :meth:`tick`."""
        for finding in findings:
            if finding.source in self._down:
                continue
            self._observe_one(finding)
        self.tick(now)

    def _observe_one(self, f: Finding) -> None:
        key = f.key
        old = self._alerts.get(key)
        seqs = f.seqs[-MAX_SEQS:]
        if old is None or old.state is AlertState.RESOLVED:
            ack = self._saved_acks.pop(key, None)
            if ack is not None and f.severity.rank > ack.severity.rank:
                ack = None
            self._alerts[key] = Alert(
                key=key, kind=f.kind, scope=f.scope, metric=f.metric, severity=f.severity,
                state=AlertState.PENDING, observed=f.observed, expected=f.expected, why=f.why,
                action=f.action, source=f.source, first_seen=f.ts, last_seen=f.ts, seqs=seqs,
                ack=ack, silence=self._silence_for(key, str(f.scope), f.ts),
            )  # fmt: skip
            self._maybe_fire(key, f.ts)
            return
        escalated = f.severity.rank > old.severity.rank
        severity = f.severity if escalated else old.severity
        merged = _merged_seqs(old.seqs, seqs)
        new = replace(
            old, severity=severity, observed=f.observed, expected=f.expected, why=f.why,
            action=f.action or old.action, last_seen=max(old.last_seen, f.ts), count=old.count + 1,
            seqs=merged, ack=None if escalated else old.ack,
        )  # fmt: skip
        self._alerts[key] = new
        if new.state is AlertState.FIRING:
            self._emit(Transition.ESCALATED if escalated else Transition.UPDATED, new, f.ts)
        else:
            self._maybe_fire(key, f.ts)

    def _maybe_fire(self, key: str, now: float) -> None:
        alert = self._alerts[key]
        if alert.state is not AlertState.PENDING or alert.inhibited:
            return
        if alert.last_seen - alert.first_seen >= self.settings.pending_time(alert.kind, alert.severity):
            fired = replace(alert, state=AlertState.FIRING, fired_at=now)
            self._alerts[key] = fired
            self._emit(Transition.FIRED, fired, now)

    def tick(self, now: float) -> None:
        """Resolve quiet alerts, drop quiet pendings, expire silences, forget old resolved alerts."""
        s = self.settings
        for sid, old in list(self._silences.items()):
            if not old.active(now):
                del self._silences[sid]
        for key, alert in list(self._alerts.items()):
            covering = self._silence_for(key, str(alert.scope), now)
            if covering != alert.silence:
                alert = self._alerts[key] = replace(alert, silence=covering)
            if alert.inhibited:
                continue
            if alert.state is AlertState.RESOLVED:
                if alert.resolved_at is not None and now - alert.resolved_at > s.keep_resolved:
                    del self._alerts[key]
                continue
            if now - alert.last_seen >= s.resolve_after:
                if alert.state is AlertState.PENDING:
                    del self._alerts[key]
                    continue
                resolved = replace(alert, state=AlertState.RESOLVED, resolved_at=now, ack=None)
                self._alerts[key] = resolved
                self._emit(Transition.RESOLVED, resolved, now)

    def resolve(self, key: str, now: float) -> Alert | None:
        """Resolve an open alert at once (its cause is known to be over, e.g. its source is back).

        A pending alert is dropped (never shown). Returns the resolved alert, None if it was not open.
        """
        alert = self._alerts.get(key)
        if alert is None or not alert.is_open:
            return None
        if alert.state is AlertState.PENDING:
            del self._alerts[key]
            return None
        resolved = self._alerts[key] = replace(alert, state=AlertState.RESOLVED, resolved_at=now, ack=None)
        self._emit(Transition.RESOLVED, resolved, now)
        return resolved

    # -- operator actions -----------------------------------------------------------------------

    def acknowledge(self, key: str, author: str, comment: str, now: float) -> Alert | None:
        """Acknowledge an open alert with a comment. Returns the new alert (None if unknown/resolved)."""
        alert = self._alerts.get(key)
        if alert is None or not alert.is_open:
            return None
        ack = Acknowledgement(author=author, comment=comment.strip(), at=now, severity=alert.severity)
        new = self._alerts[key] = replace(alert, ack=ack)
        self._emit(Transition.ACKNOWLEDGED, new, now)
        return new

    def silence(
        self, match: str, duration: float, author: str, reason: str, now: float, silence_id: str | None = None
    ) -> Silence:
        """Add a silence for ``duration`` seconds and apply it to the alerts it covers.

        Raises:
            ValueError: for a non-positive duration or an empty pattern.
        """
        if duration <= 0 or not match.strip():
            raise ValueError("a silence needs a positive duration and a pattern")
        self._silence_seq += 1
        sid = silence_id or f"s{int(now)}-{self._silence_seq}"
        silence = Silence(sid, match.strip(), now + duration, author, reason.strip(), now)
        self._silences[sid] = silence
        for key, alert in list(self._alerts.items()):
            if silence.matches(key, str(alert.scope)) and alert.silence is None:
                new = self._alerts[key] = replace(alert, silence=silence)
                self._emit(Transition.SILENCED, new, now)
        return silence

    def unsilence(self, silence_id: str, now: float) -> bool:
        """Remove a silence early. Returns True if it existed."""
        if self._silences.pop(silence_id, None) is None:
            return False
        self.tick(now)
        return True

    def _silence_for(self, key: str, scope: str, now: float) -> Silence | None:
        for silence in self._silences.values():
            if silence.active(now) and silence.matches(key, scope):
                return silence
        return None


def _merged_seqs(old: tuple[int, ...], new: tuple[int, ...]) -> tuple[int, ...]:
    """``old`` then the numbers of ``new`` it lacks, the newest :data:`MAX_SEQS` kept."""
    if not new:
        return old
    known = set(old)
    return (old + tuple(s for s in new if s not in known))[-MAX_SEQS:]
