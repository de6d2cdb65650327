"""The batch fast path for docker --timestamps output gives the same result as the per-line path."""

from __future__ import annotations

from postaltop.core.ingest import Ingestor
from postaltop.core.logstore import LogStore
from postaltop.core.parsing.prefixes import split_docker_stamps, strip_prefixes

LINES = [
    b"2026-04-28T09:14:02.123456789Z 2026-04-28 09:14:02 +0000 WARN   "
    b"Authentication failure for 198.51.100.23 trace_id=M3XW8HTA component=smtp-server",
    b"2026-04-28T09:14:03.000000001Z 2026-04-28 09:14:03 +0000 INFO   queue latency is 2.5s component=worker"
    b" thread=work0 original_queued_message=88412",
    b"2026-04-28T09:14:03.500000000Z "
    b"#<Thread:0x0000 run> terminated with exception (report_on_exception is true):",
]


def test_fast_path_matches_per_line_stripping() -> None:
    cache: dict[bytes, float] = {}
    result = split_docker_stamps(LINES, cache)
    assert result is not None
    bodies, times = result
    for line, body, when in zip(LINES, bodies, times, strict=True):
        slow = strip_prefixes(line)
        assert slow.body == body
        assert slow.ts is not None and abs(slow.ts - when) < 1e-6


def test_mixed_or_malformed_batches_fall_back() -> None:
    assert split_docker_stamps([*LINES, b"2026-04-28 09:14:02 +0000 INFO   plain"], {}) is None
    assert split_docker_stamps([b"2026-04-28T09:14:0x.123456789Z line"], {}) is None
    assert split_docker_stamps([b"2026-13-28T09:14:02.123456789Z line"], {}) is None
    assert split_docker_stamps([], {}) is None


def test_ingest_keeps_docker_sub_second_time_and_facts() -> None:
    store = LogStore()
    result = Ingestor(store).feed("mx1", "smtp", LINES, received_at=0.0)
    assert result.count == 3
    first = store.event(result.first_seq)
    assert first.text.startswith("2026-04-28 09:14:02 +0000 WARN")
    assert abs(first.ts - 1777367642.123456789) < 1e-6
    assert store.event(result.first_seq + 2).ts == 1777367643.5
    assert any(type(f).__name__ == "AuthFailure" for f in result.facts)
