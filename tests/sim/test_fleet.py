"""The simulated fleet: determinism, the v3 line layout, Postal's texts and Postal's semantics."""

from __future__ import annotations

import functools
import itertools
import random
import re
from collections import Counter, defaultdict

import pytest

from postaltop.core.sim import DEFAULT_START, HOST_COMPONENTS, Fleet, SimLine, Tally

DAY = 1777334400.0  # 2026-04-28 00:00:00 UTC, a Tuesday

V3_RECORD = re.compile(
    rb"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) \+0000 (DEBUG  |INFO   |WARN   |ERROR  )(\S.*)$", re.S
)
ANSI = re.compile(r"\x1b\[[0-9;]*m")
TAG_START = re.compile(
    r" (?=(?:trace_id|log_id|component|event|batch_key|send_limit|retry_after|thread|task)=)"
)
CONTINUATION = re.compile(
    rb"^ log_id=[A-Z0-9]{8} component=worker thread=work\d original_queued_message=\d+ "
    rb"queued_message=\d+$"
)
STDERR_NOISE = re.compile(
    rb"^(#<Thread:0x[0-9a-f]+ .*> terminated with exception|\tfrom |/usr/local/bundle/)"
)

# Message texts of Postal v3 (facts §4.1 "Known messages" and §4.3), as patterns on the message
# part (ANSI stripped, tags cut). The two bounce lines come from
# app/lib/message_dequeuer/incoming_message_processor.rb @8ef8960.
KNOWN_MESSAGES = [
    re.compile(p, re.S)
    for p in (
        r"Client identified as [\d.]+",
        r"<= .*",
        r"=> \d{3}[ -].*|=> \d{3}",
        r"Added external address '[^']+'",
        r"Added bounce on server \d+",
        r"Not logging further message data\.",
        r"Connection closed",
        r"Authentication failure for [\d.]+",
        r"starting message unqueue",
        r"queue latency is \d+\.\d+(e-?\d+)?s",
        r"found \d+ associated messages to process at the same time",
        r"credential wants us to hold messages, holding",
        r"server send limit has been exceeded, holding",
        r"server is in development mode, holding",
        r"server is suspended, holding message",
        r"message has reached maximum number of attempts, hard failing",
        r"message requeued for trying later",
        r"message processing complete",
        r"finished message unqueue",
        r"message is incoming",
        r"message is a bounce",
        r"bounce linked with message \d+",
        r"Connected to [\d.]+:25 \([\w.-]+\)",
        r"Sending message \d+::\d+ to \S+@\S+",
        r"Accepted by [\d.]+:25 \([\w.-]+\) for \S+@\S+",
        r"Net::SMTP(ServerBusy|FatalError): \d{3} .*",
        r"running task",
        r"scheduling task to next run at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC",
        r"checking DNS for domain: [\w.-]+",
        r"Tidying messages for [\w-]+/[\w-]+ \(ID: \d+\)\. Keeping \d+ days\.",
        r"(GET|POST) /\S* \(\d{3}\)",
    )
]


def render(lines: list[SimLine]) -> list[tuple[float, str, str, bytes]]:
    return [(x.ts, x.host, x.component, x.line) for x in lines]


def message_of(line: bytes) -> tuple[str, str] | None:
    """``(severity, message)`` of a v3 record, tags cut and ANSI stripped; None for other lines."""
    match = V3_RECORD.match(line)
    if match is None:
        return None
    text = ANSI.sub("", match.group(3).decode("utf-8", "backslashreplace"))
    return match.group(2).decode().strip(), TAG_START.split(text, maxsplit=1)[0]


@pytest.fixture(scope="module")
def busy_hour() -> tuple[Fleet, list[SimLine]]:
    """Five minutes of the default fleet in a busy hour (shared: the tests only read it)."""
    fleet = Fleet(seed=3)
    return fleet, fleet.advance(fleet.start + 300)


def test_same_seed_gives_identical_bytes() -> None:
    a = Fleet(seed=11, volume=0.3).advance(DEFAULT_START + 300)
    b = Fleet(seed=11, volume=0.3).advance(DEFAULT_START + 300)
    assert len(a) > 1000
    assert render(a) == render(b)


def test_output_does_not_depend_on_how_advance_is_split() -> None:
    whole = Fleet(seed=5, volume=0.3).advance(DEFAULT_START + 400)
    split_fleet = Fleet(seed=5, volume=0.3)
    cuts = sorted(DEFAULT_START + random.Random(0).uniform(0, 400) for _ in range(60))
    pieces: list[SimLine] = []
    for cut in [*cuts, cuts[10], DEFAULT_START + 0.5, DEFAULT_START + 400]:  # repeats and going back
        pieces += split_fleet.advance(cut)
    assert render(pieces) == render(whole)
    assert split_fleet.position == DEFAULT_START + 400


def test_different_seeds_differ() -> None:
    a = Fleet(seed=1, volume=0.3).advance(DEFAULT_START + 120)
    b = Fleet(seed=2, volume=0.3).advance(DEFAULT_START + 120)
    assert render(a) != render(b)


def test_every_line_follows_the_v3_layout(busy_hour: tuple[Fleet, list[SimLine]]) -> None:
    fleet, lines = busy_hour
    assert len(lines) > 25_000
    previous = fleet.start
    kinds: Counter[str] = Counter()
    for item in lines:
        assert fleet.start <= item.ts < fleet.start + 300
        assert item.ts >= previous, "lines must come in time order"
        previous = item.ts
        assert item.component in HOST_COMPONENTS[item.host]
        assert b"\n" not in item.line
        match = V3_RECORD.match(item.line)
        if match is None:
            assert CONTINUATION.match(item.line) or STDERR_NOISE.match(item.line), item.line
            kinds["other"] += 1
            continue
        kinds["record"] += 1
        expected = fleet.stamps.prefix(item.ts)[:19]
        assert match.group(1).decode() == expected
    assert kinds["record"] > 0.99 * len(lines)
    assert {(x.host, x.component) for x in lines} == {(h, c) for h, cs in HOST_COMPONENTS.items() for c in cs}


def test_message_texts_are_postals(busy_hour: tuple[Fleet, list[SimLine]]) -> None:
    _, lines = busy_hour
    unknown: Counter[str] = Counter()
    for item in lines:
        parsed = message_of(item.line)
        if parsed is None:
            continue
        _, message = parsed
        if not any(p.fullmatch(message) for p in KNOWN_MESSAGES):
            unknown[message[:80]] += 1
    assert not unknown, unknown.most_common(10)


def test_smtp_conversation_has_postal_shape(busy_hour: tuple[Fleet, list[SimLine]]) -> None:
    _, lines = busy_hour
    by_trace: dict[str, list[str]] = defaultdict(list)
    for item in lines:
        text = item.line.decode("utf-8", "replace")
        found = re.search(r" trace_id=([A-Z0-9]{8}) component=smtp-server$", text)
        if found:
            by_trace[found.group(1)].append(text)
    granted = [t for t in by_trace.values() if any("=> 235 Granted for" in x for x in t)]
    assert len(granted) > 100
    for conversation in granted[:200]:
        joined = "\n".join(conversation)
        assert "Client identified as" in conversation[0]
        assert "\x1b[32m<= AUTH PLAIN [redacted]\x1b[0m" in joined
        assert "DEBUG  \x1b[34m=> 250 OK\x1b[0m trace_id=" in joined
        assert conversation[-1].split(" +0000 ")[1].startswith("DEBUG  Connection closed trace_id=")


def test_no_credential_key_is_ever_logged(busy_hour: tuple[Fleet, list[SimLine]]) -> None:
    fleet, lines = busy_hour
    keys = [c.key.encode() for c in fleet.installation.credentials]
    assert all(len(k) == 24 and k.isalnum() for k in keys)
    blob = b"\n".join(x.line for x in lines)
    assert not [k for k in keys if k in blob]


def test_worker_trail_of_a_sent_message(busy_hour: tuple[Fleet, list[SimLine]]) -> None:
    _, lines = busy_hour
    text = [x.line.decode("utf-8", "replace") for x in lines if x.component == "worker"]
    sending = [t for t in text if "INFO   Sending message " in t]
    assert len(sending) > 500
    log_id = re.search(r"log_id=([A-Z0-9]{8})", sending[0])
    assert log_id is not None
    trail = [t for t in text if f"log_id={log_id.group(1)}" in t]
    assert any("Connected to" in t for t in trail)
    assert any(re.search(r"(Accepted by|Net::SMTP)", t) for t in trail)
    assert any(
        "Sending message" in t and "queued_message=" in t and "original_queued_message=" in t for t in trail
    )
    soft = [t for t in text if "message requeued for trying later retry_after=" in t]
    assert soft and re.search(r"retry_after=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC component=worker", soft[0])


def test_message_ids_grow_with_time_per_server(busy_hour: tuple[Fleet, list[SimLine]]) -> None:
    _, lines = busy_hour
    seen: dict[int, list[tuple[float, int]]] = defaultdict(list)
    for item in lines:
        found = re.search(rb"Sending message (\d+)::(\d+) to ", item.line)
        if found:
            seen[int(found.group(1))].append((item.ts, int(found.group(2))))
    assert len(seen) == 3  # the Development server never sends
    for attempts in seen.values():
        counts = Counter(mid for _, mid in attempts)
        first_tries = [(ts, mid) for ts, mid in attempts if counts[mid] == 1]
        for (t1, m1), (t2, m2) in itertools.pairwise(first_tries):
            # ids are allocated at acceptance; pickup order differs by at most the queue latency
            assert m2 > m1 or t2 - t1 < 10


def test_day_is_busier_than_night() -> None:
    night = Fleet(seed=4, start=DAY + 3 * 3600, volume=0.2)
    day = Fleet(seed=4, start=DAY + 14 * 3600, volume=0.2)
    night_lines = night.advance(night.start + 900)
    day_lines = day.advance(day.start + 900)
    assert 3 * len(night_lines) < len(day_lines)
    night_out = sum(b.servers[s].outgoing for b in night.counters.minutes.values() for s in b.servers)
    day_out = sum(b.servers[s].outgoing for b in day.counters.minutes.values() for s in b.servers)
    assert 3 * night_out < day_out


def test_weekend_is_quieter_than_weekday() -> None:
    saturday = Fleet(seed=4, start=DAY + 4 * 86400 + 11 * 3600, volume=0.2)
    tuesday = Fleet(seed=4, start=DAY + 11 * 3600, volume=0.2)
    assert 1.4 * len(saturday.advance(saturday.start + 600)) < len(tuesday.advance(tuesday.start + 600))


def _rcpts_by_helo(lines: list[SimLine], after: float) -> dict[str, dict[str, float]]:
    """Recipients (and when they were accepted) of the SMTP sessions started at or after ``after``,
    keyed by EHLO name."""
    helo_of: dict[str, str] = {}
    rcpts: dict[str, dict[str, float]] = defaultdict(dict)
    for item in lines:
        text = item.line.decode("utf-8", "replace")
        trace = re.search(r"trace_id=(\w+)", text)
        if trace is None:
            continue
        ehlo = re.search(r"<= EHLO (\S+)\x1b", text)
        if ehlo and item.ts >= after:
            helo_of[trace.group(1)] = ehlo.group(1)
        elif trace.group(1) in helo_of:
            found = re.search(r"Added external address '([^']+)'", text)
            if found:
                rcpts[helo_of[trace.group(1)]].setdefault(found.group(1), item.ts)
    return rcpts


def test_credential_hold_is_honoured() -> None:
    fleet = Fleet(seed=9, volume=0.5)
    cred = fleet.installation.server("acme/transactional").credential("main smtp")
    flip = fleet.start + 300

    def probe_session(ts: float, recipients: list[list[str]]) -> None:
        fleet.smtp_session(ts, cred, "203.0.113.9", recipients)

    # Probe sessions with unique recipients, before and after the hold is set.
    for i in range(5):
        probe = [[f"probe.before{i}@example.net"]]
        fleet.schedule(fleet.start + 100 + i * 20, functools.partial(probe_session, recipients=probe))
    lines = fleet.advance(flip)
    assert fleet.counters.credential_total(cred.id, "sent", fleet.start, flip) > 50
    cred.hold = True
    for i in range(5):
        probe = [[f"probe.after{i}@example.net"]]
        fleet.schedule(flip + 10 + i * 60, functools.partial(probe_session, recipients=probe))
    lines += fleet.advance(flip + 600)
    counters = fleet.counters
    assert counters.credential_total(cred.id, "sent", flip + 60, flip + 600) == 0
    held = counters.credential_total(cred.id, "held", flip, flip + 600)
    assert held > 50
    after = [x for x in lines if x.ts >= flip]
    hold_lines = [
        x for x in after if b"INFO   credential wants us to hold messages, holding component=worker" in x.line
    ]
    assert len(hold_lines) == held  # acme/transactional is Live without a send limit: every hold is this one
    blob = b"\n".join(x.line for x in lines)
    assert blob.count(b"Accepted by 192.0.2.10:25 (mx1.example.net) for probe.before") >= 3
    assert b"Added external address 'probe.after4@example.net'" in blob  # SMTP still accepts it...
    assert b"to probe.after" not in blob  # ...but the worker never tries to send it
    assert blob.count(b"=> 235 Granted for acme/transactional") > 20


def test_development_mode_holds_everything() -> None:
    fleet = Fleet(seed=2, volume=0.5)
    staging = fleet.installation.server("globex/staging")
    assert staging.mode == "Development"
    lines = fleet.advance(fleet.start + 600)
    assert fleet.counters.server_total(staging.id, "held", fleet.start, fleet.start + 600) > 10
    assert fleet.counters.server_total(staging.id, "sent", fleet.start, fleet.start + 600) == 0
    assert fleet.counters.server_total(staging.id, "processed", fleet.start, fleet.start + 600) > 10
    assert any(b"server is in development mode, holding component=worker" in x.line for x in lines)
    assert not any(f"Sending message {staging.id}::".encode() in x.line for x in lines)


def test_suspension_refuses_rcpt_and_holds_queued() -> None:
    fleet = Fleet(seed=6, volume=0.5)
    app = fleet.installation.server("globex/app")
    flip = fleet.start + 120
    fleet.advance(flip)
    app.suspended = True
    lines = fleet.advance(flip + 300)
    assert any(b"\x1b[34m=> 535 Mail server has been suspended\x1b[0m" in x.line for x in lines)
    assert any(b"INFO   server is suspended, holding message component=worker" in x.line for x in lines)
    assert fleet.counters.server_total(app.id, "outgoing", flip + 60, flip + 300) == 0
    assert fleet.counters.server_total(app.id, "sent", flip + 60, flip + 300) == 0


def test_send_limit_holds_over_the_limit() -> None:
    fleet = Fleet(seed=8, volume=0.5)
    app = fleet.installation.server("globex/app")
    app.send_limit = 40
    lines = fleet.advance(fleet.start + 900)
    assert any(
        b"server send limit has been exceeded, holding send_limit=40 component=worker" in x.line
        for x in lines
    )
    assert fleet.counters.server_total(app.id, "processed", fleet.start, fleet.start + 900) == 40
    assert fleet.counters.server_total(app.id, "held", fleet.start, fleet.start + 900) > 40


def test_deleted_credential_fails_auth() -> None:
    fleet = Fleet(seed=10, volume=0.5)
    cred = fleet.installation.server("globex/app").credential("main smtp")
    cred.deleted = True
    lines = fleet.advance(fleet.start + 300)
    text = b"\n".join(x.line for x in lines).decode("utf-8", "replace")
    failures = sum(text.count(f"WARN   Authentication failure for {ip} trace_id=") for ip in cred.client_ips)
    assert failures > 10
    assert failures == sum(
        n
        for b in fleet.counters.minutes.values()
        for ip, n in b.auth_failures.items()
        if ip in cred.client_ips
    )
    assert "\x1b[34m=> 535 Invalid credential\x1b[0m" in text
    assert fleet.counters.credential_total(cred.id, "outgoing", fleet.start, fleet.start + 300) == 0


def test_counters_are_per_minute_and_pruned() -> None:
    fleet = Fleet(seed=1, volume=0.1)
    fleet.counters.retention = 600
    fleet.advance(fleet.start + 1500)
    minutes = list(fleet.counters.minutes)
    assert minutes == sorted(minutes) and all(m % 60 == 0 for m in minutes)
    assert minutes[-1] - minutes[0] <= 600 + 60
    bucket = fleet.counters.minutes[minutes[-2]]
    assert isinstance(next(iter(bucket.servers.values())), Tally)
    total = Tally()
    for tally in bucket.servers.values():
        for name, value in tally.as_dict().items():
            setattr(total, name, getattr(total, name) + value)
    assert total.outgoing > 0 and total.sent > 0
    assert sum(t.sent for (_, _), t in bucket.domains.items()) == total.sent
