"""What a response policy says: which alerts it answers, with which action, under which guards.

A policy never acts by itself: :class:`~postaltop.core.respond.decide.ResponseDecider` reads the policies,
the open alerts and the actions already taken, and says for each firing alert whether a policy would act,
only notify, or is held back by a guard (and which one). The front end (``watch`` or the TUI) then runs the
same :class:`~postaltop.core.actions.plan.ActionPlan` a person would, through the same audit trail.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from dataclasses import dataclass, field
from enum import StrEnum

from postaltop.core.alerts import Alert, ScopeKind, Severity

RESPONSE_ACTIONS: dict[str, ScopeKind] = {
    "credential-hold": ScopeKind.CREDENTIAL,
    "hold-queued": ScopeKind.CREDENTIAL,
    "server-send-limit": ScopeKind.SERVER,
}
"""The incident actions a policy may take automatically, and the alert scope each one needs.

Only reversible, non-destructive actions are offered: holding a credential's mail, holding the queued mail
of a credential, lowering a server's send limit. Suspending or revoking stays a human decision.
"""


class ResponseMode(StrEnum):
    """``notify``: say what would be done (the default). ``act``: do it."""

    NOTIFY = "notify"
    ACT = "act"


_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class BusinessHours:
    """Working hours in a fixed UTC offset: ``days`` (0 = Monday) from ``start`` to ``end`` (minutes)."""

    days: frozenset[int] = frozenset(range(5))
    start: int = 9 * 60
    end: int = 18 * 60
    utc_offset_minutes: int = 0

    def contains(self, ts: float) -> bool:
        """Whether the moment ``ts`` (epoch seconds) falls inside these hours."""
        local = dt.datetime.fromtimestamp(ts, dt.UTC) + dt.timedelta(minutes=self.utc_offset_minutes)
        minute = local.hour * 60 + local.minute
        return local.weekday() in self.days and self.start <= minute < self.end

    @classmethod
    def parse(cls, text: str, utc_offset_minutes: int = 0) -> BusinessHours:
        """``mon-fri 09:00-18:00`` (days may also be a comma list: ``mon,wed,fri``).

        Raises:
            ValueError: for text that is not of that form.
        """
        try:
            days_text, hours_text = text.strip().lower().split()
            start_text, end_text = hours_text.split("-")
            start, end = _minutes(start_text), _minutes(end_text)
            days = _days(days_text)
        except ValueError as exc:
            raise ValueError(f"business hours {text!r}: expected e.g. 'mon-fri 09:00-18:00'") from exc
        if end <= start:
            raise ValueError(f"business hours {text!r}: the end must be after the start")
        return cls(days, start, end, utc_offset_minutes)


def _minutes(text: str) -> int:
    hours, _, minutes = text.partition(":")
    value = int(hours) * 60 + int(minutes or 0)
    if not 0 <= value <= 24 * 60:
        raise ValueError(text)
    return value


def _days(text: str) -> frozenset[int]:
    out: set[int] = set()
    for part in text.split(","):
        first, _, last = part.partition("-")
        a = _DAYS.index(first)
        b = _DAYS.index(last) if last else a
        if b < a:
            raise ValueError(part)
        out.update(range(a, b + 1))
    return frozenset(out)


@dataclass(frozen=True, slots=True)
class ResponsePolicy:
    """One ``[[respond]]`` entry (validated by the config layer)."""

    name: str
    action: str
    """One of :data:`RESPONSE_ACTIONS`."""
    kinds: tuple[str, ...] = ("*",)
    """Alert kinds it answers (fnmatch patterns: ``novelty``, ``zscore``, ``ratio:*``)."""
    min_severity: Severity = Severity.CRITICAL
    mode: ResponseMode = ResponseMode.NOTIFY
    firing_for: float = 120.0
    """Seconds the alert must have been firing before the policy acts."""
    agree: int = 1
    """Distinct detector kinds that must be firing on the same scope (2 = two detectors agree)."""
    send_limit: int | None = None
    """The new send limit (messages per hour) for ``server-send-limit``."""
    protected: tuple[str, ...] = ()
    """Servers (``org/server`` fnmatch patterns) never acted on automatically."""
    business_hours: BusinessHours | None = None
    act_in_business_hours: bool = True
    """False: during :attr:`business_hours` the policy only notifies (people are there to decide)."""
    cooldown: float = 3600.0
    """Seconds after acting on a scope before the same policy acts on it again (alerts may flap)."""
    scope: ScopeKind = field(init=False)

    def __post_init__(self) -> None:
        if self.action not in RESPONSE_ACTIONS:
            allowed = ", ".join(RESPONSE_ACTIONS)
            raise ValueError(f"policy {self.name!r}: action {self.action!r} is not one of {allowed}")
        if self.action == "server-send-limit" and (self.send_limit is None or self.send_limit < 0):
            raise ValueError(f"policy {self.name!r}: server-send-limit needs send_limit (a number >= 0)")
        if self.agree < 1:
            raise ValueError(f"policy {self.name!r}: agree must be 1 or more")
        object.__setattr__(self, "scope", RESPONSE_ACTIONS[self.action])

    def answers(self, alert: Alert) -> bool:
        """Whether ``alert`` is the kind, scope and severity this policy is about."""
        return (
            alert.scope.kind is self.scope
            and alert.severity.rank >= self.min_severity.rank
            and any(fnmatch.fnmatchcase(alert.kind, pattern) for pattern in self.kinds)
        )

    def protects(self, server: str) -> bool:
        """Whether ``server`` (``org/server``) is listed as protected."""
        return any(fnmatch.fnmatchcase(server, pattern) for pattern in self.protected)
