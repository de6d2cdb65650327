from __future__ import annotations

from postaltop.core.events import Level, LineFormat
from postaltop.core.facts import may_carry_fact
from postaltop.core.interner import Interner
from postaltop.core.parsing import Scanner, StreamState, parse_fields, strip_prefixes
from postaltop.core.parsing.prefixes import service_component
from postaltop.core.parsing.v3 import parse_stamp
from tests.core import sample_lines

T0 = 1777367642.0  # 2026-04-28 09:14:02 UTC


def _scan(lines: list[bytes], component: str | None = None, state: StreamState | None = None):  # type: ignore[no-untyped-def]
    names = Interner([""])
    scanner = Scanner(names.id, may_carry_fact)
    res = scanner.scan(
        lines,
        state or StreamState(),
        component_id=names.id(component) if component else None,
        received_at=1.0,
    )
    return res, [names.name(c) for c in res.component]


def test_parse_stamp_offsets_and_garbage() -> None:
    assert parse_stamp(b"2026-04-28 09:14:02 +0000") == T0
    assert parse_stamp(b"2026-04-28 11:14:02 +0200") == T0
    assert parse_stamp(b"2026-04-28 04:14:02 -0500") == T0
    assert parse_stamp(b"2026-13-28 09:14:02 +0000") is None
    assert parse_stamp(b"2026-04-28T09:14:02 +0000") is None
    assert parse_stamp(b"abcd-ef-gh ij:kl:mn +0000") is None


def test_v3_fields_message_and_tags_in_order() -> None:
    line = sample_lines("v3_worker.log")[13].decode()
    p = parse_fields(line)
    assert p.fmt is LineFormat.V3
    assert p.level is Level.INFO and p.severity == "INFO"
    assert p.timestamp == "2026-04-28 09:20:44 +0000"
    assert p.message == "message requeued for trying later"
    assert list(p.tags) == ["retry_after", "component", "thread", "original_queued_message", "queued_message"]
    assert p.tags["retry_after"] == "2026-04-28 09:27:14 UTC"  # unquoted value with spaces


def test_v3_sgr_in_message_is_stripped_and_flagged() -> None:
    p = parse_fields(sample_lines("v3_smtp.log")[5].decode())
    assert p.message == "=> 235 Granted for acme/transactional"
    assert p.ansi_stripped
    assert p.tags == {"trace_id": "Q7RZK2PD", "component": "smtp-server"}


def test_hash_only_record_has_empty_message() -> None:
    p = parse_fields(sample_lines("v3_web.log")[-1].decode())
    assert p.fmt is LineFormat.V3
    assert p.message == ""
    assert p.tags["subject"] == "Reset your password"
    assert p.tags["to"] == "jane@example.net"


def test_web_exception_tags_keep_spaces() -> None:
    p = parse_fields(sample_lines("v3_web.log")[6].decode())
    assert p.level is Level.ERROR
    assert p.tags["exception_message"] == "boom with spaces"
    assert p.tags["status"] == "500"


def test_continuation_and_raw_lines() -> None:
    lines = sample_lines("v3_worker.log")
    cont = parse_fields(lines[12].decode())
    assert cont.fmt is LineFormat.CONTINUATION
    assert cont.tags["log_id"] == "B8QP4ZNE"
    raw = parse_fields(lines[-2].decode())
    assert raw.fmt is LineFormat.RAW and raw.message.startswith("\tfrom ")
    assert not raw.has_controls


def test_v2_fields() -> None:
    p = parse_fields(sample_lines("v2.log")[3].decode())
    assert p.fmt is LineFormat.V2
    assert p.level is Level.INFO
    assert p.timestamp == "2023-11-02T10:00:10.030"
    assert p.message == "[3::1204577 88412] Server is in development mode. Holding."


def test_prefixes_docker_compose_journald() -> None:
    docker = strip_prefixes(sample_lines("docker_timestamps.log")[0])
    assert docker.body.startswith(b"2026-04-28 09:14:02 +0000 INFO")
    assert docker.ts is not None and abs(docker.ts - (T0 + 0.123456789)) < 1e-6
    compose = strip_prefixes(sample_lines("compose.log")[2])
    assert compose.component == "web"
    assert compose.ts is not None and abs(compose.ts - 1777367695.25) < 1e-6
    assert compose.body.startswith(b"2026-04-28 09:14:55 +0000 INFO   GET /login")
    journal = strip_prefixes(sample_lines("journald.log")[1])
    assert journal.component == "worker"
    assert journal.ts is not None and abs(journal.ts - 1777367732.25) < 1e-6
    assert journal.body.startswith(b"2026-04-28 09:15:32 +0000 INFO")
    plain = b"2026-04-28 09:14:02 +0000 INFO   x"
    assert strip_prefixes(plain) == (plain, None, None)


def test_service_component_names() -> None:
    assert service_component("postal-smtp-1") == "smtp"
    assert service_component("postal_worker_2") == "worker"
    assert service_component("web-1") == "web"


def test_parse_fields_prefix_reported() -> None:
    p = parse_fields(sample_lines("journald.log")[0].decode())
    assert p.prefix == "2026-04-28T09:15:31+0000 mx1 postal-smtp-1[1234]: "
    assert p.fmt is LineFormat.V3 and p.level is Level.WARN


def test_highlighted_whole_line_parses() -> None:
    p = parse_fields(sample_lines("highlighted.log")[0].decode())
    assert p.fmt is LineFormat.V3 and p.level is Level.WARN
    assert p.message == "Authentication failure for 198.51.100.23"


def test_hostile_line_has_controls_flag() -> None:
    p = parse_fields(sample_lines("hostile.log")[0].decode("utf-8", "backslashreplace"))
    assert p.has_controls
    assert p.tags["trace_id"] == "Q7RZK2PD"


def test_scan_v3_columns_and_components_from_tags() -> None:
    lines = sample_lines("v3_worker.log")
    res, comps = _scan(lines)
    assert len(res.ts) == len(res.level) == len(res.fmt) == len(res.component) == len(lines)
    assert res.fmt[0] == LineFormat.V3 and res.level[0] == Level.INFO
    assert res.ts[3] == parse_stamp(b"2026-04-28 09:14:10 +0000")
    assert comps[3] == "worker"
    assert comps[-4] == "health-server"
    # continuation inherits time and level of the record it continues
    assert res.fmt[12] == LineFormat.CONTINUATION
    assert res.ts[12] == res.ts[11] and res.level[12] == Level.ERROR
    # stderr lines are kept as RAW with the last time of the stream
    assert res.fmt[-1] == LineFormat.RAW and res.level[-1] == Level.UNKNOWN
    assert res.ts[-1] == res.ts[-4]


def test_scan_web_stream_and_puma_lines_use_received_at() -> None:
    lines = sample_lines("v3_web.log")
    res, comps = _scan(lines)
    assert [int(f) for f in res.fmt[:5]] == [LineFormat.RAW] * 5
    assert res.ts[:5] == [1.0] * 5  # nothing timed yet on this stream: received_at
    assert comps[5] == "web" and comps[7] == "web"


def test_scan_fixed_component_and_state_carries_over() -> None:
    state = StreamState()
    lines = sample_lines("v3_worker.log")
    _scan(lines[:12], "worker", state)
    res, comps = _scan(lines[12:13], "worker", state)
    assert res.fmt[0] == LineFormat.CONTINUATION
    assert res.level[0] == Level.ERROR
    assert comps == ["worker"]


def test_scan_prefixed_lines_are_stripped_and_timed() -> None:
    res, comps = _scan(sample_lines("compose.log"))
    assert all(not line.startswith((b"smtp-1", b"worker-1", b"web-1")) for line in res.lines)
    assert comps == ["smtp", "worker", "web"]
    assert abs(res.ts[2] - 1777367695.25) < 1e-6
    res2, _ = _scan(sample_lines("docker_timestamps.log"))
    assert res2.lines[0].startswith(b"2026-04-28 09:14:02 +0000")
    assert abs(res2.ts[0] - (T0 + 0.123456789)) < 1e-6


def test_scan_v2_lines() -> None:
    res, comps = _scan(sample_lines("v2.log"))
    assert all(f == LineFormat.V2 for f in res.fmt)
    assert comps[:3] == ["smtp", "smtp", "smtp"]
    assert comps[3] == "worker"
    assert res.level[0] == Level.DEBUG and res.level[3] == Level.INFO
    assert abs(res.ts[0] - 1698919207.412) < 1e-6


def test_scan_fact_candidates_skip_plain_replies() -> None:
    lines = sample_lines("v3_smtp.log")
    res, _ = _scan(lines)
    fast = set(res.fast)
    assert 5 in fast  # 235 Granted
    assert 7 not in fast  # 250 OK
    assert 8 not in fast  # Added external address
    assert 11 in fast and 12 in fast  # auth failure, 535
