"""The vocabulary of a review: steps' evidence, automatic problems, the reviewer's findings."""

from __future__ import annotations

from dataclasses import dataclass, field

SEVERITIES: tuple[str, ...] = ("info", "low", "medium", "high", "critical")
"""Finding severities, mildest first."""


def severity_rank(severity: str) -> int:
    """Position of ``severity`` in :data:`SEVERITIES` (unknown words rank as ``info``)."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else 0


@dataclass(frozen=True, slots=True)
class Table:
    """A small table of evidence (cells are plain text from logs: escape before rendering)."""

    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True, slots=True)
class Chart:
    """A series over the window, drawn as text (one bucket per ``bucket_seconds``)."""

    title: str
    start: float
    bucket_seconds: float
    values: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Problem:
    """Something the evidence itself flags (shown first in the report)."""

    severity: str
    text: str


@dataclass(frozen=True, slots=True)
class LogLine:
    """One log line shown as evidence (``text`` is raw: sanitise before display)."""

    seq: int
    ts: float
    host: str
    text: str


@dataclass(frozen=True, slots=True)
class Evidence:
    """Everything one checklist step shows."""

    step_id: str
    title: str
    summary: tuple[str, ...] = ()
    tables: tuple[Table, ...] = ()
    charts: tuple[Chart, ...] = ()
    problems: tuple[Problem, ...] = ()
    lines: tuple[LogLine, ...] = ()
    """The most recent matching lines (up to the step's limit)."""
    line_total: int = 0
    """How many retained lines in the window match the step's filter."""
    filter_text: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    """Key figures kept with the review, to compare with the next one."""
    note: str = ""
    """A caveat about the data (e.g. alerts not available)."""

    @property
    def worst(self) -> str:
        """The most severe automatic problem (``info`` when none)."""
        return max((p.severity for p in self.problems), key=severity_rank, default="info")


@dataclass(frozen=True, slots=True)
class Finding:
    """What the reviewer recorded for one step."""

    step_id: str
    severity: str
    """One of :data:`SEVERITIES`; ignored when ``nothing_found``."""
    note: str = ""
    follow_up: str = ""
    nothing_found: bool = False
    recorded_at: float = 0.0
