"""Automatic-response reports as notifications: what a policy did (or would do), with the undo command."""

from __future__ import annotations

from postaltop.core.notification import NotificationEvent
from postaltop.core.sanitize import display_text
from postaltop.sources.response_runner import ResponseReport

RUNBOOK_ANCHOR = "automatic-response-policies"
TITLES = {
    "ok": "Automatic response: action taken",
    "notify": "Automatic response: would act (notify mode)",
    "held-back": "Automatic response: held back by a guard",
    "refused": "Automatic response: refused",
    "no-op": "Automatic response: nothing to change",
}


def response_key(report: ResponseReport) -> str:
    """One incident per (policy, alert): the dedup key of every channel."""
    return f"respond|{report.decision.policy.name}|{report.decision.alert.key}"


def report_to_event(report: ResponseReport, status: str, at: float) -> NotificationEvent:
    """The notification of one report (``resolved`` once the alert that caused it has resolved)."""
    decision = report.decision
    changed = report.result in ("ok", "verify-failed", "unknown")
    title = TITLES.get(report.result, f"Automatic response: {report.result}")
    undo = f" Undo: {report.undo_command}." if report.undo_command else ""
    return NotificationEvent(
        key=response_key(report),
        status="resolved" if status == "resolved" else "firing",
        severity="critical" if changed else "warning",
        title=title,
        scope=display_text(decision.target + (f" on {decision.server}" if decision.server else "")),
        metric=decision.policy.action,
        observed=report.result,
        expected=decision.policy.mode.value,
        why=display_text(f"{decision.sentence}. {report.message}.{undo}"),
        runbook=RUNBOOK_ANCHOR,
        started_at=decision.at,
        at=at,
        ended_at=at if status == "resolved" else None,
    )
