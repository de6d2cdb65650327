"""The stable alert types front ends and notifiers consume: severities, scopes, findings, alerts, silences and
their order (split from :mod:`postaltop.core.alerts`, which re-exports every name with the lifecycle)."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
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
