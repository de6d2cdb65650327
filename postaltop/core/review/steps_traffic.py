"""The evidence of the failed-authentication and unusual-sending steps."""

from __future__ import annotations

import re
import statistics
from array import array
from collections import Counter
from dataclasses import dataclass, field, replace

from postaltop.core.facts import AuthFailure, AuthGranted, Fact, InvalidCredential, SuspendedRejection
from postaltop.core.logstore import LogStore
from postaltop.core.matcher import compile_query
from postaltop.core.query import parse_query
from postaltop.core.review.checklist import Step
from postaltop.core.review.countries import country_mix_parts
from postaltop.core.review.evidence_base import (
    alert_problems,
    alert_table,
    chart,
    lines_evidence,
    table,
    top,
)
from postaltop.core.review.inputs import ReviewInput
from postaltop.core.review.model import Chart, Evidence, Problem, Table
from postaltop.core.review.window import Window, fmt_time

AUTH_IP_HIGH = 20
"""Failed logins from one IP in the window that make a high-severity problem."""
DEVIATION_RATIO = 3.0
"""A bucket this many times a server's median (and at least :data:`DEVIATION_MIN` messages) is flagged."""
DEVIATION_MIN = 50


@dataclass(slots=True)
class _Part:
    """Pieces of a step's evidence, gathered by one helper."""

    summary: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


_MAIL_FROM = re.compile(rb"MAIL FROM:<([^>\s]{0,254})>", re.IGNORECASE)


def _auth_tables(
    data: ReviewInput,
    by_ip: Counter[str],
    failures: list[AuthFailure],
    tried: Counter[str],
    granted: Counter[str],
) -> list[Table]:
    """Failed logins by IP (first and last seen, hosts), auth alerts, names tried, successful logins."""
    first: dict[str, float] = {}
    last: dict[str, float] = {}
    hosts: dict[str, set[str]] = {}
    for f in failures:
        first.setdefault(f.ip, f.ts)
        last[f.ip] = f.ts
        hosts.setdefault(f.ip, set()).add(f.host)
    rows = tuple(
        (ip, f"{count:,}", fmt_time(first[ip]), fmt_time(last[ip]), ", ".join(sorted(hosts[ip])))
        for ip, count in top(by_ip, data.top)
    )
    tables = [Table("Failed logins by IP", ("IP", "failures", "first", "last", "hosts"), rows)]
    auth_alerts = [a for a in data.alerts or () if a.kind.startswith("auth")]
    if auth_alerts:
        tables.append(alert_table("Alerts raised (SMTP AUTH bursts)", auth_alerts, data.top))
    if tried:
        title = "Credentials tried (CRAM-MD5 user names / reasons)"
        tables.append(table(title, ("credential", "failures"), tried, data.top))
    title = "Successful logins by mail server (top credentials)"
    tables.append(table(title, ("server", "logins"), granted, data.top))
    return tables


def auth(data: ReviewInput, step: Step, facts: list[Fact]) -> Evidence:
    failures = [f for f in facts if isinstance(f, AuthFailure)]
    by_ip: Counter[str] = Counter(f.ip for f in failures)
    tried: Counter[str] = Counter()
    for f in failures:
        if f.detail:
            tried[f.detail] += 1
    granted: Counter[str] = Counter(f"{g.org}/{g.server}" for g in facts if isinstance(g, AuthGranted))
    invalid = sum(1 for f in facts if isinstance(f, InvalidCredential))
    suspended = sum(1 for f in facts if isinstance(f, SuspendedRejection))
    tables = _auth_tables(data, by_ip, failures, tried, granted)
    problems = []
    for ip, count in top(by_ip, data.top):
        if count >= AUTH_IP_HIGH:
            problems.append(
                Problem("high", f"{count:,} failed logins from {ip} (possible password guessing)")
            )
    if suspended:
        problems.append(
            Problem("medium", f"{suspended:,} logins refused because the mail server is suspended")
        )
    base = lines_evidence(data, step)
    summary = (
        f"{len(failures):,} failed logins from {len(by_ip):,} IPs; "
        f"{invalid:,} '535 Invalid credential' replies",
        f"{sum(granted.values()):,} successful logins to {len(granted):,} mail servers",
    )
    return replace(
        base,
        summary=summary,
        tables=tuple(tables),
        charts=(chart("Failed logins", data.window, (f.ts for f in failures)),),
        problems=tuple(problems),
        metrics={"failed_logins": float(len(failures)), "failing_ips": float(len(by_ip))},
    )


def _deviations(data: ReviewInput) -> list[tuple[str, float, int, float]]:
    """``(server, bucket start, count, median)`` of buckets far above the server's median."""
    figures = data.figures
    out: list[tuple[str, float, int, float]] = []
    if figures is None:
        return out
    for name, values in figures.servers.items():
        if len(values) < 3 or not any(values):
            continue
        median = statistics.median(values)
        for i, v in enumerate(values):
            ratio = v / median if median > 0 else float("inf")
            if v >= DEVIATION_MIN and ratio >= DEVIATION_RATIO:
                out.append((name, figures.start + i * figures.bucket_seconds, v, float(median)))
    out.sort(key=lambda d: -(d[2] / d[3] if d[3] else d[2]))
    return out


def _senders(store: LogStore, window: Window, limit: int = 200_000) -> Counter[str]:
    """Envelope senders from ``<= MAIL FROM:<…>`` lines in the window."""
    found: Counter[str] = Counter()
    query = parse_query('"MAIL FROM:<"', now=window.end)
    seqs: array[int] = array("q")
    compile_query(query).scan(store, store.start_seq, store.end_seq, seqs)
    for seq in seqs[-limit:]:
        block, i = store.locate(seq)
        if not window.start <= block.ts[i] < window.end:
            continue
        m = _MAIL_FROM.search(block.line_bytes(i))
        if m is not None:
            found[m[1].decode("utf-8", "backslashreplace").lower() or "<>"] += 1
    return found


def _figures_part(data: ReviewInput, deviations: list[tuple[str, float, int, float]]) -> _Part:
    """Summary, charts, tables and problems from the sending figures (volumes per server and bucket)."""
    part = _Part()
    figures = data.figures
    if figures is None:
        part.summary.append("No sending figures (no database and no delivery lines in the window)")
        return part
    total = sum(sum(v) for v in figures.servers.values())
    part.summary.append(f"{total:,} outgoing messages (source: {figures.source})")
    for name, values in sorted(figures.servers.items(), key=lambda kv: -sum(kv[1]))[:4]:
        if any(values):
            part.charts.append(
                Chart(f"Outgoing · {name}", figures.start, figures.bucket_seconds, tuple(values))
            )
    part.tables.append(
        Table(
            "Largest deviations from the usual volume",
            ("server", "bucket", "messages", "median", "x median"),
            tuple(
                (n, fmt_time(t), f"{c:,}", f"{m:g}", f"{c / m:.1f}" if m else "new")
                for n, t, c, m in deviations[: data.top]
            ),
        )
    )
    for n, t, c, m in deviations[:3]:
        times = f"{c / m:.1f}x the median" if m else "from nothing"
        part.problems.append(Problem("medium", f"{n} sent {c:,} messages at {fmt_time(t)}: {times}"))
    credentials = Counter(figures.credentials)
    part.tables.append(
        table("Top credentials by messages", ("credential", "messages"), credentials, data.top)
    )
    domains = Counter(figures.domains)
    part.tables.append(table("Top recipient domains", ("domain", "messages"), domains, data.top))
    return part


def sending(data: ReviewInput, step: Step, facts: list[Fact]) -> Evidence:
    figures = data.figures
    deviations = _deviations(data)
    alerts = _Part()
    note = ""
    if data.alerts is None:
        note = (
            "No alert history is available to this review: the deviations below are computed from "
            "the sending figures (bucket vs the server's median over the window)."
        )
    else:
        raised = [a for a in data.alerts if not a.kind.startswith("auth")]
        alerts.tables.append(alert_table("Alerts raised in the window (sending)", raised, data.top))
        alerts.problems.extend(alert_problems(raised))
        alerts.summary.append(f"{len(raised):,} sending alerts raised in the window (alerting engine)")
    part = _figures_part(data, deviations)
    senders = _senders(data.store, data.window)
    part.tables.append(
        table("Top envelope senders (SMTP MAIL FROM)", ("sender", "transactions"), senders, data.top)
    )
    if data.recipients is not None:
        mix = country_mix_parts(data.recipients)
        part.tables.extend(mix.tables)
        part.problems.extend(mix.problems)
        part.summary.extend(mix.summary)
    base = lines_evidence(data, step)
    total_out = float(sum(sum(v) for v in figures.servers.values())) if figures else 0.0
    return replace(
        base,
        summary=tuple(alerts.summary + part.summary),
        tables=tuple(alerts.tables + part.tables),
        charts=tuple(part.charts),
        problems=tuple(alerts.problems + part.problems),
        note=note or base.note,
        metrics={"outgoing": total_out, "deviations": float(len(deviations))},
    )
