"""What every step's evidence is built with: counting helpers, charts, tables, the filter's matching lines."""

from __future__ import annotations

import re
from array import array
from collections import Counter
from collections.abc import Iterable

from postaltop.core.facts import Fact
from postaltop.core.logstore import LogStore
from postaltop.core.matcher import compile_query
from postaltop.core.query import QueryError, parse_query
from postaltop.core.review.checklist import Step
from postaltop.core.review.inputs import AlertRecord, ReviewInput, bucket_count, bucket_size
from postaltop.core.review.model import Chart, Evidence, LogLine, Problem, Table
from postaltop.core.review.window import Window, fmt_time

_DIGITS = re.compile(r"\d{4,}")
_HEX_ID = re.compile(r"\b[A-Z0-9]{8}\b")


def in_window(window: Window, facts: Iterable[Fact]) -> list[Fact]:
    return [f for f in facts if window.start <= f.ts < window.end]


def top(counter: Counter[str], n: int) -> list[tuple[str, int]]:
    return sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


def series(window: Window, stamps: Iterable[float]) -> tuple[float, tuple[int, ...]]:
    size = bucket_size(window)
    values = [0] * bucket_count(window, size)
    for ts in stamps:
        if window.start <= ts < window.end:
            values[min(len(values) - 1, int((ts - window.start) // size))] += 1
    return size, tuple(values)


def chart(title: str, window: Window, stamps: Iterable[float]) -> Chart:
    size, values = series(window, stamps)
    return Chart(title, window.start, size, values)


def table(title: str, headers: tuple[str, str], counter: Counter[str], n: int) -> Table:
    return Table(title, headers, tuple((k, f"{v:,}") for k, v in top(counter, n)))


def normalise_reason(text: str, limit: int = 110) -> str:
    """A reply or error grouped with its kin: long numbers and 8-character ids masked, spaces folded."""
    text = " ".join(text.split())
    text = _DIGITS.sub("N", text)
    text = _HEX_ID.sub("ID", text)
    return text[:limit]


def matching_lines(
    store: LogStore, filter_text: str, window: Window, limit: int, hosts: frozenset[str] | None = None
) -> tuple[list[LogLine], int, str]:
    """The last ``limit`` retained lines in the window matching ``filter_text``, their total, and an error.

    An invalid filter matches nothing and returns its error message (the step shows it).
    """
    if not filter_text.strip():
        return [], 0, ""
    try:
        query = parse_query(filter_text, now=window.end)
    except QueryError as exc:
        return [], 0, f"filter error: {exc}"
    seqs: array[int] = array("q")
    compile_query(query).scan(store, store.start_seq, store.end_seq, seqs)
    kept: list[int] = []
    for seq in seqs:
        block, i = store.locate(seq)
        if not window.start <= block.ts[i] < window.end:
            continue
        if hosts is not None and store.hosts.name(block.host[i]) not in hosts:
            continue
        kept.append(seq)
    out = []
    for seq in kept[-limit:] if limit > 0 else []:
        event = store.event(seq)
        out.append(LogLine(seq, event.ts, event.host, event.text))
    return out, len(kept), ""


def lines_evidence(data: ReviewInput, step: Step) -> Evidence:
    hosts = frozenset(data.hosts) if data.hosts else None
    lines, total, error = matching_lines(data.store, step.filter, data.window, data.sample_lines, hosts)
    return Evidence(
        step.id, step.title, lines=tuple(lines), line_total=total, filter_text=step.filter, note=error
    )


def alert_table(title: str, alerts: list[AlertRecord], top: int) -> Table:
    rows = tuple((fmt_time(a.ts), a.severity, a.title, a.detail) for a in alerts[:top])
    return Table(title, ("time", "severity", "alert", "detail"), rows)


def alert_problems(alerts: list[AlertRecord]) -> list[Problem]:
    worst: dict[str, AlertRecord] = {}
    for a in alerts:
        if a.severity in ("high", "critical"):
            worst[a.title.split(" (")[0]] = a
    return [Problem(a.severity, f"alert: {a.detail or a.title}") for a in worst.values()]
