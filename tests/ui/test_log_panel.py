"""The log panel: row formatting, virtualisation, strip cache, follow on new data."""

from __future__ import annotations

from textual.app import App, ComposeResult

from postaltop.core.events import Level, LineFormat, LogEvent
from postaltop.core.logstore import LogStore
from postaltop.core.view import FilteredView
from postaltop.ui.themes import load_themes
from postaltop.ui.widgets.log_panel import LogPanel
from postaltop.ui.widgets.log_row import Columns, fit, message_of, row_cells
from tests.ui import EPOCH, feed, make_engine, sim_lines


def event(text: str, fmt: LineFormat = LineFormat.V3, level: Level = Level.INFO) -> LogEvent:
    return LogEvent(seq=7, ts=EPOCH + 3725, level=level, host="mx1", component="smtp", fmt=fmt, text=text)


def test_message_column_drops_the_time_and_severity_already_shown() -> None:
    v3 = event(
        "2026-04-28 10:02:05 +0000 WARN   Authentication failure for 198.51.100.23 component=smtp-server"
    )
    assert message_of(v3) == "Authentication failure for 198.51.100.23 component=smtp-server"
    v2 = event("[smtp_server.1:12] [2023-11-02T10:00:07.412] DEBUG -- : [28341] <= EHLO x", LineFormat.V2)
    assert message_of(v2) == "[28341] <= EHLO x"
    raw = event("#<Thread:0x0001 run> terminated with exception", LineFormat.RAW, Level.UNKNOWN)
    assert message_of(raw) == raw.text


def test_row_cells_are_fixed_width_and_safe() -> None:
    cells = row_cells(
        event("2026-04-28 10:02:05 +0000 INFO   hello\x1b]0;x\x07 [b]"), Columns(6, 8), budget=100
    )
    assert cells[0] == "10:02:05"  # UTC
    assert cells[1] == "mx1   " and cells[2] == "smtp    "
    assert cells[3] == "INFO "
    assert cells[4] == "hello␛]0;x^G [b]"
    assert fit("a-very-long-host-name", 8) == "a-very-…"


def test_row_cells_cut_huge_lines_before_sanitising() -> None:
    huge = event("x" * 1_000_000, LineFormat.RAW)
    assert len(row_cells(huge, Columns(4, 4), budget=300)[4]) == 300


def test_columns_fit_names_with_caps() -> None:
    assert Columns.for_names(["", "mx1", "a-rather-long-host-name.example"], ["", "smtp"]) == Columns(16, 4)


class PanelApp(App[None]):
    def __init__(self, store: LogStore) -> None:
        super().__init__()
        for theme in load_themes().values():
            self.register_theme(theme)
        self.theme = "dark"
        self.view = FilteredView(store, None)
        self.panel = LogPanel(store, self.view)
        self.store = store

    def compose(self) -> ComposeResult:
        yield self.panel


async def test_only_visible_rows_are_built() -> None:
    engine = make_engine(retained_lines=200_000)
    for _ in range(50):
        engine.feed("mx1", "worker", [b"2026-04-28 09:00:00 +0000 INFO   line %d" % i for i in range(2000)])
    app = PanelApp(engine.store)
    built: list[int] = []
    original = engine.store.event

    def counting_event(seq: int) -> LogEvent:
        built.append(seq)
        return original(seq)

    engine.store.event = counting_event  # type: ignore[method-assign]
    async with app.run_test(size=(100, 20)) as pilot:
        app.panel.sync()
        await pilot.pause()
        assert len(app.view) == 100_000
        assert app.panel.virtual_size.height == 100_000
        assert 0 < len(set(built)) <= 60, len(set(built))  # about a screenful, never the store
        built.clear()
        app.panel._cache.clear()
        app.panel.refresh()
        await pilot.pause()
        assert 0 < len(built) <= 20  # exactly the visible rows
        assert all(seq >= 100_000 - 20 for seq in built)  # following: the newest rows
        built.clear()
        app.panel.refresh()
        await pilot.pause()
        assert built == []  # cached strips are reused


async def test_strip_cache_is_cleared_on_theme_change() -> None:
    engine = make_engine()
    feed(engine, sim_lines(5))
    app = PanelApp(engine.store)
    async with app.run_test(size=(100, 20)) as pilot:
        app.panel.sync()
        await pilot.pause()
        assert len(app.panel._cache) > 0
        app.theme = "light"
        await pilot.pause()
        assert len(app.panel._cache) <= app.panel.size.height  # rebuilt only for what is visible now


async def test_follow_scrolls_to_new_lines_and_pause_keeps_position() -> None:
    engine = make_engine()
    lines = sim_lines(20)
    feed(engine, lines[:500])
    app = PanelApp(engine.store)
    async with app.run_test(size=(100, 20)) as pilot:
        app.panel.sync()
        await pilot.pause()
        assert app.panel.scroll_offset.y == app.panel.max_scroll_y
        feed(engine, lines[500:800])
        assert app.panel.sync() == 300
        await pilot.pause()
        assert app.panel.scroll_offset.y == app.panel.max_scroll_y
        app.panel.focus()
        await pilot.press("pageup")
        assert not app.panel.follow
        y = app.panel.scroll_offset.y
        feed(engine, lines[800:900])
        app.panel.sync()
        await pilot.pause()
        assert app.panel.scroll_offset.y == y
        assert app.panel.new_lines == 100
        await pilot.press("end")
        assert app.panel.follow and app.panel.new_lines == 0


async def test_rows_stay_anchored_when_old_lines_are_evicted() -> None:
    engine = make_engine(retained_lines=1000)  # ring smaller than what we feed
    lines = sim_lines(30)
    feed(engine, lines[:1000])
    app = PanelApp(engine.store)
    async with app.run_test(size=(100, 20)) as pilot:
        app.panel.sync()
        await pilot.pause()
        app.panel.focus()
        await pilot.press("pageup", "pageup")
        top_seq = app.view.seq_at(int(app.panel.scroll_offset.y))
        feed(engine, lines[1000:1300])  # evicts the oldest 300 (rounded to whole blocks by the store)
        app.panel.sync()
        await pilot.pause()
        assert app.view.seq_at(int(app.panel.scroll_offset.y)) == top_seq


async def test_mouse_wheel_up_pauses_following() -> None:
    from textual import events

    engine = make_engine()
    feed(engine, sim_lines(10))
    app = PanelApp(engine.store)
    async with app.run_test(size=(100, 20)) as pilot:
        app.panel.sync()
        await pilot.pause()
        bottom = app.panel.scroll_offset.y
        app.panel.post_message(events.MouseScrollUp(app.panel, 1, 1, 0, 0, 0, False, False, False))
        await pilot.pause()
        assert not app.panel.follow
        assert app.panel.scroll_offset.y < bottom
