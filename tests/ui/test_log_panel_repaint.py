"""The log panel repaints only what changed: paused streams and cursor moves stay cheap under load."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from textual.pilot import Pilot
from textual.strip import Strip

from postaltop.engine import Engine
from tests.ui import feed, make_engine, sim_lines
from tests.ui.test_log_panel import PanelApp


@asynccontextmanager
async def focused_panel(engine: Engine, *keys: str) -> AsyncIterator[tuple[PanelApp, Pilot[Any]]]:
    """The panel over ``engine``'s store at 100x20, synced, focused, after ``keys`` were pressed."""
    app = PanelApp(engine.store)
    async with app.run_test(size=(100, 20)) as pilot:
        app.panel.sync()
        await pilot.pause()
        app.panel.focus()
        await pilot.press(*keys)
        yield app, pilot


def _count_rows(app: PanelApp) -> list[int]:
    """Record the screen rows the panel renders from now on."""
    rendered: list[int] = []
    original = app.panel.render_line

    def counting(y: int) -> Strip:
        rendered.append(y)
        return original(y)

    app.panel.render_line = counting  # type: ignore[method-assign]
    return rendered


async def test_paused_panel_is_not_repainted_for_lines_arriving_below_the_window() -> None:
    engine = make_engine()
    lines = sim_lines(20)
    feed(engine, lines[:600])
    async with focused_panel(engine, "pageup") as (app, pilot):
        assert not app.panel.follow
        feed(engine, lines[600:650])  # the first sync after pausing re-lays out (scrollbar shown)
        app.panel.sync()
        await pilot.pause()
        rendered = _count_rows(app)
        top = app.panel.scroll_offset.y
        feed(engine, lines[650:750])
        assert app.panel.sync() == 100
        await pilot.pause()
        assert rendered == []  # nothing on screen changed
        assert app.panel.scroll_offset.y == top and app.panel.new_lines == 150
        assert app.panel.virtual_size.height == 750  # the row count did move on


async def test_paused_panel_is_repainted_when_new_lines_fall_inside_the_window() -> None:
    engine = make_engine()
    lines = sim_lines(20)
    feed(engine, lines[:5])
    async with focused_panel(engine, "up") as (app, pilot):
        assert not app.panel.follow
        await pilot.pause()
        rendered = _count_rows(app)
        feed(engine, lines[5:8])
        app.panel.sync()
        await pilot.pause()
        top = int(app.panel.scroll_offset.y)
        assert top == 0 and len(app.view) == 8
        assert 7 in rendered  # the three new rows are visible: they must be drawn


async def test_cursor_move_repaints_only_the_old_and_new_rows() -> None:
    engine = make_engine()
    feed(engine, sim_lines(20)[:600])
    async with focused_panel(engine, "pageup", "down") as (app, pilot):
        await pilot.pause()
        rendered = _count_rows(app)
        before = app.panel.cursor_seq
        await pilot.press("down")  # inside the window: no scroll
        await pilot.pause()
        assert app.panel.cursor_seq is not None and app.panel.cursor_seq > (before or 0)
        assert 1 <= len(rendered) <= 2, rendered
        row = app.view.row_of(app.panel.cursor_seq)
        top = int(app.panel.scroll_offset.y)
        assert row is not None and row - top in rendered
        assert set(rendered) <= {row - 1 - top, row - top}  # the old and the new cursor rows
        assert app.panel._frame_selected == app.panel.cursor_seq  # the new row is the highlighted one


async def test_cursor_row_shows_the_cursor_background_over_every_cell() -> None:
    engine = make_engine()
    feed(engine, sim_lines(20)[:60])
    async with focused_panel(engine, "up") as (app, pilot):
        await pilot.pause()
        panel = app.panel
        assert panel.cursor_seq is not None
        cursor_row = panel.view.row_of(panel.cursor_seq)
        assert cursor_row is not None
        y = cursor_row - int(panel.scroll_offset.y)
        cursor_bg = panel.cursor_style().bgcolor
        assert cursor_bg is not None
        highlighted = list(panel.render_line(y))
        plain = list(panel.render_line(y - 1))
        assert all(seg.style and seg.style.bgcolor == cursor_bg for seg in highlighted if seg.text)
        assert all(not seg.style or seg.style.bgcolor != cursor_bg for seg in plain if seg.text)
