"""One builder of the notification events the watch/notify tests send."""

from __future__ import annotations

from typing import Any

from postaltop.core.notification import NotificationEvent

T0 = 1_790_000_000.0


def notification_event(
    key: str = "zscore|credential:1",
    *,
    status: str = "firing",
    severity: str = "critical",
    at: float = T0,
    started_at: float = T0,
    **fields: Any,
) -> NotificationEvent:
    """A "sending far above normal" event of ``key`` (``fields`` replace its scope, metric, figures, why)."""
    values: dict[str, Any] = {
        "title": "Sending far above normal",
        "scope": "credential main smtp (#1)",
        "metric": "sent",
        "observed": "941",
        "expected": "25",
        "why": "sent 941/min vs 25/min expected (z=9.1)",
        "runbook": "alert-sending-far-above-normal",
        **fields,
    }
    return NotificationEvent(
        key=key,
        status="resolved" if status == "resolved" else "firing",
        severity=severity,
        started_at=started_at,
        at=at,
        ended_at=at if status == "resolved" else None,
        **values,
    )
