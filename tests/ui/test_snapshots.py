"""The look of the main, detail and help screens (pytest-textual-snapshot, fixed seed, frozen clock).

Regenerate after an intended change with ``pytest tests/ui/test_snapshots.py --snapshot-update``
and look at the SVGs in ``__snapshots__/`` before committing them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot

from postaltop.ui.app import PostaltopApp
from tests.ui import feed, make_app, make_engine, sim_lines

SIZE = (120, 36)
LINES = sim_lines(60, seed=1)

SnapCompare = Callable[..., bool]


def demo_app(**kwargs: Any) -> PostaltopApp:
    engine = make_engine()
    feed(engine, LINES)
    return make_app(engine, mode="demo · normal · seed 1", **kwargs)


async def synced(pilot: Pilot[Any]) -> None:
    pilot.app.main().sync()  # type: ignore[attr-defined]
    await pilot.pause()


def test_main_screen(snap_compare: SnapCompare) -> None:
    assert snap_compare(demo_app(), terminal_size=SIZE, run_before=synced)


def test_main_screen_filtered_and_paused(snap_compare: SnapCompare) -> None:
    async def before(pilot: Pilot[Any]) -> None:
        await synced(pilot)
        await pilot.press("slash", *"warn", "enter")
        await pilot.pause()
        await pilot.press("up", "up")
        await pilot.pause()

    assert snap_compare(demo_app(), terminal_size=SIZE, run_before=before)


def test_detail_screen(snap_compare: SnapCompare) -> None:
    async def before(pilot: Pilot[Any]) -> None:
        await synced(pilot)
        await pilot.press("slash", *"Sending message", "enter", "enter")
        await pilot.pause()

    assert snap_compare(demo_app(), terminal_size=SIZE, run_before=before)


def test_help_screen(snap_compare: SnapCompare) -> None:
    async def before(pilot: Pilot[Any]) -> None:
        await synced(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(demo_app(), terminal_size=SIZE, run_before=before)


def test_colorblind_theme(snap_compare: SnapCompare) -> None:
    async def before(pilot: Pilot[Any]) -> None:
        await synced(pilot)
        await pilot.press("slash", *"level>=warn", "enter")
        await pilot.pause()

    from postaltop.config import UiConfig

    assert snap_compare(demo_app(ui=UiConfig(theme="colorblind")), terminal_size=SIZE, run_before=before)


def test_main_screen_during_an_incident(snap_compare: SnapCompare) -> None:
    """The compromised-credential scenario 14 simulated minutes in: the chart leaves its band, alerts open."""
    from tests.detect.scenario_run import run_scenario

    run = run_scenario("compromised-credential", 14)
    assert run.engine is not None
    app = make_app(run.engine, mode="demo · compromised-credential · seed 1", monitor=run.monitor)
    assert snap_compare(app, terminal_size=(140, 44), run_before=synced)
