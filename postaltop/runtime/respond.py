"""Response policies in the TUI (:class:`~postaltop.runtime.interfaces.ResponseService`): ask first.

When the TUI is the one running, a ``[[respond]]`` policy's decision — ``act`` or ``notify`` alike — is
shown as a pending response and nothing runs until the operator confirms it in the action preview: the
same plan ``watch`` would run (its sentence and audit entry name the policy and the alert), executed by the
runtime's actions, so it is audited and undone (``u``, ``postaltop act undo ID``) like any action. The kill
switch (config flag or file) stops policies from asking, drops what is pending, and is checked again
right before a confirmed response runs. A declined response is not asked again about that scope until the
policy's cooldown passes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from postaltop.core.actions import ActionPlan, PlanError, Preview
from postaltop.core.alerts import Alert, AlertState
from postaltop.core.respond import Outcome, ResponseDecider, ResponsePolicy
from postaltop.core.respond.directory import ServerDirectory
from postaltop.core.respond.prompt import Answer, PendingResponse, Verdict
from postaltop.sources.response_runner import KillSwitch, response_plan

if TYPE_CHECKING:
    from postaltop.runtime.actions import Actions
    from postaltop.runtime.runtime import Runtime

KILL_FILE_NAME = "respond.stop"
"""Created in the state directory, it stops every automatic action (``touch`` it)."""


def kill_switch(settings: Any) -> KillSwitch:
    """The configured kill switch and its file (``[respond_control] kill_file`` or the state directory's)."""
    from postaltop.locations import state_dir

    control = settings.respond_control
    return KillSwitch(control.kill_switch, control.kill_file or state_dir() / KILL_FILE_NAME)


class KillSwitchThrown(PlanError):
    """The kill switch went on between the question and the answer: the response is not run."""


class PromptedResponses:
    """The policies' decisions as questions to the operator; see the module text.

    Args:
        decider: the policies and their guards.
        actions: the runtime's actions (plans, previews and runs them, audited).
        kill: the kill switch.
        wall: the wall clock the answers are stamped with.
    """

    def __init__(
        self,
        decider: ResponseDecider,
        actions: Actions,
        kill: KillSwitch,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.decider = decider
        self.actions = actions
        self.kill = kill
        self.wall = wall
        self.pending: list[PendingResponse] = []
        self.answers: list[Answer] = []
        self._next_id = 1
        self._now = 0.0

    @property
    def policies(self) -> tuple[ResponsePolicy, ...]:
        """The configured policies, in order."""
        return self.decider.policies

    def killed(self) -> bool:
        """Whether the kill switch is on now."""
        return self.kill.on()

    def review(self, alerts: Iterable[Alert], now: float) -> list[PendingResponse]:
        """Decide on the monitor's alerts at ``now`` (data time); returns the responses newly pending."""
        alerts = list(alerts)
        self._now = now
        killed = self.kill.on()
        firing = {a.key for a in alerts if a.state is AlertState.FIRING}
        for item in list(self.pending):
            if killed or item.alert_key not in firing:
                why = "the kill switch was thrown" if killed else "its alert stopped firing"
                self._answer(item, Verdict.LAPSED, f"not asked any more: {why}")
        new: list[PendingResponse] = []
        for decision in self.decider.consider(alerts, now, killed=killed):
            if decision.outcome is Outcome.HELD_BACK:
                self.answers.append(Answer(decision, Verdict.HELD_BACK, self.wall(), decision.reason))
                continue
            item = PendingResponse(self._next_id, decision)
            self._next_id += 1
            self.pending.append(item)
            new.append(item)
        return new

    async def prepare(self, item: PendingResponse) -> tuple[ActionPlan, Preview]:
        """The plan of ``item`` (as ``watch`` would run it) and its preview, read now.

        Raises:
            PlanError: it cannot be planned (recorded as refused), or the kill switch is on.
        """
        if self.kill.on():
            raise KillSwitchThrown("automatic responses are stopped (kill switch): nothing is run")
        try:
            plan = await response_plan(self.actions.executor, item.decision, actions=self.actions.config)
            preview = await self.actions.preview(plan)
        except PlanError as exc:
            self._answer(item, Verdict.REFUSED, f"could not be planned: {exc}")
            raise
        return plan, preview

    async def execute(self, plan: ActionPlan, preview: Preview) -> Any:
        """Run a confirmed response, unless the kill switch went on meanwhile."""
        if self.kill.on():
            raise KillSwitchThrown("automatic responses are stopped (kill switch): nothing was run")
        return await self.actions.execute(plan, preview)

    def confirmed(self, item: PendingResponse, result: Any) -> None:
        """The operator ran ``item``; ``result`` is the executor's answer (its audit id is the undo)."""
        audit_id = getattr(getattr(result, "record", None), "id", None)
        detail = f"[{getattr(result, 'result', '?')}] {getattr(result, 'message', '')}".strip()
        self.decider.confirmed(item.decision, self._now)
        self._answer(item, Verdict.CONFIRMED, detail, audit_id)

    def declined(self, item: PendingResponse, why: str = "") -> None:
        """The operator said no: recorded, and not asked again about that scope until the cooldown passes."""
        self.decider.declined(item.decision, self._now)
        minutes = item.decision.policy.cooldown / 60
        self._answer(item, Verdict.DECLINED, why or f"not asked again for {minutes:.0f} min")

    def about(self, alert_key: str) -> tuple[list[PendingResponse], list[Answer], list[str]]:
        """For one alert: its pending responses, the answers so far, and what policies wait on."""
        pending = [p for p in self.pending if p.alert_key == alert_key]
        answers = [a for a in self.answers if a.decision.alert.key == alert_key]
        waiting = [
            f"policy {policy!r}: waiting — {reason}"
            for (policy, key), reason in self.decider.waiting.items()
            if key == alert_key
        ]
        return pending, answers, waiting

    def _answer(
        self, item: PendingResponse, verdict: Verdict, detail: str, audit_id: int | None = None
    ) -> None:
        if item in self.pending:
            self.pending.remove(item)
        self.answers.append(Answer(item.decision, verdict, self.wall(), detail, audit_id))


def prompted_responses(runtime: Runtime) -> PromptedResponses | None:
    """The TUI's response service for ``runtime``: None without policies, detection or actions."""
    settings = runtime.settings
    if not settings.respond or runtime.monitor is None or runtime.actions is None:
        return None
    directory = ServerDirectory()
    runtime.engine.on_metrics(directory.observe)
    policies = [p.policy() for p in settings.respond]
    decider = ResponseDecider(policies, directory.server_of, settings.respond_control.max_actions_per_hour)
    return PromptedResponses(decider, runtime.actions, kill_switch(settings))
