"""Resume positions and overlap de-duplication, exercised against simulated replays."""

from __future__ import annotations

import calendar
import json
import random
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from postaltop.core.file_resume import FileStat, plan_resume
from postaltop.core.linesplit import TRUNCATION_MARKER
from postaltop.core.resume import (
    DockerResume,
    FileResume,
    JournalResume,
    docker_ts_token,
    format_rfc3339nano,
    journal_record,
    timestamp_ns,
)

BASE_NS = 1_777_367_642_000_000_000


def docker_log(n: int, group: int = 3, untimed_every: int = 0, dup_every: int = 0) -> list[bytes]:
    """A docker --timestamps log: ``group`` lines per stamp, optional untimed and identical lines."""
    lines: list[bytes] = []
    for i in range(n):
        stamp = format_rfc3339nano(BASE_NS + (i // group) * 1_000)
        body = b"line %d" % (i if not dup_every or i % dup_every else -1)
        lines.append(stamp + b" 2026-04-28 09:14:02 +0000 INFO   " + body)
        if untimed_every and i % untimed_every == 0:
            lines.append(b"\tfrom /app/lib/thing.rb:%d" % i)
    return lines


def replay_since(log: list[bytes], since: str | None) -> list[bytes]:
    """What ``docker logs --since`` prints: every line from the first stamp >= since (inclusive)."""
    if since is None:
        return list(log)
    limit = timestamp_ns(since.encode())
    assert limit is not None
    for index, line in enumerate(log):
        token = docker_ts_token(line)
        if token is not None and (timestamp_ns(token) or 0) >= limit:
            return log[index:]
    return []


def stream_with_disconnects(
    log: list[bytes], rng: random.Random, disconnects: int
) -> tuple[list[bytes], int]:
    """Deliver ``log`` through a DockerResume, cutting the connection at random points."""
    resume = DockerResume()
    delivered: list[bytes] = []
    cuts = sorted(rng.sample(range(1, len(log)), min(disconnects, len(log) - 1)))
    produced = 0
    for cut in [*cuts, len(log)]:
        # the source has produced `cut` lines by now; the client reads what --since gives it
        visible = log[:cut]
        source = replay_since(visible, resume.since_arg())
        resume.begin_resume()
        pos = 0
        while pos < len(source):
            size = rng.randint(1, 7)
            delivered.extend(resume.accept(source[pos : pos + size]))
            pos += size
        produced = cut
    assert produced == len(log)
    return delivered, resume.stats.replayed_dropped


def test_docker_resume_loses_and_repeats_nothing_across_many_disconnects() -> None:
    rng = random.Random(7)
    log = docker_log(2000, group=4, untimed_every=11)
    delivered, dropped = stream_with_disconnects(log, rng, disconnects=60)
    assert delivered == log
    assert dropped > 0  # the replays really overlapped


def test_docker_resume_keeps_identical_lines_at_one_timestamp() -> None:
    # identical bytes at the same stamp must count separately: a set would lose one of them
    log = docker_log(300, group=5, dup_every=2)
    delivered, _ = stream_with_disconnects(log, random.Random(3), disconnects=40)
    assert delivered == log


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(min_value=2, max_value=120),
    group=st.integers(min_value=1, max_value=6),
    untimed=st.integers(min_value=0, max_value=5),
    seed=st.integers(min_value=0, max_value=10_000),
    cuts=st.integers(min_value=1, max_value=30),
)
def test_docker_resume_property(n: int, group: int, untimed: int, seed: int, cuts: int) -> None:
    log = docker_log(n, group=group, untimed_every=untimed, dup_every=3)
    delivered, _ = stream_with_disconnects(log, random.Random(seed), disconnects=cuts)
    assert delivered == log


def test_lines_logged_at_the_same_instant_after_a_disconnect_are_kept() -> None:
    stamp = format_rfc3339nano(BASE_NS)
    resume = DockerResume()
    first = [stamp + b" a", stamp + b" b"]
    assert resume.accept(first) == first
    resume.begin_resume()
    replay = [stamp + b" a", stamp + b" b", stamp + b" c"]
    assert resume.accept(replay) == [stamp + b" c"]
    assert resume.since_arg() == stamp.decode()
    assert resume.stats.replayed_dropped == 2


def test_fresh_stream_has_no_position_and_drops_nothing() -> None:
    resume = DockerResume()
    assert resume.since_arg() is None
    resume.begin_resume()
    lines = [b"no stamp at all", b"Error: No such container: x"]
    assert resume.accept(lines) == lines
    assert resume.stats.resumes == 0


def test_late_interleaved_line_does_not_move_the_position_back() -> None:
    resume = DockerResume()
    new, old = format_rfc3339nano(BASE_NS + 5000), format_rfc3339nano(BASE_NS)
    resume.accept([new + b" stdout line"])
    resume.accept([old + b" stderr line written earlier"])
    assert resume.since_arg() == new.decode()


def test_timestamp_parsing_variants() -> None:
    assert (
        timestamp_ns(b"2026-04-28T09:14:02.123456789Z")
        == calendar.timegm((2026, 4, 28, 9, 14, 2, 0, 0, 0)) * 1_000_000_000 + 123_456_789
    )
    assert timestamp_ns(b"2026-04-28T11:14:02.5+02:00") == timestamp_ns(b"2026-04-28T09:14:02.500000000Z")
    assert timestamp_ns(b"2026-13-28T09:14:02Z") is None
    assert timestamp_ns(b"garbage") is None
    assert docker_ts_token(b"2026-04-28T09:14:02.5Z x") == b"2026-04-28T09:14:02.5Z"
    assert docker_ts_token(b"2026-04-28 09:14:02 +0000 INFO   x") is None
    assert docker_ts_token(b"") is None


def test_rfc3339nano_matches_the_c_library() -> None:
    rng = random.Random(1)
    for _ in range(500):
        ns = rng.randrange(0, 4_000_000_000) * 1_000_000_000 + rng.randrange(1_000_000_000)
        secs, frac = divmod(ns, 1_000_000_000)
        expected = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{frac:09d}Z"
        assert format_rfc3339nano(ns) == expected.encode()
        assert timestamp_ns(expected.encode()) == ns


def _journal(i: int, message: object) -> bytes:
    return json.dumps(
        {
            "__CURSOR": f"s=ab;i={i:x}",
            "__REALTIME_TIMESTAMP": str(1_777_367_642_000_000 + i),
            "MESSAGE": message,
        }
    ).encode()


def test_journal_records_become_stamped_lines_and_keep_binary_messages() -> None:
    assert journal_record(_journal(1, "hello")) == ("s=ab;i=1", b"2026-04-28T09:14:02.000001000Z hello")
    raw = list(b"\x1b[32m<= EHLO \xff\xfe\x1b[0m")
    assert journal_record(_journal(2, raw)) == ("s=ab;i=2", b"2026-04-28T09:14:02.000002000Z " + bytes(raw))
    cursor, line = journal_record(_journal(3, None)) or ("", b"")
    assert cursor == "s=ab;i=3" and line.endswith(b"[message not available]")
    assert journal_record(b"not json") is None
    assert journal_record(b'{"MESSAGE": "no cursor"}') is None
    assert journal_record(b"[1, 2]") is None


def test_journal_resume_drops_a_replayed_cursor_once() -> None:
    resume = JournalResume()
    assert resume.after_cursor_arg() is None
    out = resume.accept([_journal(1, "a"), _journal(2, "b"), b"-- No entries --"])
    assert [line[31:] for line in out[:2]] == [b"a", b"b"] and out[2] == b"-- No entries --"
    assert resume.after_cursor_arg() == "s=ab;i=2" and resume.bad_records == 1
    resume.begin_resume()
    out = resume.accept([_journal(2, "b"), _journal(3, "c")])
    assert [line.split(b" ", 1)[1] for line in out] == [b"c"]
    assert resume.stats.replayed_dropped == 1
    resume.begin_resume()
    assert len(resume.accept([_journal(4, "d")])) == 1  # exact --after-cursor: nothing to drop


def test_file_resume_commits_only_complete_lines_and_keeps_the_last_one() -> None:
    resume = FileResume()
    resume.start_at(100, "8:1")
    resume.feed(b"abc\nde")
    assert (resume.committed, resume.received) == (104, 106)
    assert resume.last_line == b"abc\n"
    resume.feed(b"f")
    assert resume.tail_arg() == "+105"
    resume.feed(b"\n")
    assert resume.committed == 108 and resume.last_line == b"def\n"  # a line across two chunks
    assert resume.check_len == 4 and resume.holds_position(b"def\n") and not resume.holds_position(b"abc\n")


def _at(identity: str, lines: bytes, offset: int = 0) -> FileResume:
    resume = FileResume()
    resume.start_at(offset, identity)
    resume.feed(lines)
    return resume


def test_plan_resume_same_file_continues_at_the_offset() -> None:
    resume = _at("8:1", b"one\ntwo\n")
    plan = plan_resume(resume, FileStat("/l", "8:1", 20), [], {"/l": b"two\n"})
    assert (plan.event, plan.follow_from, plan.rest_of) == ("resumed", 8, None)


def test_plan_resume_renamed_file_is_finished_then_the_new_one_from_zero() -> None:
    resume = _at("8:1", b"one\ntwo\n")
    old, older = FileStat("/l.1", "8:1", 30), FileStat("/l.2.gz", "8:7", 99)
    plan = plan_resume(resume, FileStat("/l", "8:2", 5), [old, older], {"/l.1": b"two\n"})
    assert (plan.event, plan.rest_of, plan.rest_from, plan.follow_from) == ("rotated", old, 8, 0)


def test_plan_resume_copytruncate_finds_the_copy_by_its_last_line() -> None:
    resume = _at("8:1", b"one\ntwo\n")
    copy = FileStat("/l.1", "8:9", 30)
    plan = plan_resume(resume, FileStat("/l", "8:1", 50), [copy], {"/l": b"xyz\n", "/l.1": b"two\n"})
    assert (plan.event, plan.rest_of, plan.follow_from) == ("truncated", copy, 0)


def test_plan_resume_twice_rotated_reads_the_newer_rotation_whole() -> None:
    resume = _at("8:1", b"one\ntwo\n")
    newer, ours = FileStat("/l.1", "8:3", 40), FileStat("/l.2.gz", "8:4", 12)
    plan = plan_resume(resume, FileStat("/l", "8:5", 0), [newer, ours], {"/l.2.gz": b"two\n"})
    assert (plan.rest_of, plan.whole) == (ours, (newer,))


def test_plan_resume_without_a_copy_reports_the_gap() -> None:
    resume = _at("8:1", b"one\ntwo\n")
    plan = plan_resume(resume, FileStat("/l", "8:1", 3), [], {})
    assert (plan.event, plan.follow_from) == ("gap", 0)
    assert "truncated" in plan.note and "may be missing" in plan.note


def test_journal_record_cut_by_the_line_limit_keeps_cursor_and_message_start() -> None:
    text = _journal(9, 'quote " and backslash \\ ' + "x" * 5000)
    cursor, line = journal_record(text[:300] + TRUNCATION_MARKER) or ("", b"")
    assert cursor == "s=ab;i=9"
    assert b'quote " and backslash \\ xxx' in line and line.endswith(TRUNCATION_MARKER)
    assert line.count(TRUNCATION_MARKER) == 1
    binary = _journal(10, list(b"\x1b[32m" + b"\xff" * 3000))
    cursor, line = journal_record(binary[:200]) or ("", b"")
    assert cursor == "s=ab;i=a"
    body = line[31 : -len(TRUNCATION_MARKER)]
    assert body.startswith(b"\x1b[32m\xff") and set(body[5:]) == {0xFF}
    assert journal_record(b'{"__CURSOR":"s=1" no message') is None
