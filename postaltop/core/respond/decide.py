"""Decide, for each firing alert, what each response policy does now: act, only notify, or hold back.

Guards are checked in a fixed order and the first that stops a policy is named in the decision, so an
operator reading the notification knows exactly why nothing (or something) was done:

1. the policy must answer the alert (kind, scope, severity) — else it is simply not involved;
2. time: the alert must have been firing for ``firing_for`` seconds, it must have a baseline (an alert
   whose scope is still learning what is normal is never acted on), and the policy must not have acted on the
   same scope within its ``cooldown`` (a flapping alert, or two detectors about one credential, is one
   incident) — until then the policy *waits*;
3. agreement: ``agree`` distinct detector kinds firing on the same scope, or resolved within the last
   :data:`AGREE_WINDOW` seconds (detectors see one incident at different moments: new recipient domains
   first, then the rate). Only the same scope counts: a server's spike caused by one credential must not
   make a neighbouring credential's marginal alert "agree" — until then the policy *waits*;
4. protected servers, then a server that cannot be named (protection cannot be checked) — *held back*;
5. the kill switch — *held back*;
6. the fleet-wide rate limit (actions in the last hour) — *held back*;
7. business hours when the policy only acts outside them — *held back*;
8. ``mode = notify`` — *notify* (say what would be done); else *act*.

One incident (policy, alert key, the time it fired) gets one final decision: a firing alert is never acted
on twice, and an alert that resolves and fires again is a new incident.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from postaltop.core.alerts import Alert, AlertState
from postaltop.core.respond.policy import ResponseMode, ResponsePolicy

HOUR = 3600.0
AGREE_WINDOW = 900.0
"""An alert resolved this recently still counts as a detector agreeing."""


class Outcome(StrEnum):
    """What a policy does about one alert."""

    ACT = "act"
    """Run the action now."""
    NOTIFY = "notify"
    """Mode ``notify``: say what would be done, change nothing."""
    HELD_BACK = "held-back"
    """A guard stopped it (named in :attr:`Decision.reason`); nothing changes."""


@dataclass(frozen=True, slots=True)
class Decision:
    """One final decision of one policy about one firing alert."""

    policy: ResponsePolicy
    alert: Alert
    outcome: Outcome
    reason: str
    server: str | None
    """``org/server`` the action would write to (None when it could not be named)."""
    at: float

    @property
    def target(self) -> str:
        """What the action is about, for people: ``credential main smtp (#3)`` or ``server acme/app``."""
        return self.alert.scope.display

    @property
    def incident(self) -> tuple[str, str, float]:
        """(policy, alert key, fired at): the unit that is decided once."""
        return (self.policy.name, self.alert.key, self.alert.fired_at or self.alert.first_seen)

    @property
    def sentence(self) -> str:
        """``policy 'night-hold' would run credential-hold on credential main smtp (#3): <reason>``."""
        verb = {Outcome.ACT: "runs", Outcome.NOTIFY: "would run", Outcome.HELD_BACK: "did not run"}
        return (
            f"policy {self.policy.name!r} {verb[self.outcome]} {self.policy.action} on {self.target} "
            f"(alert {self.alert.key}): {self.reason}"
        )


ServerOf = Callable[[Alert], str | None]
"""Names the Postal server (``org/server``) an alert's action would write to, or None if unknown."""


class ResponseDecider:
    """Applies the policies' guards to the open alerts (pure: the caller passes the time and the switch).

    Args:
        policies: the configured policies, in order.
        server_of: names the server an alert's action writes to (protection is checked against it).
        max_actions_per_hour: fleet-wide ceiling on automatic actions (every policy together).
    """

    def __init__(
        self, policies: Sequence[ResponsePolicy], server_of: ServerOf, max_actions_per_hour: int = 3
    ) -> None:
        self.policies = tuple(policies)
        self.server_of = server_of
        self.max_actions_per_hour = max_actions_per_hour
        self._decided: set[tuple[str, str, float]] = set()
        self._acted_at: deque[float] = deque()
        self._last_acted: dict[tuple[str, str], float] = {}
        """(policy, scope) -> when the policy last acted on it."""
        self._declined: dict[tuple[str, str], float] = {}
        """(policy, scope) -> when an operator last declined this policy's response on it (the TUI)."""
        self.waiting: dict[tuple[str, str], str] = {}
        """(policy, alert key) -> the guard it is waiting on (for the alert detail and the TUI)."""

    def consider(self, alerts: Iterable[Alert], now: float, *, killed: bool = False) -> list[Decision]:
        """The new final decisions about ``alerts`` at ``now``; ``killed`` = the kill switch is on."""
        alerts = list(alerts)
        open_alerts = [a for a in alerts if a.state is AlertState.FIRING]
        self.waiting = {}
        out: list[Decision] = []
        for alert in open_alerts:
            for policy in self.policies:
                if not policy.answers(alert):
                    continue
                key = (policy.name, alert.key, alert.fired_at or alert.first_seen)
                if key in self._decided:
                    continue
                wait = self._wait_reason(policy, alert, alerts, now)
                if wait is not None:
                    self.waiting[(policy.name, alert.key)] = wait
                    continue
                decision = self._decide(policy, alert, now, killed)
                self._decided.add(key)
                if decision.outcome is Outcome.ACT:
                    self._acted_at.append(now)
                    self._last_acted[(policy.name, str(alert.scope))] = now
                out.append(decision)
        return out

    def actions_in_last_hour(self, now: float) -> int:
        """Automatic actions decided in the hour before ``now`` (all policies)."""
        while self._acted_at and self._acted_at[0] <= now - HOUR:
            self._acted_at.popleft()
        return len(self._acted_at)

    def declined(self, decision: Decision, now: float) -> None:
        """An operator said no to ``decision``: it did nothing, so it frees its share of the rate limit and
        the cooldown it started, and the policy waits a cooldown before asking about that scope again (the
        same incident included, if it is still firing then)."""
        self._decided.discard(decision.incident)
        if decision.outcome is Outcome.ACT:
            if decision.at in self._acted_at:
                self._acted_at.remove(decision.at)
            key = (decision.policy.name, str(decision.alert.scope))
            if self._last_acted.get(key) == decision.at:
                del self._last_acted[key]
        self._declined[(decision.policy.name, str(decision.alert.scope))] = now

    def confirmed(self, decision: Decision, now: float) -> None:
        """An operator ran ``decision``'s action (the TUI asks even in ``act`` mode): a notify-mode decision
        then counts as an action too (rate limit, cooldown), as an ``act`` decision already does."""
        if decision.outcome is Outcome.NOTIFY:
            self._acted_at.append(now)
            self._last_acted[(decision.policy.name, str(decision.alert.scope))] = now

    def _wait_reason(
        self, policy: ResponsePolicy, alert: Alert, alerts: list[Alert], now: float
    ) -> str | None:
        fired = alert.fired_at if alert.fired_at is not None else alert.first_seen
        if now - fired < policy.firing_for:
            return f"firing for {now - fired:.0f} s of the {policy.firing_for:.0f} s required"
        if alert.expected is None or alert.expected <= 0:
            return "no baseline for this scope yet (nothing normal to compare with): never acted on"
        last = self._last_acted.get((policy.name, str(alert.scope)))
        if last is not None and now - last < policy.cooldown:
            return f"acted on {alert.scope} {now - last:.0f} s ago (cooldown {policy.cooldown:.0f} s)"
        declined = self._declined.get((policy.name, str(alert.scope)))
        if declined is not None and now - declined < policy.cooldown:
            return (
                f"declined by the operator {now - declined:.0f} s ago "
                f"(asked again after the {policy.cooldown:.0f} s cooldown)"
            )
        if policy.agree > 1:
            kinds = agreeing_kinds(alert, alerts, now)
            if len(kinds) < policy.agree:
                return f"{len(kinds)} of {policy.agree} detectors agree ({', '.join(sorted(kinds))})"
        return None

    def _decide(self, policy: ResponsePolicy, alert: Alert, now: float, killed: bool) -> Decision:
        server = self.server_of(alert)

        def held(reason: str) -> Decision:
            return Decision(policy, alert, Outcome.HELD_BACK, reason, server, now)

        if server is not None and policy.protects(server):
            return held(f"server {server} is protected")
        if server is None and policy.protected:
            return held("its server is not known yet, so protection cannot be checked")
        if killed:
            return held("automatic actions are stopped (kill switch)")
        done = self.actions_in_last_hour(now)
        if done >= self.max_actions_per_hour:
            limit = self.max_actions_per_hour
            return held(f"rate limit: {done} automatic actions in the last hour (limit {limit})")
        hours = policy.business_hours
        if hours is not None and not policy.act_in_business_hours and hours.contains(now):
            return held("inside business hours, this policy only notifies")
        if policy.mode is ResponseMode.NOTIFY:
            return Decision(policy, alert, Outcome.NOTIFY, "mode is notify: nothing changed", server, now)
        return Decision(policy, alert, Outcome.ACT, "every guard passed", server, now)


def agreeing_kinds(alert: Alert, alerts: Iterable[Alert], now: float) -> set[str]:
    """Distinct detector kinds firing about ``alert``'s scope, or resolved within :data:`AGREE_WINDOW`."""
    kinds = set()
    for other in alerts:
        if other.scope != alert.scope:
            continue
        recent = (
            other.state is AlertState.RESOLVED
            and other.fired_at is not None
            and other.resolved_at is not None
            and other.resolved_at >= now - AGREE_WINDOW
        )
        if other.state is AlertState.FIRING or recent:
            kinds.add(other.kind)
    return kinds
