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

Everything here is pure: the caller passes the time. Consumers (TUI, headless ``watch``, notifiers)
subscribe with :meth:`AlertManager.on_event` and receive :class:`AlertEvent` objects.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum

DB_SOURCE = "db"
"""The source name of findings computed from database polls."""


class Severity(StrEnum):
    """How bad an alert is. Ordered: ``warning`` < ``critical``."""

    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """0 for warning, 1 for critical."""
        return 0 if self is Severity.WARNING else 1


class AlertState(StrEnum):
    """Where an alert is in its lifecycle."""

    PENDING = "pending"
    FIRING = "firing"
    RESOLVED = "resolved"


class Transition(StrEnum):
    """What happened to an alert (the ``kind`` of an :class:`AlertEvent`)."""

    FIRED = "fired"
    """Pending long enough: the alert is now visible and notifiable."""
    UPDATED = "updated"
    """A firing alert was seen again (count, observed value changed). Not worth a notification."""
    ESCALATED = "escalated"
    """A firing alert's severity rose (any acknowledgement is cleared)."""
    RESOLVED = "resolved"
    """Back to normal for ``resolve_after`` seconds."""
    ACKNOWLEDGED = "acknowledged"
    SILENCED = "silenced"


class ScopeKind(StrEnum):
    """What a scope is."""

    GLOBAL = "global"
    SERVER = "server"
    CREDENTIAL = "credential"
    DOMAIN = "domain"
    IP = "ip"
    HOST = "host"


@dataclass(frozen=True, slots=True, order=True)
class Scope:
    """What an alert/baseline is about: ``kind`` plus a ``key`` (``acme/transactional``, ``12``, ``1.2.3.4``).

    ``label`` is for humans (a credential's name); it is not part of equality.
    """

    kind: ScopeKind
    key: str = ""
    label: str = field(default="", compare=False)

    def __str__(self) -> str:
        return self.kind.value if self.kind is ScopeKind.GLOBAL else f"{self.kind.value}:{self.key}"

    @property
    def display(self) -> str:
        """``server acme/transactional`` or ``credential main smtp (#3)``; sanitise before display."""
        if self.kind is ScopeKind.GLOBAL:
            return "all servers"
        if self.label and self.label != self.key:
            return f"{self.kind.value} {self.label} (#{self.key})"
        return f"{self.kind.value} {self.key}"

    @classmethod
    def parse(cls, text: str) -> Scope:
        """The inverse of ``str()``: ``server:acme/app`` -> Scope(SERVER, "acme/app").

        Raises:
            ValueError: for an unknown scope kind.
        """
        kind, _, key = text.partition(":")
        return cls(ScopeKind(kind), key)


GLOBAL = Scope(ScopeKind.GLOBAL)
"""The whole installation."""

SCOPE_RANK: dict[ScopeKind, int] = {
    ScopeKind.CREDENTIAL: 0,
    ScopeKind.IP: 1,
    ScopeKind.SERVER: 2,
    ScopeKind.HOST: 3,
    ScopeKind.DOMAIN: 4,
    ScopeKind.GLOBAL: 5,
}
"""List order within a severity: the most specific (and most actionable) scopes first."""


KIND_RANK: tuple[str, ...] = (
    "send_limit",
    "novelty",
    "auth_burst",
    "ratio:bounce",
    "ratio:spam",
    "zscore",
    "ramp",
    "queue_growth",
    "static",
)
"""Within a severity and scope kind: the detectors whose finding says most about what is wrong first."""

_STATE_RANK = {"firing": 0, "pending": 1, "resolved": 2}


def alert_order(alert: Alert) -> tuple[int, int, int, int, float]:
    """Sort key of the alert list: firing first, critical first, the most specific scope (credential before
    its server before all servers), the most telling detector (:data:`KIND_RANK`), then the newest."""
    kind = KIND_RANK.index(alert.kind) if alert.kind in KIND_RANK else len(KIND_RANK)
    return (
        _STATE_RANK.get(alert.state.value, 3),
        -alert.severity.rank,
        SCOPE_RANK.get(alert.scope.kind, 9),
        kind,
        -(alert.fired_at or alert.first_seen),
    )


@dataclass(frozen=True, slots=True)
class SuggestedAction:
    """What the operator could do, and the key that starts it in the TUI (``x`` = actions menu)."""

    label: str
    key: str = "x"
    action_id: str = ""
    """Stable id of an incident action (``hold_credential``, ``suspend_server`` ...), "" when advice only."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One detector's verdict at one moment (the input of :class:`AlertManager`)."""

    kind: str
    """Detector: ``static``, ``zscore``, ``ramp``, ``auth_burst``, ``ratio:*``, ``novelty``, ``queue_growth``
    (``ratio:bounce``/``ratio:spam``)."""
    scope: Scope
    metric: str
    """``sent``, ``bounced``, ``held``, ``spam``, ``auth_failures``, ``queue_depth``, ``bounce_rate`` ..."""
    severity: Severity
    observed: float
    expected: float | None
    """What the baseline or threshold says is normal (None when there is no such figure)."""
    why: str
    """One line for humans: ``sent 412/min vs 38/min expected (z=9.1)``."""
    ts: float
    action: SuggestedAction | None = None
    source: str = DB_SOURCE
    """Host name or :data:`DB_SOURCE`; inhibition mutes findings of a source that is down."""
    seqs: tuple[int, ...] = ()
    """Log store sequence numbers of lines that raised it (for inline markers)."""

    @property
    def key(self) -> str:
        """``kind|scope``: one open alert per key."""
        return f"{self.kind}|{self.scope}"


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    """An operator said "I am on it"."""

    author: str
    comment: str
    at: float
    severity: Severity
    """The severity acknowledged; a higher one re-raises the alert."""


@dataclass(frozen=True, slots=True)
class Silence:
    """Mute alerts whose key or scope matches ``match`` (fnmatch pattern) until ``until``.

    ``match`` examples: ``zscore|server:acme/app`` (one alert), ``*|credential:3`` (everything about a
    credential), ``auth_burst|*`` (one detector), ``*`` (everything).
    """

    id: str
    match: str
    until: float
    author: str
    reason: str
    created_at: float

    def matches(self, alert_key: str, scope: str) -> bool:
        """True if this silence covers an alert with ``alert_key`` and ``scope``."""
        return fnmatch.fnmatchcase(alert_key, self.match) or fnmatch.fnmatchcase(scope, self.match)

    def active(self, now: float) -> bool:
        """True until it expires."""
        return now < self.until


@dataclass(frozen=True, slots=True)
class Alert:
    """An alert as front ends see it (immutable snapshot; the manager replaces it on every change)."""

    key: str
    """``kind|scope``; stable for the alert's life."""
    kind: str
    scope: Scope
    metric: str
    severity: Severity
    state: AlertState
    observed: float
    expected: float | None
    why: str
    action: SuggestedAction | None
    source: str
    first_seen: float
    last_seen: float
    fired_at: float | None = None
    resolved_at: float | None = None
    count: int = 1
    """Findings folded into this alert."""
    ack: Acknowledgement | None = None
    silence: Silence | None = None
    """The active silence covering it, if any (set by the manager)."""
    inhibited: bool = False
    """Its source is down: frozen, neither raised nor resolved."""
    seqs: tuple[int, ...] = ()
    """Log lines that raised it (the newest :data:`MAX_SEQS`)."""

    @property
    def silenced(self) -> bool:
        """True while a silence covers it."""
        return self.silence is not None

    @property
    def acknowledged(self) -> bool:
        """True when acknowledged at its current severity."""
        return self.ack is not None

    @property
    def is_open(self) -> bool:
        """Pending or firing."""
        return self.state is not AlertState.RESOLVED

    @property
    def notifiable(self) -> bool:
        """Firing, not silenced, not acknowledged, not inhibited: what a pager should hear about."""
        return (
            self.state is AlertState.FIRING
            and not self.silenced
            and not self.acknowledged
            and not self.inhibited
        )


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """One transition of one alert, as delivered to :meth:`AlertManager.on_event` listeners."""

    transition: Transition
    alert: Alert
    at: float


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
        merged = (old.seqs + tuple(s for s in seqs if s not in old.seqs))[-MAX_SEQS:] if seqs else old.seqs
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
