"""The log panel's look at 100x30 and 160x45: records over two lines (↳), an out-of-order arrival (↑),
long messages marked » and scrolled sideways («), and the status line's retention notice.

Regenerate after an intended change with ``pytest tests/ui/test_log_panel_snapshot.py --snapshot-update``
and look at the SVGs in ``__snapshots__/`` before committing them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot

from postaltop.ui.app import PostaltopApp
from tests.ui import feed, feed_raw, make_app, make_engine, sim_lines

SnapCompare = Callable[..., bool]
STAMP = b"2026-04-28 09:00:59 +0000 "


def panel_app() -> PostaltopApp:
    engine = make_engine(retained_lines=2_000)
    feed(engine, sim_lines(30, seed=2))  # more than the retention limit: the oldest are dropped
    feed_raw(
        engine,
        "mx2",
        "worker",
        [
            STAMP + b"ERROR  Net::SMTPServerBusy: 421 4.7.0 Try again later, closing connection.",
            b" log_id=B8QP4ZNE component=worker thread=work1 original_queued_message=88530"
            b" queued_message=88530",
        ],
    )
    feed_raw(
        engine, "mx3", "smtp", [b"2026-04-28 09:00:41 +0000 WARN   Authentication failure for 192.0.2.9"]
    )
    return make_app(engine, mode="demo · normal · seed 2")


async def synced(pilot: Pilot[Any]) -> None:
    pilot.app.main().sync()  # type: ignore[attr-defined]
    await pilot.pause()


def test_log_panel_at_100x30(snap_compare: SnapCompare) -> None:
    assert snap_compare(panel_app(), terminal_size=(100, 30), run_before=synced)


def test_log_panel_at_160x45_scrolled_sideways(snap_compare: SnapCompare) -> None:
    async def before(pilot: Pilot[Any]) -> None:
        await synced(pilot)
        await pilot.press("right", "right", "right")
        await pilot.pause()

    assert snap_compare(panel_app(), terminal_size=(160, 45), run_before=before)
