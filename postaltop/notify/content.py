"""What a notification says, and the payload each channel's API expects (pure functions, tested directly)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from postaltop.core.notification import NotificationEvent

PAGERDUTY_SEVERITY = {"critical": "critical", "warning": "warning", "info": "info"}
SOURCE = "postaltop"


def iso8601(ts: float) -> str:
    """RFC 3339 UTC time with milliseconds (``2026-11-23T12:00:00.000Z``)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts * 1000) % 1000:03d}Z"


def runbook_link(event: NotificationEvent, base: str) -> str:
    """``base#anchor`` of the incident's runbook step (``base`` alone without an anchor)."""
    return f"{base}#{event.runbook}" if event.runbook else base


def headline(event: NotificationEvent) -> str:
    """``[FIRING critical] What — where`` (``[RESOLVED]`` for a resolve)."""
    state = f"FIRING {event.severity}" if event.firing else "RESOLVED"
    return f"[{state}] {event.title} — {event.scope}"


def body_lines(event: NotificationEvent, runbook_base: str) -> list[str]:
    """The actionable content as plain-text lines: what, where, observed vs expected, why, runbook step."""
    lines = [
        f"What: {event.title}",
        f"Where: {event.scope}",
        f"Observed: {event.metric} = {event.observed} (expected {event.expected})",
        f"Why: {event.why}",
        f"Runbook: {runbook_link(event, runbook_base)}",
        f"Started: {iso8601(event.started_at)}",
    ]
    if not event.firing and event.ended_at is not None:
        minutes = max(0.0, event.ended_at - event.started_at) / 60.0
        lines.append(f"Resolved: {iso8601(event.ended_at)} (after {minutes:.0f} min)")
    return lines


def alertmanager_labels(event: NotificationEvent, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The labels an incident is posted to Alertmanager with (``incident`` is its key: group and silence
    by it); ``extra`` (the instance's own labels, e.g. its host group) never overrides them."""
    return {
        **(extra or {}),
        "alertname": event.title,
        "severity": event.severity,
        "scope": event.scope,
        "metric": event.metric,
        "incident": event.key,
        "source": SOURCE,
    }


def alertmanager_payload(
    event: NotificationEvent,
    runbook_base: str,
    ends_at: float | None = None,
    labels: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The body of ``POST /api/v2/alerts``: one postable alert.

    Args:
        event: the transition.
        runbook_base: base URL of the runbook.
        ends_at: ``endsAt`` for a firing alert (Alertmanager resolves it then unless re-posted); a resolved
            event always carries its end time.
        labels: the instance's extra labels.
    """
    alert: dict[str, Any] = {
        "labels": alertmanager_labels(event, labels),
        "annotations": {
            "summary": headline(event),
            "description": "\n".join(body_lines(event, runbook_base)),
            "observed": event.observed,
            "expected": event.expected,
            "runbook_url": runbook_link(event, runbook_base),
        },
        "startsAt": iso8601(event.started_at),
    }
    end = (event.ended_at or event.at) if not event.firing else ends_at
    if end is not None:
        alert["endsAt"] = iso8601(max(end, event.started_at))  # Alertmanager refuses an end before the start
    return [alert]


def slack_escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(event: NotificationEvent, runbook_base: str) -> dict[str, Any]:
    """An incoming-webhook message: a plain ``text`` fallback and one section block."""
    title = slack_escape(headline(event))
    details = "\n".join(slack_escape(line) for line in body_lines(event, runbook_base))
    return {
        "text": title,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{title}*\n{details}"}},
        ],
    }


def pagerduty_payload(event: NotificationEvent, routing_key: str, runbook_base: str) -> dict[str, Any]:
    """An Events API v2 ``trigger`` or ``resolve`` deduplicated on the incident key."""
    if not event.firing:
        return {"routing_key": routing_key, "event_action": "resolve", "dedup_key": event.key}
    return {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": event.key,
        "payload": {
            "summary": headline(event)[:1024],
            "source": SOURCE,
            "severity": PAGERDUTY_SEVERITY.get(event.severity, "warning"),
            "timestamp": iso8601(event.started_at),
            "component": event.scope,
            "class": event.metric,
            "custom_details": {
                "what": event.title,
                "where": event.scope,
                "observed": event.observed,
                "expected": event.expected,
                "why": event.why,
                "runbook": runbook_link(event, runbook_base),
            },
        },
        "links": [{"href": runbook_link(event, runbook_base), "text": "postaltop runbook"}],
    }


def email_subject(event: NotificationEvent) -> str:
    """The subject line (one line, no control characters)."""
    return " ".join(headline(event).split())[:200]


def email_body(event: NotificationEvent, runbook_base: str) -> str:
    """The plain-text body."""
    return "\n".join([*body_lines(event, runbook_base), "", f"Incident key: {event.key}", "-- postaltop"])
