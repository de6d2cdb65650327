"""Record -> replay round trip: every event equal, the engine state equal, a crash-cut file still readable."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from postaltop.core.notification import NotificationEvent
from postaltop.core.sim import Fleet
from postaltop.engine import Engine
from postaltop.recording.file import Recorder, RecordingError, read_header, read_records
from postaltop.recording.records import AlertRecord, LinesRecord, MetricsRecord
from postaltop.recording.replay import Recording, ReplayController
from postaltop.sources.demo import DemoBatch, group_lines
from postaltop.sources.demo_metrics import DemoMetricsSource
from tests.watch.events import notification_event

START = 1_790_000_000.0


class FakeClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


async def demo_batches(fleet: Fleet, clock: FakeClock, minutes: int) -> AsyncIterator[DemoBatch]:
    for minute in range(1, minutes + 1):
        until = START + 60 * minute
        clock.now = until
        yield DemoBatch(until, group_lines(fleet.advance(until)))


def alert(status: str, at: float) -> NotificationEvent:
    return notification_event(status=status, at=at, started_at=START, why="why")


async def record_demo(path: Path) -> tuple[list[LinesRecord], list[MetricsRecord], Engine]:
    """Run a demo through an engine while recording it; returns what was fed and the engine."""
    clock = FakeClock()
    fleet = Fleet(seed=7, scenario="compromised-credential", start=START)
    metrics = DemoMetricsSource(fleet)
    engine = Engine(retained_lines=100_000, clock=clock)
    recorder = Recorder(path, meta={"scenario": "compromised-credential"}, clock=clock)
    recorder.attach(engine)  # every ingested group and every poll result
    fed: list[LinesRecord] = []
    polls: list[MetricsRecord] = []
    async for batch in demo_batches(fleet, clock, 12):
        for host, component, lines in batch.groups:
            engine.feed(host, component, lines, received_at=clock.now)
            fed.append(LinesRecord(clock.now, host, component, tuple(lines)))
        for result in metrics.poll_now():
            engine.publish_metrics(result)
            polls.append(MetricsRecord(clock.now, result))
    engine.feed("mx1", "smtp", [b"bad utf-8 \xff\xfe and \x1b[31m escape"], received_at=clock.now)
    fed.append(LinesRecord(clock.now, "mx1", "smtp", (b"bad utf-8 \xff\xfe and \x1b[31m escape",)))
    recorder.alert(alert("firing", clock.now))
    recorder.alert(alert("resolved", clock.now))
    recorder.close()
    return fed, polls, engine


async def test_round_trip_equal_event_for_event(tmp_path: Path) -> None:
    path = tmp_path / "incident.postaltop.gz"
    fed, polls, _engine = await record_demo(path)
    assert path.stat().st_mode & 0o077 == 0
    assert read_header(path)["meta"] == {"scenario": "compromised-credential"}
    records = list(read_records(path))
    lines = [r for r in records if isinstance(r, LinesRecord) and r.lines]
    assert [(r.at, r.host, r.component, r.lines) for r in lines] == [
        (r.at, r.host, r.component, r.lines) for r in fed
    ]
    assert sum(len(r.lines) for r in lines) > 5_000
    assert [r.result for r in records if isinstance(r, MetricsRecord)] == [p.result for p in polls]
    alerts = [r.event for r in records if isinstance(r, AlertRecord)]
    assert [a.status for a in alerts] == ["firing", "resolved"]
    assert alerts[0] == alert("firing", alerts[0].at)


async def test_replay_rebuilds_the_same_engine_state(tmp_path: Path) -> None:
    path = tmp_path / "incident.postaltop.gz"
    _fed, _polls, original = await record_demo(path)
    recording = Recording(path)
    controller = ReplayController(recording, speed=1.0, paused=True)
    replayed = Engine(retained_lines=100_000, clock=controller.now)
    task = asyncio.create_task(controller.run(replayed))
    await asyncio.sleep(0.3)
    at_start = len(replayed.store)  # paused on the first record's time: only that minute
    assert 0 < at_start < len(original.store) / 5
    await asyncio.sleep(0.3)
    assert len(replayed.store) == at_start
    assert controller.jump(recording.end - recording.start)
    for _ in range(100):
        await asyncio.sleep(0.05)
        if controller.finished:
            break
    task.cancel()
    assert controller.finished
    assert len(replayed.store) == len(original.store)
    for seq in (0, len(original.store) // 2, len(original.store) - 1):
        a, b = original.store.event(seq), replayed.store.event(seq)
        assert (a.raw, a.host, a.component, a.ts) == (b.raw, b.host, b.component, b.ts)
    assert [r.samples for r in replayed.metrics_history] == [r.samples for r in original.metrics_history]
    assert {h: s.lines for h, s in replayed.hosts.items()} == {h: s.lines for h, s in original.hosts.items()}
    assert controller.open_alerts() == {}
    assert not controller.jump(-60) and controller.restart_at == recording.end - 60


async def test_a_file_cut_by_a_crash_still_replays_its_beginning(tmp_path: Path) -> None:
    path = tmp_path / "cut.gz"
    clock = FakeClock()
    recorder = Recorder(path, clock=clock)
    for i in range(200):
        clock.now += 1.0  # every record flushed
        recorder.lines("mx1", "web", [f"line {i}".encode()], clock.now)
    recorder.flush()
    data = path.read_bytes()
    recorder.close()
    cut = tmp_path / "cut-copy.gz"
    cut.write_bytes(data[: len(data) - 5])
    records = list(read_records(cut))
    assert 150 <= len(records) <= 200
    first = [r.lines for r in records if isinstance(r, LinesRecord)][:3]
    assert first == [(b"line 0",), (b"line 1",), (b"line 2",)]


def test_not_a_recording(tmp_path: Path) -> None:
    other = tmp_path / "x.gz"
    other.write_text("plain text")
    with pytest.raises(RecordingError, match="not a postaltop recording"):
        read_header(other)
    with pytest.raises(RecordingError, match="cannot open"):
        read_header(tmp_path / "missing.gz")


def test_every_poll_result_field_survives_json() -> None:
    import json
    from dataclasses import asdict, fields

    from postaltop.core.dbmetrics import (
        CredentialDomainSample,
        CredentialSample,
        DomainSample,
        HealthSample,
        PollResult,
        ServerInfo,
        ServerSample,
        WindowCounts,
    )
    from postaltop.recording.records import poll_from_dict

    result = PollResult(
        started_at=1.5,
        duration=0.02,
        connected=True,
        status="ok",
        servers=(ServerInfo(1, "acme", "mail", "Mail", "Live", False, None, 500, "postal-server-1"),),
        samples=(ServerSample(1, 1.0, 5.0, WindowCounts(outgoing=3, sent=2), queue_depth=4),),
        credentials=(CredentialSample(7, 1, "main smtp", "SMTP", 3, 36.0),),
        domains=(DomainSample(1, "example.net", 3, 36.0),),
        errors=("one",),
        queries=4,
        retry_in=None,
        health=(HealthSample("mx1", "worker", 1.0, True, counters=(("postal_x_total", 2.0),)),),
        credential_domains=(CredentialDomainSample(7, 1, "example.net", 3),),
        state="degraded",
    )
    unset = [f.name for f in fields(PollResult) if getattr(result, f.name) == f.default]
    assert unset == ["retry_in"]  # every other field carries data, so a dropped one fails the next line
    assert poll_from_dict(json.loads(json.dumps(asdict(result)))) == result


def record_fast_demo(path: Path, *, minutes: int = 60, speed: float = 600.0) -> Fleet:
    """A demo recorded as ``watch --speed high --record`` does: 600 simulated seconds per wall second."""
    wall = FakeClock()
    fleet = Fleet(seed=3, scenario="normal", start=START, volume=0.2)
    engine = Engine(retained_lines=200_000, clock=wall)
    recorder = Recorder(path, clock=wall)
    recorder.attach(engine)
    metrics = DemoMetricsSource(fleet)
    for minute in range(1, minutes + 1):
        until = START + 60 * minute
        wall.now = START + (until - START) / speed
        batch = DemoBatch(until, group_lines(fleet.advance(until)))
        engine.sim_time = until
        for host, component, lines in batch.groups:
            engine.feed(host, component, lines, received_at=wall.now)
        for result in metrics.poll_now():
            engine.publish_metrics(result)
    recorder.close()
    return fleet


def test_a_fast_demo_replays_on_the_simulated_clock_and_seeks_by_simulated_minutes(tmp_path: Path) -> None:
    path = tmp_path / "fast.postaltop.gz"
    record_fast_demo(path)
    recording = Recording(path)
    wall_span = recording.records[-1].at - recording.records[0].at
    assert wall_span <= 6.5  # an hour of simulated time took 6 s of wall time
    assert recording.end - recording.start >= 58 * 60  # replay runs on the simulated hour
    assert recording.times == sorted(recording.times)
    controller = ReplayController(recording, speed=60.0)
    engine = Engine(retained_lines=200_000, clock=controller.now)

    async def run_for(seconds: float) -> None:
        task = asyncio.create_task(controller.run(engine))
        await asyncio.sleep(seconds)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(run_for(1.0))  # 1 real second at x60: a simulated minute, not the whole file
    assert 0.0 < controller.progress < 0.1 and not controller.finished
    lines = [r for r in recording.records if isinstance(r, LinesRecord) and r.lines]
    newest = max(engine.store.event(s).ts for s in range(engine.store.start_seq, engine.store.end_seq))
    assert newest <= controller.position + 1  # the panel's lines are on the replay's clock
    assert lines[-1].sim_time is not None and controller.position < lines[-1].sim_time - 50 * 60
    before = controller.position
    assert controller.jump(300)  # ] moves 5 simulated minutes, not to the end
    assert controller.position == before + 300 and not controller.finished
    assert not controller.jump(-120) and controller.restart_at == before + 180  # [ goes back 5 minutes
