"""The evidence of each checklist step, computed from a :class:`~.inputs.ReviewInput`.

Facts (typed, extracted at ingest from every line) give the counts; the step's filter, run with the
main screen's matcher over the retained lines, gives the log lines shown. Nothing here reads the
clock or any file.
"""

from __future__ import annotations

import re
import statistics
from array import array
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import replace

from postaltop.core.events import Level, LineFormat
from postaltop.core.facts import (
    AuthFailure,
    AuthGranted,
    ConnectFailed,
    DeliveryFailed,
    Fact,
    HoldReason,
    InternalError,
    InvalidCredential,
    MessageHardFailed,
    MessageHeld,
    SendingMessage,
    SmtpRejected,
    SuppressionAdded,
    SuspendedRejection,
    message_end,
)
from postaltop.core.logstore import LogStore
from postaltop.core.matcher import compile_query
from postaltop.core.query import QueryError, parse_query
from postaltop.core.review.checklist import Step
from postaltop.core.review.countries import country_mix_parts
from postaltop.core.review.inputs import AlertRecord, ReviewInput, bucket_count, bucket_size
from postaltop.core.review.model import Chart, Evidence, LogLine, Problem, Table
from postaltop.core.review.window import Window, fmt_time

AUTH_IP_HIGH = 20
"""Failed logins from one IP in the window that make a high-severity problem."""
DEVIATION_RATIO = 3.0
"""A bucket this many times a server's median (and at least :data:`DEVIATION_MIN` messages) is flagged."""
DEVIATION_MIN = 50
_DIGITS = re.compile(r"\d{4,}")
_HEX_ID = re.compile(r"\b[A-Z0-9]{8}\b")
_MAIL_FROM = re.compile(rb"MAIL FROM:<([^>\s]{0,254})>", re.IGNORECASE)


def _in(window: Window, facts: Iterable[Fact]) -> list[Fact]:
    return [f for f in facts if window.start <= f.ts < window.end]


def _top(counter: Counter[str], n: int) -> list[tuple[str, int]]:
    return sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


def _series(window: Window, stamps: Iterable[float]) -> tuple[float, tuple[int, ...]]:
    size = bucket_size(window)
    values = [0] * bucket_count(window, size)
    for ts in stamps:
        if window.start <= ts < window.end:
            values[min(len(values) - 1, int((ts - window.start) // size))] += 1
    return size, tuple(values)


def _chart(title: str, window: Window, stamps: Iterable[float]) -> Chart:
    size, values = _series(window, stamps)
    return Chart(title, window.start, size, values)


def _table(title: str, headers: tuple[str, str], counter: Counter[str], n: int) -> Table:
    return Table(title, headers, tuple((k, f"{v:,}") for k, v in _top(counter, n)))


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


def _lines(data: ReviewInput, step: Step) -> Evidence:
    hosts = frozenset(data.hosts) if data.hosts else None
    lines, total, error = matching_lines(data.store, step.filter, data.window, data.sample_lines, hosts)
    return Evidence(
        step.id, step.title, lines=tuple(lines), line_total=total, filter_text=step.filter, note=error
    )


# -- the steps -------------------------------------------------------------------------------


def _auth(data: ReviewInput, step: Step, facts: list[Fact]) -> Evidence:
    failures = [f for f in facts if isinstance(f, AuthFailure)]
    by_ip: Counter[str] = Counter(f.ip for f in failures)
    first: dict[str, float] = {}
    last: dict[str, float] = {}
    hosts: dict[str, set[str]] = {}
    for f in failures:
        first.setdefault(f.ip, f.ts)
        last[f.ip] = f.ts
        hosts.setdefault(f.ip, set()).add(f.host)
    tried: Counter[str] = Counter()
    for f in failures:
        if f.detail:
            tried[f.detail] += 1
    granted: Counter[str] = Counter(f"{g.org}/{g.server}" for g in facts if isinstance(g, AuthGranted))
    invalid = sum(1 for f in facts if isinstance(f, InvalidCredential))
    suspended = sum(1 for f in facts if isinstance(f, SuspendedRejection))
    rows = tuple(
        (ip, f"{count:,}", fmt_time(first[ip]), fmt_time(last[ip]), ", ".join(sorted(hosts[ip])))
        for ip, count in _top(by_ip, data.top)
    )
    tables = [Table("Failed logins by IP", ("IP", "failures", "first", "last", "hosts"), rows)]
    if data.alerts:
        auth_alerts = [a for a in data.alerts if a.kind.startswith("auth")]
        if auth_alerts:
            tables.append(_alert_table("Alerts raised (SMTP AUTH bursts)", auth_alerts, data.top))
    if tried:
        tables.append(
            _table(
                "Credentials tried (CRAM-MD5 user names / reasons)",
                ("credential", "failures"),
                tried,
                data.top,
            )
        )
    tables.append(
        _table("Successful logins by mail server (top credentials)", ("server", "logins"), granted, data.top)
    )
    problems = []
    for ip, count in _top(by_ip, data.top):
        if count >= AUTH_IP_HIGH:
            problems.append(
                Problem("high", f"{count:,} failed logins from {ip} (possible password guessing)")
            )
    if suspended:
        problems.append(
            Problem("medium", f"{suspended:,} logins refused because the mail server is suspended")
        )
    base = _lines(data, step)
    summary = (
        f"{len(failures):,} failed logins from {len(by_ip):,} IPs; "
        f"{invalid:,} '535 Invalid credential' replies",
        f"{sum(granted.values()):,} successful logins to {len(granted):,} mail servers",
    )
    return replace(
        base,
        summary=summary,
        tables=tuple(tables),
        charts=(_chart("Failed logins", data.window, (f.ts for f in failures)),),
        problems=tuple(problems),
        metrics={"failed_logins": float(len(failures)), "failing_ips": float(len(by_ip))},
    )


def _alert_table(title: str, alerts: list[AlertRecord], top: int) -> Table:
    rows = tuple((fmt_time(a.ts), a.severity, a.title, a.detail) for a in alerts[:top])
    return Table(title, ("time", "severity", "alert", "detail"), rows)


def _alert_problems(alerts: list[AlertRecord]) -> list[Problem]:
    worst: dict[str, AlertRecord] = {}
    for a in alerts:
        if a.severity in ("high", "critical"):
            worst[a.title.split(" (")[0]] = a
    return [Problem(a.severity, f"alert: {a.detail or a.title}") for a in worst.values()]


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


def _sending(data: ReviewInput, step: Step, facts: list[Fact]) -> Evidence:
    figures = data.figures
    deviations = _deviations(data)
    tables: list[Table] = []
    charts: list[Chart] = []
    problems: list[Problem] = []
    summary: list[str] = []
    note = ""
    if data.alerts is None:
        note = (
            "No alert history is available to this review: the deviations below are computed from "
            "the sending figures (bucket vs the server's median over the window)."
        )
    else:
        sending = [a for a in data.alerts if not a.kind.startswith("auth")]
        tables.append(_alert_table("Alerts raised in the window (sending)", sending, data.top))
        problems.extend(_alert_problems(sending))
        summary.append(f"{len(sending):,} sending alerts raised in the window (alerting engine)")
    if figures is not None:
        total = sum(sum(v) for v in figures.servers.values())
        summary.append(f"{total:,} outgoing messages (source: {figures.source})")
        for name, values in sorted(figures.servers.items(), key=lambda kv: -sum(kv[1]))[:4]:
            if any(values):
                charts.append(
                    Chart(f"Outgoing · {name}", figures.start, figures.bucket_seconds, tuple(values))
                )
        tables.append(
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
            problems.append(Problem("medium", f"{n} sent {c:,} messages at {fmt_time(t)}: {times}"))
        tables.append(
            _table(
                "Top credentials by messages",
                ("credential", "messages"),
                Counter(figures.credentials),
                data.top,
            )
        )
        tables.append(
            _table("Top recipient domains", ("domain", "messages"), Counter(figures.domains), data.top)
        )
    else:
        summary.append("No sending figures (no database and no delivery lines in the window)")
    senders = _senders(data.store, data.window)
    tables.append(
        _table("Top envelope senders (SMTP MAIL FROM)", ("sender", "transactions"), senders, data.top)
    )
    if data.recipients is not None:
        mix = country_mix_parts(data.recipients)
        tables, problems, summary = tables + mix.tables, problems + mix.problems, summary + mix.summary
    base = _lines(data, step)
    total_out = float(sum(sum(v) for v in figures.servers.values())) if figures else 0.0
    return replace(
        base,
        summary=tuple(summary),
        tables=tuple(tables),
        charts=tuple(charts),
        problems=tuple(problems),
        note=note or base.note,
        metrics={"outgoing": total_out, "deviations": float(len(deviations))},
    )


def _error_message(store: LogStore, seq: int) -> str:
    block, i = store.locate(seq)
    line = block.line_bytes(i)
    if block.fmt[i] == LineFormat.V3 and len(line) > 33:
        line = line[33 : max(33, message_end(line, 33))]
    return normalise_reason(line.decode("utf-8", "backslashreplace"))


def _errors(data: ReviewInput, step: Step, facts: list[Fact]) -> Evidence:
    store, window = data.store, data.window
    seqs: array[int] = array("q")
    compile_query(parse_query("level>=error", now=window.end)).scan(
        store, store.start_seq, store.end_seq, seqs
    )
    by_component: Counter[str] = Counter()
    by_message: Counter[tuple[str, str]] = Counter()
    stamps: list[float] = []
    fatal = 0
    for seq in seqs:
        block, i = store.locate(seq)
        ts = block.ts[i]
        if not window.start <= ts < window.end or block.fmt[i] == LineFormat.CONTINUATION:
            continue
        component = store.components.name(block.component[i]) or "?"
        by_component[component] += 1
        by_message[(component, _error_message(store, seq))] += 1
        stamps.append(ts)
        fatal += block.level[i] == Level.FATAL
    internal = [f for f in facts if isinstance(f, InternalError)]
    connect = [f for f in facts if isinstance(f, ConnectFailed)]
    problems: list[Problem] = []
    if fatal:
        problems.append(Problem("high", f"{fatal:,} FATAL lines"))
    if internal:
        problems.append(
            Problem("medium", f"{len(internal):,} internal errors while processing queued messages")
        )
    total = sum(by_component.values())
    if total and not problems:
        (component, message), _n = max(by_message.items(), key=lambda kv: (kv[1], kv[0]))
        problems.append(Problem("low", f"{total:,} ERROR lines; most frequent ({component}): {message}"))
    base = _lines(data, step)
    return replace(
        base,
        summary=(
            f"{total:,} ERROR/FATAL lines in {len(by_component)} components",
            f"{len(internal):,} internal errors, {len(connect):,} connection failures to remote hosts",
        ),
        tables=(
            _table("Errors by component", ("component", "lines"), by_component, 20),
            Table(
                "Most frequent errors",
                ("component", "count", "message"),
                tuple(
                    (c, f"{n:,}", m)
                    for (c, m), n in sorted(by_message.items(), key=lambda kv: (-kv[1], kv[0]))[: data.top]
                ),
            ),
        ),
        charts=(_chart("Errors", window, stamps),),
        problems=tuple(problems),
        metrics={"errors": float(total)},
    )


def _domains_by_log_id(facts: list[Fact]) -> dict[str, str]:
    out: dict[str, str] = {}
    for f in facts:
        if isinstance(f, SendingMessage) and f.log_id:
            out[f.log_id] = f.rcpt.rpartition("@")[2].lower()
    return out


def _limits(data: ReviewInput, step: Step, facts: list[Fact]) -> Evidence:
    held = [f for f in facts if isinstance(f, MessageHeld) and f.reason is HoldReason.SEND_LIMIT]
    limit_hosts: Counter[str] = Counter(f"{f.host} (limit {f.send_limit or '?'})" for f in held)
    deferrals = [f for f in facts if isinstance(f, DeliveryFailed) and not f.permanent]
    domains = _domains_by_log_id(facts)
    by_reason: Counter[str] = Counter(normalise_reason(f"{f.reply}") for f in deferrals)
    by_domain: Counter[str] = Counter(domains.get(f.log_id or "", "?") for f in deferrals)
    attempts = sum(1 for f in facts if isinstance(f, SendingMessage))
    inbound = Counter(
        f"{f.code} {normalise_reason(f.reply, 60)}" for f in facts if isinstance(f, SmtpRejected)
    )
    problems: list[Problem] = []
    if held:
        problems.append(Problem("medium", f"{len(held):,} messages held because a send limit was exceeded"))
    share = len(deferrals) / attempts if attempts else 0.0
    if attempts and share >= 0.05:
        problems.append(Problem("low", f"{share:.0%} of delivery attempts were deferred (4xx) by receivers"))
    base = _lines(data, step)
    return replace(
        base,
        summary=(
            f"{len(held):,} send-limit holds; {len(deferrals):,} deferrals (4xx) "
            f"of {attempts:,} delivery attempts",
            "Postal has no SMTP rate limiting of its own: throttling shows as receivers' 4xx replies.",
        ),
        tables=(
            _table("Send-limit holds", ("host (limit)", "holds"), limit_hosts, data.top),
            _table("Deferral reasons (grouped)", ("reason", "count"), by_reason, data.top),
            _table("Deferrals by recipient domain", ("domain", "count"), by_domain, data.top),
            _table("Replies refused by our SMTP server", ("reply", "count"), inbound, data.top),
        ),
        charts=(_chart("Deferrals", data.window, (f.ts for f in deferrals)),),
        problems=tuple(problems),
        metrics={"send_limit_holds": float(len(held)), "deferrals": float(len(deferrals))},
    )


def _held_bounced(data: ReviewInput, step: Step, facts: list[Fact]) -> Evidence:
    held = [f for f in facts if isinstance(f, MessageHeld)]
    by_hold: Counter[str] = Counter(f"{f.reason.value} ({f.host})" for f in held)
    hard = [f for f in facts if isinstance(f, DeliveryFailed) and f.permanent]
    domains = _domains_by_log_id(facts)
    by_reason: Counter[str] = Counter(normalise_reason(f.reply) for f in hard)
    by_domain: Counter[str] = Counter(domains.get(f.log_id or "", "?") for f in hard)
    hard_failed: Counter[str] = Counter(f.reason for f in facts if isinstance(f, MessageHardFailed))
    suppressed = [f for f in facts if isinstance(f, SuppressionAdded)]
    attempts = sum(1 for f in facts if isinstance(f, SendingMessage))
    bounced = dict(data.figures.bounced) if data.figures is not None else {}
    problems: list[Problem] = []
    share = len(hard) / attempts if attempts else 0.0
    if attempts and share >= 0.05:
        problems.append(
            Problem("high" if share >= 0.15 else "medium", f"{share:.0%} of delivery attempts bounced (5xx)")
        )
    credential_holds = sum(1 for f in held if f.reason is HoldReason.CREDENTIAL)
    if credential_holds:
        problems.append(
            Problem("low", f"{credential_holds:,} messages held by a credential hold: release or delete")
        )
    if hard_failed.get("spam"):
        problems.append(Problem("medium", f"{hard_failed['spam']:,} outgoing messages hard-failed as spam"))
    tables = [
        _table("Held messages by reason", ("reason (host)", "messages"), by_hold, data.top),
        _table("Bounce reasons (5xx, grouped)", ("reason", "count"), by_reason, data.top),
        _table("Bounces by recipient domain", ("domain", "count"), by_domain, data.top),
    ]
    if bounced:
        tables.append(
            _table("Bounces received by mail server", ("server", "bounces"), Counter(bounced), data.top)
        )
    base = _lines(data, step)
    return replace(
        base,
        summary=(
            f"{len(held):,} messages held; {len(hard):,} permanent failures (5xx) "
            f"of {attempts:,} delivery attempts",
            f"{sum(hard_failed.values()):,} hard-failed by the worker; "
            f"{len(suppressed):,} recipients added to suppression lists",
        ),
        tables=tuple(tables),
        charts=(
            _chart("Bounces (5xx)", data.window, (f.ts for f in hard)),
            _chart("Held", data.window, (f.ts for f in held)),
        ),
        problems=tuple(problems),
        metrics={"held": float(len(held)), "bounces": float(len(hard))},
    )


def _versions(data: ReviewInput, step: Step, facts: list[Fact]) -> Evidence:
    rows = []
    problems: list[Problem] = []
    behind = 0
    for hv in data.versions:
        source = hv.reading.source if hv.reading is not None else "-"
        rows.append(
            (
                hv.host,
                str(hv.status.version or "?"),
                source,
                hv.status.describe() if not hv.error else hv.error,
            )
        )
        if hv.status.missing_security:
            fixes = ", ".join(str(r.version) for r in hv.status.missing_security)
            problems.append(
                Problem(
                    "high", f"{hv.host} runs Postal {hv.status.version}: security fixes missing ({fixes})"
                )
            )
        elif hv.status.behind:
            problems.append(
                Problem("medium", f"{hv.host} is {hv.status.behind} releases behind ({hv.status.version})")
            )
        elif hv.status.version is None:
            problems.append(
                Problem("low", f"{hv.host}: Postal version unknown ({hv.error or hv.status.reason})")
            )
        behind += 1 if hv.status.behind else 0
    base = _lines(data, step)
    starts: Counter[str] = Counter(line.host for line in base.lines)
    latest = data.versions[0].status.latest if data.versions else None
    summary = [f"{len(data.versions)} hosts checked; {behind} behind the latest release"]
    if latest is not None:
        summary.append(f"Latest known release: {latest.version} ({latest.date})")
    return replace(
        base,
        summary=tuple(summary),
        tables=(
            Table("Postal version per host", ("host", "version", "read from", "state"), tuple(rows)),
            Table(
                "Start-up and role lines per host (recent)",
                ("host", "lines"),
                tuple((k, str(v)) for k, v in _top(starts, data.top)),
            ),
        ),
        problems=tuple(problems),
        metrics={"hosts_behind": float(behind)},
    )


_KINDS: dict[str, Callable[[ReviewInput, Step, list[Fact]], Evidence]] = {
    "auth": _auth,
    "sending": _sending,
    "errors": _errors,
    "limits": _limits,
    "held_bounced": _held_bounced,
    "versions": _versions,
}


def step_evidence(data: ReviewInput, step: Step, facts: list[Fact] | None = None) -> Evidence:
    """The evidence of one step (``facts``: the input's facts already cut to the window)."""
    window_facts = facts if facts is not None else _in(data.window, data.facts)
    if data.hosts:
        wanted = set(data.hosts)
        window_facts = [f for f in window_facts if f.host in wanted]
    compute = _KINDS.get(step.kind)
    if compute is None:
        return _lines(data, step)
    return compute(data, step, window_facts)


def all_evidence(data: ReviewInput, steps: list[Step]) -> list[Evidence]:
    """The evidence of every step, in checklist order."""
    facts = _in(data.window, data.facts)
    return [step_evidence(data, step, facts) for step in steps]
