"""The one input of the notification layer: an alert transition, with everything a human needs to act."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Status = Literal["firing", "resolved"]

SEVERITY_ORDER = {"info": 0, "warning": 1, "critical": 2}
"""Severities from least to most urgent (unknown ones rank as ``warning``)."""


def severity_rank(severity: str) -> int:
    """How urgent ``severity`` is (higher is more urgent)."""
    return SEVERITY_ORDER.get(severity, 1)


@dataclass(frozen=True, slots=True)
class NotificationEvent:
    """One alert transition: an incident fired (or changed) or resolved.

    All text fields may hold names from the logs or the database: channels escape them for their format.
    """

    key: str
    """Stable identity of the incident (detector + scope); the dedup key of every channel."""
    status: Status
    severity: str
    """``critical``, ``warning`` or ``info``."""
    title: str
    """What happened, in a few words (``Credential sending far above normal``)."""
    scope: str
    """Where: ``server acme/transactional · credential main smtp`` or ``host mx1``."""
    metric: str
    """The measured figure (``outgoing messages/min``)."""
    observed: str
    """The value seen, with its unit."""
    expected: str
    """The normal value or range, with its unit."""
    why: str
    """One sentence on why this fired (detector and evidence)."""
    runbook: str
    """Anchor in docs/runbook.md of the step to follow (``compromised-credential``)."""
    started_at: float
    """UNIX time the incident started."""
    at: float
    """UNIX time of this transition."""
    ended_at: float | None = None
    """UNIX time the incident resolved (resolved events)."""

    @property
    def firing(self) -> bool:
        """True for a firing (or updated) transition."""
        return self.status == "firing"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (recordings, dead letters)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NotificationEvent:
        """The inverse of :meth:`to_dict` (unknown keys are ignored)."""
        status: Status = "resolved" if data.get("status") == "resolved" else "firing"
        ended = data.get("ended_at")
        return cls(
            key=str(data["key"]),
            status=status,
            severity=str(data.get("severity", "warning")),
            title=str(data.get("title", "")),
            scope=str(data.get("scope", "")),
            metric=str(data.get("metric", "")),
            observed=str(data.get("observed", "")),
            expected=str(data.get("expected", "")),
            why=str(data.get("why", "")),
            runbook=str(data.get("runbook", "")),
            started_at=float(data.get("started_at", 0.0)),
            at=float(data.get("at", 0.0)),
            ended_at=None if ended is None else float(ended),
        )
