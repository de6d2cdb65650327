"""Snapshots at 120x35 of a pending automatic response: the notice that stays, and ``r``'s preview.

Regenerate after an intended change with ``--snapshot-update`` and look at the SVGs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input

from tests.ui.test_respond_pilot import SIZE, incident, responding_app

SnapCompare = Callable[..., bool]


async def pending(pilot: Pilot[Any]) -> None:
    app: Any = pilot.app
    app.main().sync()
    await pilot.pause()
    app.main().response_bar.review()
    await pilot.pause(0.3)


def test_pending_response_notice(snap_compare: SnapCompare, tmp_path: Path) -> None:
    app, _service = responding_app(incident(), tmp_path / "stop")
    assert snap_compare(app, terminal_size=SIZE, run_before=pending)


def test_pending_response_preview(snap_compare: SnapCompare, tmp_path: Path) -> None:
    async def before(pilot: Pilot[Any]) -> None:
        await pending(pilot)
        await pilot.press("r")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause(0.3)
        pilot.app.clear_notifications()  # the toasts fade in a few seconds: show the preview itself
        for field in pilot.app.screen.query(Input):
            field.cursor_blink = False  # a blinking cursor would make the snapshot depend on timing
        await pilot.pause()

    app, _service = responding_app(incident(), tmp_path / "stop")
    assert snap_compare(app, terminal_size=SIZE, run_before=before)
