"""The seam between the alert lifecycle (``postaltop.core.alerts``) and the notifier: AlertEvent -> event.

Only transitions worth a page become notifications: ``fired`` and ``escalated`` (firing), ``resolved``;
``updated`` is passed as firing too and the dispatcher deduplicates it. Silenced, acknowledged and inhibited
alerts are not notified (their resolve still is, when they had been notified).
"""

from __future__ import annotations

from postaltop.core.alerts import Alert, AlertEvent, Transition
from postaltop.core.notification import NotificationEvent
from postaltop.core.sanitize import display_text

RUNBOOK_ANCHORS: dict[str, str] = {
    "auth_failures": "alert-smtp-auth-brute-force",
    "auth_burst": "alert-smtp-auth-brute-force",
    "sent": "alert-sending-far-above-normal",
    "outgoing": "alert-sending-far-above-normal",
    "credential": "alert-sending-far-above-normal",
    "bounced": "alert-bounces-and-hard-fails",
    "hard_fail": "alert-bounces-and-hard-fails",
    "bounce_rate": "alert-bounces-and-hard-fails",
    "soft_fail": "alert-remote-servers-deferring",
    "held": "alert-mail-held",
    "send_limit": "alert-mail-held",
    "spam": "alert-spam-sent",
    "queue_depth": "alert-queue-growing",
    "queue_growth": "alert-queue-growing",
    "host": "alert-host-or-database-down",
    "new_domains": "alert-sending-far-above-normal",
    "spam_rate": "alert-spam-sent",
}
"""Alert metric (or detector kind) -> anchor of its step in docs/runbook.md."""

DEFAULT_ANCHOR = "alert-notifications"

TITLES: dict[str, str] = {
    "auth_failures": "SMTP authentication failures",
    "sent": "Sending far above normal",
    "outgoing": "Sending far above normal",
    "bounced": "Bounces far above normal",
    "hard_fail": "Hard fails far above normal",
    "bounce_rate": "Bounce rate high",
    "soft_fail": "Remote servers deferring",
    "held": "Mail being held",
    "spam": "Spam being sent",
    "queue_depth": "Queue growing",
    "new_domains": "Sending to many new domains",
    "spam_rate": "Spam rate high",
    "auth_burst": "SMTP authentication failures",
}


def runbook_anchor(metric: str, kind: str) -> str:
    """The runbook step for an alert's metric or detector kind."""
    return RUNBOOK_ANCHORS.get(metric) or RUNBOOK_ANCHORS.get(kind) or DEFAULT_ANCHOR


def _figure(value: float | None) -> str:
    if value is None:
        return "no baseline yet"
    return f"{value:.0f}" if abs(value) >= 10 else f"{value:.2f}"


def alert_to_event(alert: Alert, status: str, at: float) -> NotificationEvent:
    """The notification content of ``alert`` (text from logs is made safe for display)."""
    title = TITLES.get(alert.metric, alert.metric.replace("_", " ").capitalize())
    return NotificationEvent(
        key=alert.key,
        status="resolved" if status == "resolved" else "firing",
        severity=alert.severity.value,
        title=title,
        scope=display_text(alert.scope.display),
        metric=alert.metric,
        observed=_figure(alert.observed),
        expected=_figure(alert.expected),
        why=display_text(alert.why),
        runbook=runbook_anchor(alert.metric, alert.kind),
        started_at=alert.fired_at or alert.first_seen,
        at=at,
        ended_at=alert.resolved_at if status == "resolved" else None,
    )


def notification_for(event: AlertEvent) -> NotificationEvent | None:
    """The notification for one lifecycle transition, or None when it is not one to send."""
    alert = event.alert
    if event.transition is Transition.RESOLVED:
        return alert_to_event(alert, "resolved", event.at)
    if event.transition in (Transition.FIRED, Transition.ESCALATED, Transition.UPDATED):
        if not alert.notifiable:
            return None
        return alert_to_event(alert, "firing", event.at)
    return None
