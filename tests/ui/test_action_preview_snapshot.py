"""The look of the action preview / confirm screen (demo, fixed seed, frozen clock)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.ui.test_action_screens import SIZE, demo_app, open_preview

SnapCompare = Callable[..., bool]


def test_action_preview_screen(snap_compare: SnapCompare) -> None:
    app, _fleet = demo_app()

    async def before(pilot: Any) -> None:
        await open_preview(app, pilot, "hold-queued", "acme/transactional", "main smtp")

    assert snap_compare(app, terminal_size=SIZE, run_before=before)
