"""What a recording holds, and how each record is turned into JSON and back.

A recording is gzip-compressed JSON Lines. Raw log lines are bytes that may not be UTF-8: they are
stored as text decoded with ``surrogateescape`` (JSON escapes the stray bytes as ``\\udcXX``),
which round-trips exactly.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from postaltop.core.connect_state import (
    Backfill,
    ConnectState,
    CredentialDomainSpan,
    CredentialHour,
    CredentialInfo,
    DeliveryMinute,
    DomainHour,
    DomainMinute,
    MessageMinute,
)
from postaltop.core.dbmetrics import (
    CredentialDomainSample,
    CredentialSample,
    DomainSample,
    HealthSample,
    HistoryPoint,
    PollResult,
    ServerInfo,
    ServerSample,
    WindowCounts,
)
from postaltop.core.notification import NotificationEvent

FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class LinesRecord:
    """One group of raw lines as a source handed it to the engine."""

    at: float
    """When the lines were received (the engine's ``received_at``)."""
    host: str
    component: str
    lines: tuple[bytes, ...]
    sim_time: float | None = None
    """The demo's simulated time after this group, when recorded from the demo."""


@dataclass(frozen=True, slots=True)
class MetricsRecord:
    """One poll result."""

    at: float
    result: PollResult


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """One alert transition."""

    at: float
    event: NotificationEvent


@dataclass(frozen=True, slots=True)
class ConnectStateRecord:
    """What the monitor read at first connect (statistics, the recent past, the credentials' history)."""

    at: float
    state: ConnectState


@dataclass(frozen=True, slots=True)
class AuthHistoryRecord:
    """SMTP authentication lines read back at connect (what the client-network detector learnt), as
    (host, component, lines) groups; a replay hands them to its detector at the same point."""

    at: float
    groups: tuple[tuple[str, str, tuple[bytes, ...]], ...]


Record = LinesRecord | MetricsRecord | AlertRecord | ConnectStateRecord | AuthHistoryRecord


def encode(record: Record) -> dict[str, Any]:
    """A JSON-ready dict of ``record``."""
    if isinstance(record, LinesRecord):
        out: dict[str, Any] = {
            "k": "lines",
            "at": record.at,
            "host": record.host,
            "component": record.component,
            "lines": [line.decode("utf-8", "surrogateescape") for line in record.lines],
        }
        if record.sim_time is not None:
            out["sim_time"] = record.sim_time
        return out
    if isinstance(record, MetricsRecord):
        return {"k": "metrics", "at": record.at, "result": asdict(record.result)}
    if isinstance(record, ConnectStateRecord):
        return {"k": "connect_state", "at": record.at, "state": asdict(record.state)}
    if isinstance(record, AuthHistoryRecord):
        groups = [
            [h, c, [line.decode("utf-8", "surrogateescape") for line in lines]]
            for h, c, lines in record.groups
        ]
        return {"k": "auth_history", "at": record.at, "groups": groups}
    return {"k": "alert", "at": record.at, "event": record.event.to_dict()}


def decode(data: dict[str, Any]) -> Record | None:
    """The record of one JSON object (None for the header and unknown kinds, so newer files still open)."""
    kind = data.get("k")
    at = float(data.get("at", 0.0))
    if kind == "lines":
        sim = data.get("sim_time")
        return LinesRecord(
            at,
            str(data["host"]),
            str(data["component"]),
            tuple(str(line).encode("utf-8", "surrogateescape") for line in data["lines"]),
            None if sim is None else float(sim),
        )
    if kind == "metrics":
        return MetricsRecord(at, poll_from_dict(data["result"]))
    if kind == "alert":
        return AlertRecord(at, NotificationEvent.from_dict(data["event"]))
    if kind == "connect_state":
        return ConnectStateRecord(at, connect_state_from_dict(data["state"]))
    if kind == "auth_history":
        groups = tuple(
            (str(h), str(c), tuple(str(line).encode("utf-8", "surrogateescape") for line in lines))
            for h, c, lines in data["groups"]
        )
        return AuthHistoryRecord(at, groups)
    return None


def connect_state_from_dict(data: dict[str, Any]) -> ConnectState:
    """The :class:`ConnectState` of its ``asdict`` form."""
    raw = data.get("backfill")
    backfill = None
    if raw is not None:
        backfill = Backfill(
            start=float(raw["start"]),
            end=float(raw["end"]),
            messages=tuple(MessageMinute(**m) for m in raw.get("messages", ())),
            deliveries=tuple(DeliveryMinute(**d) for d in raw.get("deliveries", ())),
            domains=tuple(DomainMinute(**d) for d in raw.get("domains", ())),
            credential_domains=tuple(CredentialDomainSpan(**c) for c in raw.get("credential_domains", ())),
            future_rows=int(raw.get("future_rows", 0)),
            errors=tuple(str(e) for e in raw.get("errors", ())),
        )
    return ConnectState(
        history=tuple(HistoryPoint(**p) for p in data.get("history", ())),
        backfill=backfill,
        credential_hours=tuple(CredentialHour(**h) for h in data.get("credential_hours", ())),
        credential_domains=tuple((int(c), str(d)) for c, d in data.get("credential_domains", ())),
        credential_since=float(data.get("credential_since", 0.0)),
        credentials=tuple(CredentialInfo(**c) for c in data.get("credentials", ())),
        errors=tuple(str(e) for e in data.get("errors", ())),
        domain_hours=tuple(DomainHour(**h) for h in data.get("domain_hours", ())),
    )


def _health_from_dict(data: dict[str, Any]) -> HealthSample:
    fields = dict(data)
    fields["counters"] = tuple((str(name), float(value)) for name, value in fields.get("counters", ()))
    return HealthSample(**fields)


def poll_from_dict(data: dict[str, Any]) -> PollResult:
    """Rebuild a :class:`PollResult` from ``dataclasses.asdict`` output."""
    samples = []
    for raw in data.get("samples", ()):
        fields = dict(raw)
        fields["counts"] = WindowCounts(**fields.get("counts", {}))
        held = fields.get("held_send_limit_by_credential", ())
        fields["held_send_limit_by_credential"] = tuple((int(c), int(n)) for c, n in held)
        samples.append(ServerSample(**fields))
    return PollResult(
        started_at=float(data["started_at"]),
        duration=float(data["duration"]),
        connected=bool(data["connected"]),
        status=str(data["status"]),
        servers=tuple(ServerInfo(**s) for s in data.get("servers", ())),
        samples=tuple(samples),
        credentials=tuple(CredentialSample(**c) for c in data.get("credentials", ())),
        domains=tuple(DomainSample(**d) for d in data.get("domains", ())),
        errors=tuple(data.get("errors", ())),
        queries=int(data.get("queries", 0)),
        retry_in=data.get("retry_in"),
        health=tuple(_health_from_dict(h) for h in data.get("health", ())),
        credential_domains=tuple(CredentialDomainSample(**c) for c in data.get("credential_domains", ())),
        state=str(data.get("state", "")),
    )
