"""The evidence of the errors, rate-limiting, held-and-bounced and version steps."""

from __future__ import annotations

from array import array
from collections import Counter
from dataclasses import replace

from postaltop.core.events import Level, LineFormat
from postaltop.core.facts import (
    ConnectFailed,
    DeliveryFailed,
    Fact,
    HoldReason,
    InternalError,
    MessageHardFailed,
    MessageHeld,
    SendingMessage,
    SmtpRejected,
    SuppressionAdded,
    message_end,
)
from postaltop.core.logstore import LogStore
from postaltop.core.matcher import compile_query
from postaltop.core.query import parse_query
from postaltop.core.review.checklist import Step
from postaltop.core.review.evidence_base import chart, lines_evidence, normalise_reason, table, top
from postaltop.core.review.inputs import ReviewInput
from postaltop.core.review.model import Evidence, Problem, Table


def _error_message(store: LogStore, seq: int) -> str:
    block, i = store.locate(seq)
    line = block.line_bytes(i)
    if block.fmt[i] == LineFormat.V3 and len(line) > 33:
        line = line[33 : max(33, message_end(line, 33))]
    return normalise_reason(line.decode("utf-8", "backslashreplace"))


def errors(data: ReviewInput, step: Step, facts: list[Fact]) -> Evidence:
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
    base = lines_evidence(data, step)
    return replace(
        base,
        summary=(
            f"{total:,} ERROR/FATAL lines in {len(by_component)} components",
            f"{len(internal):,} internal errors, {len(connect):,} connection failures to remote hosts",
        ),
        tables=(
            table("Errors by component", ("component", "lines"), by_component, 20),
            Table(
                "Most frequent errors",
                ("component", "count", "message"),
                tuple(
                    (c, f"{n:,}", m)
                    for (c, m), n in sorted(by_message.items(), key=lambda kv: (-kv[1], kv[0]))[: data.top]
                ),
            ),
        ),
        charts=(chart("Errors", window, stamps),),
        problems=tuple(problems),
        metrics={"errors": float(total)},
    )


def _domains_by_log_id(facts: list[Fact]) -> dict[str, str]:
    out: dict[str, str] = {}
    for f in facts:
        if isinstance(f, SendingMessage) and f.log_id:
            out[f.log_id] = f.rcpt.rpartition("@")[2].lower()
    return out


def limits(data: ReviewInput, step: Step, facts: list[Fact]) -> Evidence:
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
    base = lines_evidence(data, step)
    return replace(
        base,
        summary=(
            f"{len(held):,} send-limit holds; {len(deferrals):,} deferrals (4xx) "
            f"of {attempts:,} delivery attempts",
            "Postal has no SMTP rate limiting of its own: throttling shows as receivers' 4xx replies.",
        ),
        tables=(
            table("Send-limit holds", ("host (limit)", "holds"), limit_hosts, data.top),
            table("Deferral reasons (grouped)", ("reason", "count"), by_reason, data.top),
            table("Deferrals by recipient domain", ("domain", "count"), by_domain, data.top),
            table("Replies refused by our SMTP server", ("reply", "count"), inbound, data.top),
        ),
        charts=(chart("Deferrals", data.window, (f.ts for f in deferrals)),),
        problems=tuple(problems),
        metrics={"send_limit_holds": float(len(held)), "deferrals": float(len(deferrals))},
    )


def held_bounced(data: ReviewInput, step: Step, facts: list[Fact]) -> Evidence:
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
        table("Held messages by reason", ("reason (host)", "messages"), by_hold, data.top),
        table("Bounce reasons (5xx, grouped)", ("reason", "count"), by_reason, data.top),
        table("Bounces by recipient domain", ("domain", "count"), by_domain, data.top),
    ]
    if bounced:
        tables.append(
            table("Bounces received by mail server", ("server", "bounces"), Counter(bounced), data.top)
        )
    base = lines_evidence(data, step)
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
            chart("Bounces (5xx)", data.window, (f.ts for f in hard)),
            chart("Held", data.window, (f.ts for f in held)),
        ),
        problems=tuple(problems),
        metrics={"held": float(len(held)), "bounces": float(len(hard))},
    )


def versions(data: ReviewInput, step: Step, facts: list[Fact]) -> Evidence:
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
    base = lines_evidence(data, step)
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
                tuple((k, str(v)) for k, v in top(starts, data.top)),
            ),
        ),
        problems=tuple(problems),
        metrics={"hosts_behind": float(behind)},
    )
