"""``watch`` runs the response policies: build the runner, review the alerts each tick, report decisions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from postaltop.core.notification import NotificationEvent
from postaltop.core.respond import ResponseDecider
from postaltop.core.respond.directory import ServerDirectory
from postaltop.notify.from_response import report_to_event
from postaltop.runtime.respond import kill_switch
from postaltop.sources.response_runner import ResponseReport, ResponseRunner
from postaltop.watch.jsonlog import JsonLogger


def response_executor(runtime: Any, log: JsonLogger) -> Any | None:
    """The executor automatic actions go through: the runtime's (the demo fleet's, or the database's)."""
    if not runtime.settings.respond:
        return None
    if runtime.actions is None:
        log.log("response_unavailable", "warning", reason="[[respond]] policies need a [database] to act on")
        return None
    return runtime.actions.executor


def attach_response(
    settings: Any,
    engine: Any,
    executor: Any,
    notify: Callable[[NotificationEvent], object],
    log: JsonLogger,
    clock: Callable[[], float],
) -> ResponseRunner | None:
    """A runner for ``[[respond]]`` policies, or None when none is configured.

    Args:
        settings: the whole settings.
        engine: the pipeline (its poll results name the servers behind credentials).
        executor: the database's or the demo's action executor.
        notify: receives one notification per decision, and its resolve.
        log: the JSON log (one ``response`` event per decision).
        clock: the data's time, for the resolve notifications.
    """
    if not settings.respond:
        return None
    directory = ServerDirectory()
    engine.on_metrics(directory.observe)
    policies = [p.policy() for p in settings.respond]
    decider = ResponseDecider(policies, directory.server_of, settings.respond_control.max_actions_per_hour)
    kill = kill_switch(settings)

    def report(item: ResponseReport) -> None:
        decision = item.decision
        log.log(
            "response",
            "warning" if item.result == "ok" else "info",
            policy=decision.policy.name,
            alert=decision.alert.key,
            outcome=decision.outcome.value,
            action=decision.policy.action,
            target=decision.target,
            server=decision.server,
            result=item.result,
            detail=item.message,
            audit_id=item.audit_id,
            undo=item.undo_command,
            data_time=dt.datetime.fromtimestamp(decision.at, dt.UTC).isoformat(timespec="seconds"),
        )
        notify(report_to_event(item, "firing", decision.at))

    def closed(item: ResponseReport) -> None:
        notify(report_to_event(item, "resolved", clock()))

    log.log(
        "response_policies",
        policies=[{"name": p.name, "action": p.action, "mode": p.mode.value} for p in policies],
        kill_switch=kill.on(),
        kill_file=str(kill.path) if kill.path else None,
    )
    return ResponseRunner(decider, executor, kill, report, on_close=closed)
