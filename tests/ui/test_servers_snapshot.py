"""The look of the servers table (own snapshot; fixed seed, frozen clock)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot

from postaltop.core.sim import Fleet
from postaltop.core.sim.metrics import SimMetrics
from postaltop.ui.app import PostaltopApp
from tests.ui import EPOCH, feed, make_app, make_engine

SnapCompare = Callable[..., bool]


def servers_app() -> PostaltopApp:
    fleet = Fleet(seed=1, start=EPOCH, volume=0.5)
    engine = make_engine()
    metrics = SimMetrics(fleet)
    for step in range(1, 25):
        now = EPOCH + 5 * step
        feed(engine, fleet.advance(now))
        engine.publish_metrics(metrics.poll(now))
    return make_app(engine, mode="demo · normal · seed 1")


def test_servers_table_snapshot(snap_compare: SnapCompare) -> None:
    async def before(pilot: Pilot[Any]) -> None:
        pilot.app.main().sync()  # type: ignore[attr-defined]
        await pilot.press("s")
        await pilot.pause()
        await pilot.press("o", "o", "o")
        await pilot.pause()

    assert snap_compare(servers_app(), terminal_size=(140, 36), run_before=before)
