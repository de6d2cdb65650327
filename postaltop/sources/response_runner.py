"""Runs the response policies' decisions: the same plan, preview, execution and audit as a person's action.

The pure :class:`~postaltop.core.respond.ResponseDecider` says what each policy does about each firing alert;
this runner carries it out against an action executor (the database's or the demo's) and reports every
decision to a listener (``watch`` notifies and logs it; the TUI shows it). An automatic action:

* is planned by :func:`~postaltop.sources.action_executor.plan_action`, exactly as ``postaltop act`` plans it;
* names its policy and the alert that caused it in its sentence and in the audit entry's targets;
* checks the kill switch again right before it runs (a switch thrown mid-incident stops it);
* is previewed and executed in one transaction, verified and audited by the executor, so
  ``postaltop act undo ID`` undoes it like a manual action; the report carries that command.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from postaltop.core.actions import ActionPlan, PlanError
from postaltop.core.alerts import Alert, AlertState
from postaltop.core.respond import Decision, Outcome, ResponseDecider
from postaltop.sources.action_executor import ActionsDisabled, plan_action


@dataclass(frozen=True, slots=True)
class ResponseReport:
    """One decision and, for ``act``, what the executor did."""

    decision: Decision
    result: str
    """``ok``, ``no-op``, ``error``… from the executor; ``notify`` / ``held-back`` / ``refused`` otherwise."""
    message: str
    audit_id: int | None = None

    @property
    def undo_command(self) -> str | None:
        """``postaltop act undo 12`` when rows changed."""
        if self.audit_id is None or self.result not in ("ok", "verify-failed", "unknown"):
            return None
        return f"postaltop act undo {self.audit_id}"

    @property
    def text(self) -> str:
        """One line for logs and notifications."""
        parts = [self.decision.sentence, f"result: {self.result} ({self.message})"]
        if self.undo_command:
            parts.append(f"undo: {self.undo_command}")
        return " — ".join(parts)


class KillSwitch:
    """The config flag plus a file whose mere existence stops every automatic action."""

    def __init__(self, configured: bool, path: Path | None) -> None:
        self.configured = configured
        self.path = path

    def on(self) -> bool:
        """Whether automatic actions are stopped right now."""
        return self.configured or (self.path is not None and self.path.exists())


Listener = Callable[[ResponseReport], None]


class ResponseRunner:
    """Feeds the open alerts to the decider and carries out its decisions.

    Args:
        decider: the policies and their guards.
        executor: a ``DbActionExecutor`` or ``DemoActionExecutor`` (anything with ``preview``/``execute``).
        kill: the kill switch.
        listener: receives every report (notify, log, show).
        on_close: receives a report again once the alert that caused it is no longer firing.
    """

    def __init__(
        self,
        decider: ResponseDecider,
        executor: Any,
        kill: KillSwitch,
        listener: Listener,
        on_close: Listener | None = None,
    ) -> None:
        self.decider = decider
        self.executor = executor
        self.kill = kill
        self.listener = listener
        self.on_close = on_close
        self.reports: list[ResponseReport] = []
        self.open: dict[str, ResponseReport] = {}
        """Alert key -> the report about it while that alert is firing."""

    async def review(self, alerts: Iterable[Alert], now: float) -> list[ResponseReport]:
        """Decide on ``alerts`` (the monitor's list) at ``now`` and carry the decisions out."""
        alerts = list(alerts)
        firing = {a.key for a in alerts if a.state is AlertState.FIRING}
        for key in [k for k in self.open if k not in firing]:
            report = self.open.pop(key)
            if self.on_close is not None:
                self.on_close(report)
        out = []
        for decision in self.decider.consider(alerts, now, killed=self.kill.on()):
            report = await self._carry_out(decision)
            self.reports.append(report)
            self.open[decision.alert.key] = report
            self.listener(report)
            out.append(report)
        return out

    async def _carry_out(self, decision: Decision) -> ResponseReport:
        if decision.outcome is Outcome.NOTIFY:
            return ResponseReport(decision, "notify", "nothing changed (mode is notify)")
        if decision.outcome is Outcome.HELD_BACK:
            return ResponseReport(decision, "held-back", f"nothing changed: {decision.reason}")
        if self.kill.on():
            stopped = replace(decision, outcome=Outcome.HELD_BACK, reason="kill switch thrown before it ran")
            return ResponseReport(stopped, "held-back", "nothing changed: automatic actions are stopped")
        try:
            plan = await response_plan(self.executor, decision)
            preview = await self.executor.preview(plan)
            if preview.count == 0 and plan.selection is not None:
                return ResponseReport(
                    decision, "no-op", f"nothing to change: no {plan.selection_noun} selected"
                )
            done = await self.executor.execute(plan, preview)
        except ActionsDisabled:
            return ResponseReport(decision, "refused", "nothing changed: [actions] enabled is false")
        except PlanError as exc:
            return ResponseReport(decision, "refused", f"nothing changed: {exc}")
        return ResponseReport(decision, done.result, done.message, done.record.id)


async def response_plan(executor: Any, decision: Decision, **kwargs: Any) -> ActionPlan:
    """The plan of ``decision``'s action, planned as ``postaltop act`` plans it, naming its policy and alert
    in the sentence and in the audit entry's targets (``kwargs``: passed to :func:`plan_action`)."""
    server, credential, value = _targets(decision)
    plan = await plan_action(executor, decision.policy.action, server, credential, value=value, **kwargs)
    return replace(
        plan,
        sentence=f"Automatic response (policy {decision.policy.name!r}, alert {decision.alert.key}): "
        + plan.sentence,
        targets={**plan.targets, **cause_of(decision)},
    )


def _targets(decision: Decision) -> tuple[str, str, str]:
    """(server text, credential text, value) for :func:`plan_action`."""
    scope = decision.alert.scope
    if decision.policy.action == "server-send-limit":
        return scope.key, "", str(decision.policy.send_limit)
    return "", f"#{scope.key}", ""


def cause_of(decision: Decision) -> dict[str, str]:
    """What the audit entry records about the decision that caused it."""
    fired = decision.alert.fired_at or decision.alert.first_seen
    return {
        "policy": decision.policy.name,
        "alert": decision.alert.key,
        "alert_fired_at": dt.datetime.fromtimestamp(fired, dt.UTC).isoformat(timespec="seconds"),
        "alert_why": decision.alert.why,
    }
