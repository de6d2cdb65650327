"""Replay raises what live raised: a demo run through the runtime is recorded, replayed through the runtime,
and both runs' alerts (key, kind, first-fire time) compared."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path

import pytest

from postaltop.config import LoadedSettings, Settings
from postaltop.core.alerts import AlertEvent, Transition
from postaltop.core.connect_state import (
    Backfill,
    ConnectState,
    CredentialDomainSpan,
    CredentialHour,
    CredentialInfo,
    DeliveryMinute,
    DomainMinute,
    MessageMinute,
)
from postaltop.core.dbmetrics import HistoryPoint
from postaltop.recording.records import ConnectStateRecord, decode, encode
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
    seeded = recording.connect_state()
    assert seeded is not None and seeded.state.history and seeded.state.credentials
    assert seeded.state.credential_domains  # the credentials' usual domains before the simulation
    live_fires = first_fires(live_events)
    kinds = {key.split("|", 1)[0] for key, _ in live_fires}
    assert len(live_fires) >= 2, f"the live {scenario} run raised too little to compare: {live_fires}"

    _runtime, replay_events = await replay(path)
    replay_fires = first_fires(replay_events)
    assert replay_fires == live_fires, (kinds, sorted(set(live_fires) ^ set(replay_fires)))


def test_a_state_at_connect_with_a_backfill_survives_the_recording_format() -> None:
    backfill = Backfill(
        start=1_000.0,
        end=4_600.0,
        messages=(MessageMinute(1, 20, 7, 40), MessageMinute(1, 21, None, 3)),
        deliveries=(DeliveryMinute(1, 20, "Held", False, "send_limit", 7, 12),),
        domains=(DomainMinute(1, 20, "example.com", 30), DomainMinute(1, 20, "other", 10)),
        credential_domains=(CredentialDomainSpan(1, 7, "example.com", 20, 21, 30),),
        future_rows=2,
        errors=("acme/ghost: no message database",),
    )
    state = ConnectState(
        history=(HistoryPoint(1, "hour", 3_600, 1, 50, 0, 2, 0),),
        backfill=backfill,
        credential_hours=(CredentialHour(1, 7, 0, 120),),
        credential_domains=((7, "example.com"),),
        credential_since=-10.0,
        credentials=(CredentialInfo(7, 1, "main api", "API"),),
        errors=("statistics of acme/old unreadable",),
    )
    record = ConnectStateRecord(12.5, state)
    assert decode(json.loads(json.dumps(encode(record)))) == record
