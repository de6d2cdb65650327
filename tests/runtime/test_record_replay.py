"""Replay raises what live raised: a demo run through the runtime is recorded, replayed through the runtime,
and both runs' alerts (key, kind, first-fire time) compared."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from postaltop.config import LoadedSettings, Settings
from postaltop.core.alerts import AlertEvent, Transition
from postaltop.recording.records import HistoryRecord, KnownDomainsRecord
from postaltop.recording.replay import Recording, ReplayController
from postaltop.runtime import Runtime, RuntimeOptions, build_runtime

FIRED = (Transition.FIRED, Transition.ESCALATED)


def loaded() -> LoadedSettings:
    return LoadedSettings(Settings(), None, Path("config.toml"))


def first_fires(events: list[AlertEvent]) -> dict[tuple[str, str], float]:
    """(alert key, severity) -> data time of its first fire or escalation."""
    out: dict[tuple[str, str], float] = {}
    for event in events:
        if event.transition in FIRED:
            out.setdefault((event.alert.key, event.alert.severity.value), event.at)
    return out


async def run_live(runtime: Runtime, seconds: float) -> None:
    """Run the engine and every source for ``seconds`` real seconds, as ``watch`` does."""
    tasks = [asyncio.create_task(runtime.engine.run())]
    tasks += [asyncio.create_task(source.run()) for source in runtime.sources]
    try:
        await asyncio.sleep(seconds)
        runtime.engine.ingest_now()
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def replay(path: Path) -> tuple[Runtime, list[AlertEvent]]:
    """Feed the whole recording through a replay runtime; returns it and its monitor's alert transitions."""
    recording = Recording(path)
    controller = ReplayController(recording, speed=3600.0, start_at=recording.end)
    runtime = build_runtime(loaded(), RuntimeOptions(mode="replay", replay=controller))
    assert runtime.monitor is not None
    events: list[AlertEvent] = []
    runtime.monitor.on_alert(events.append)
    # every record is due at once (start_at = the end): apply them as the replay's feed does, in order
    while (record := controller.next_due()) is not None:
        controller.apply(runtime.engine, record)
        controller.done()
    assert controller.finished
    runtime.stop()
    return runtime, events


@pytest.mark.parametrize("scenario", ["compromised-credential", "bounce-storm"])
async def test_replay_of_a_recorded_demo_raises_the_same_alerts_at_the_same_times(
    tmp_path: Path, scenario: str
) -> None:
    path = tmp_path / f"{scenario}.postaltop.gz"
    options = RuntimeOptions(mode="demo", scenario=scenario, seed=3, speed=300.0, record=path)
    live = build_runtime(loaded(), options)
    assert live.monitor is not None
    live_events: list[AlertEvent] = []
    live.monitor.on_alert(live_events.append)
    live.start()
    try:
        await run_live(live, 8.0)
    finally:
        live.stop()

    recording = Recording(path)
    assert isinstance(recording.history(), HistoryRecord) and recording.history().points  # type: ignore[union-attr]
    assert any(isinstance(r, KnownDomainsRecord) and r.known for r in recording.records)
    live_fires = first_fires(live_events)
    kinds = {key.split("|", 1)[0] for key, _ in live_fires}
    assert len(live_fires) >= 2, f"the live {scenario} run raised too little to compare: {live_fires}"

    _runtime, replay_events = await replay(path)
    replay_fires = first_fires(replay_events)
    assert replay_fires == live_fires, (kinds, sorted(set(live_fires) ^ set(replay_fires)))
