"""Time-ordered merging of streams and clock-skew detection."""

from __future__ import annotations

import random

import pytest

from postaltop.core.merge import ReorderBuffer, SkewDetector


def test_streams_are_merged_in_time_order_once_every_stream_passed() -> None:
    buf: ReorderBuffer[str] = ReorderBuffer(window=5.0)
    buf.push_batch("a", [10.0, 12.0], ["a10", "a12"], now=100.0)
    assert buf.pop_ready(now=100.0) == ["a10", "a12"]  # only one stream known yet: its own watermark
    buf.push_batch("b", [11.0, 13.0], ["b11", "b13"], now=100.1)
    buf.push_batch("a", [14.0], ["a14"], now=100.2)
    assert buf.pop_ready(now=100.2) == ["b11", "b13"]  # watermark = min(14, 13)
    buf.push_batch("b", [15.0], ["b15"], now=100.3)
    assert buf.pop_ready(now=100.3) == ["a14"]
    assert buf.flush() == ["b15"]


def test_a_lagging_stream_holds_items_only_for_the_window() -> None:
    buf: ReorderBuffer[str] = ReorderBuffer(window=2.0)
    buf.push("slow", 1.0, "s1", now=0.0)
    buf.push("fast", 2.0, "f2", now=0.0)
    assert buf.pop_ready(now=0.0) == ["s1"]
    buf.push("fast", 3.0, "f3", now=0.5)
    assert buf.pop_ready(now=0.5) == []  # "slow" (at 1.0) may still send something older than 2.0
    buf.push("fast", 6.0, "f6", now=3.0)
    # "slow" has been silent longer than the window: it no longer holds the watermark
    assert buf.pop_ready(now=3.0) == ["f2", "f3", "f6"]


def test_order_within_a_stream_is_kept_even_when_stamps_go_back() -> None:
    buf: ReorderBuffer[str] = ReorderBuffer(window=1.0)
    buf.push_batch("a", [5.0, 4.0, 6.0], ["x", "late-stderr", "y"], now=0.0)
    assert buf.flush() == ["x", "late-stderr", "y"]


def test_buffer_is_bounded() -> None:
    buf: ReorderBuffer[int] = ReorderBuffer(window=1e9, max_items=10)
    buf.push("idle", 0.0, -1, now=0.0)
    buf.push_batch("a", [float(i) for i in range(1, 51)], list(range(1, 51)), now=0.0)
    out = buf.pop_ready(now=0.0, skew_window_ts=-1e12)
    assert out == [-1, *range(1, 41)]
    assert len(buf) == 10 and buf.released_early == 40


def test_random_interleaving_comes_out_sorted() -> None:
    rng = random.Random(5)
    streams = {name: sorted(rng.uniform(0, 100) for _ in range(200)) for name in "abcd"}
    buf: ReorderBuffer[float] = ReorderBuffer(window=1000.0)
    cursors = dict.fromkeys(streams, 0)
    out: list[float] = []
    now = 0.0
    for name in streams:
        buf.register(name, now)
    while any(cursors[n] < len(v) for n, v in streams.items()):
        name = rng.choice([n for n in streams if cursors[n] < len(streams[n])])
        take = streams[name][cursors[name] : cursors[name] + rng.randint(1, 9)]
        cursors[name] += len(take)
        buf.push_batch(name, take, take, now)
        out.extend(buf.pop_ready(now))
        now += 0.001
    out.extend(buf.flush())
    assert out == sorted(x for v in streams.values() for x in v)


def test_a_registered_stream_holds_the_watermark_until_the_window_passes() -> None:
    buf: ReorderBuffer[str] = ReorderBuffer(window=1.0)
    buf.register("b", now=0.0)
    buf.push("a", 5.0, "a5", now=0.0)
    assert buf.pop_ready(now=0.5, skew_window_ts=0.0) == []
    assert buf.pop_ready(now=1.5, skew_window_ts=0.0) == ["a5"]
    buf.push("b", 6.0, "b6", now=2.0)
    buf.forget("b")
    assert buf.watermark(now=2.0) == float("inf")
    assert buf.pop_ready(now=2.0) == ["b6"]


def test_invalid_parameters() -> None:
    with pytest.raises(ValueError):
        ReorderBuffer(window=-1)
    with pytest.raises(ValueError):
        ReorderBuffer(max_items=0)


def test_skew_detected_against_the_other_hosts() -> None:
    det = SkewDetector(horizon=60.0, bucket=5.0, resolution=1.0)
    rng = random.Random(2)
    for step in range(300):
        arrival = 1000.0 + step * 0.2
        for host, offset in (("mx1", 0.0), ("mx2", 0.3), ("mx3", -0.2), ("mx4", 42.0)):
            latency = rng.uniform(0.01, 0.5)
            # Postal stamps have whole seconds: the host's wall clock, floored
            det.observe(host, float(int(arrival + offset - latency)), arrival)
    reports = det.skewed(tolerance=2.0)
    assert [r.host for r in reports] == ["mx4"]
    assert reports[0].offset == pytest.approx(42.0, abs=1.5)
    assert reports[0].reference == "other hosts"
    assert "ahead of other hosts" in reports[0].describe()


def test_skew_against_the_local_clock_with_few_hosts_and_old_samples_expire() -> None:
    det = SkewDetector(horizon=30.0, bucket=5.0, resolution=0.0)
    det.observe_batch("mx1", [90.0, 95.0], arrival=100.0)  # 5 s behind
    det.observe_batch("mx1", [], arrival=100.0)
    assert det.offset("mx1") == pytest.approx(-5.0)
    assert det.skewed(tolerance=2.0)[0].describe() == "mx1: clock about 5.0s behind local clock"
    det.observe("mx1", 200.0, arrival=200.0)  # clock fixed; the old bucket leaves the horizon
    assert det.offset("mx1") == pytest.approx(0.0)
    assert det.skewed(tolerance=2.0) == []
    assert det.offset("unknown") is None
