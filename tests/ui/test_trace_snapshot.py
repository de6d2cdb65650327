"""The look of the message trace screen (pytest-textual-snapshot, fixed seed, frozen clock).

Regenerate after an intended change with
``pytest tests/ui/test_trace_snapshot.py --snapshot-update`` and look at the SVG before committing it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot

from tests.ui import feed, feed_raw, make_app, make_engine, sim_lines
from tests.ui.test_trace_screen import ON_MX2, WORKER

SnapCompare = Callable[..., bool]


def test_trace_screen(snap_compare: SnapCompare) -> None:
    engine = make_engine()
    feed(engine, sim_lines(20, seed=1))
    feed_raw(engine, "mx1", "worker", WORKER)
    feed_raw(engine, "mx2", "worker", ON_MX2)
    sending = next(
        s
        for s in range(engine.store.start_seq, engine.store.end_seq)
        if "9::4242" in engine.store.event(s).text
    )

    async def before(pilot: Pilot[Any]) -> None:
        pilot.app.main().sync()  # type: ignore[attr-defined]
        await pilot.pause()
        panel = pilot.app.main().panel  # type: ignore[attr-defined]
        panel.follow = False
        panel.cursor_seq = sending
        await pilot.press("T")
        await pilot.pause()

    assert snap_compare(make_app(engine, mode="test"), terminal_size=(120, 30), run_before=before)
