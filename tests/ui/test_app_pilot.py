"""Behaviour of the app, driven with Pilot on a fixed-seed fleet and a frozen clock."""

from __future__ import annotations

import json
from pathlib import Path

from textual.pilot import Pilot

from postaltop import locations
from postaltop.config import UiConfig
from postaltop.core.export import to_jsonl
from postaltop.core.sanitize import display_text
from postaltop.runtime.build import NOT_CONNECTED
from postaltop.ui.app import PostaltopApp
from postaltop.ui.screens.detail import DetailScreen
from postaltop.ui.screens.first_run import FirstRunScreen
from postaltop.ui.screens.help import HelpScreen, help_sections
from postaltop.ui.screens.too_small import TooSmallScreen
from postaltop.ui.widgets.host_bar import HostChip
from postaltop.ui.widgets.log_panel import LogPanel
from postaltop.ui.widgets.log_row import message_of
from tests.ui import feed, make_app, make_engine, sim_lines

SIZE = (120, 36)
LINES = sim_lines(30)


async def ready(app: PostaltopApp, pilot: Pilot[int]) -> None:
    """Pull the engine's state into the widgets and let Textual settle."""
    app.main().sync()
    await pilot.pause()


def visible_texts(panel: LogPanel) -> list[str]:
    """The plain text of every rendered row of the panel."""
    return [panel.render_line(y).text for y in range(panel.scrollable_content_region.height)]


def filter_status(app: PostaltopApp) -> str:
    """The filter bar's count line ("N lines" / "M of N")."""
    return app.main().filter_bar.query_one("#filter-status").render().plain  # type: ignore[attr-defined,no-any-return]


def status_text(app: PostaltopApp) -> str:
    return app.main().query_one("#status-line").text  # type: ignore[attr-defined,no-any-return]


async def apply_filter(pilot: Pilot[int], text: str) -> None:
    """Focus the input with /, replace its text by typing ``text``, press Enter."""
    await pilot.press("slash")
    pilot.app.main().filter_bar.set_text("")  # type: ignore[attr-defined]
    await pilot.press(*text)
    await pilot.press("enter")
    await pilot.pause()


async def test_filter_apply_clear_and_invalid() -> None:
    engine = make_engine()
    total = feed(engine, LINES)
    app = make_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        screen = app.main()
        assert filter_status(app) == f"{total:,} lines"

        await apply_filter(pilot, "rcpt")
        matched = len(screen.view)
        assert 0 < matched < total
        for seq in screen.view.seqs(0, matched):
            assert "rcpt" in engine.store.event(seq).text.lower()
        assert filter_status(app) == f"{matched:,} of {total:,}"
        assert all("RCPT" in t.upper() for t in visible_texts(screen.panel) if t.strip())

        # invalid: an error is shown, the previous filter and its count stay
        await apply_filter(pilot, ' "unterminated')
        assert screen.filter_bar.error_text is not None
        assert "invalid filter" in screen.filter_bar.error_text
        assert len(screen.view) == matched
        assert screen.filter_bar.active_text == "rcpt"

        # Escape in the input clears the filter
        await pilot.press("slash", "escape")
        await pilot.pause()
        assert len(screen.view) == total
        assert screen.filter_bar.active_text == ""
        assert screen.filter_bar.error_text is None


async def test_filter_history_walks_with_up_and_down() -> None:
    engine = make_engine()
    feed(engine, LINES)
    app = make_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        await apply_filter(pilot, "rcpt")
        await apply_filter(pilot, "ehlo")
        await pilot.press("slash")
        app.main().filter_bar.set_text("")
        await pilot.press("up")
        assert app.main().filter_bar.input.value == "ehlo"
        await pilot.press("up")
        assert app.main().filter_bar.input.value == "rcpt"
        await pilot.press("down", "down")
        assert app.main().filter_bar.input.value == ""


async def test_pause_counts_new_lines_and_end_resumes() -> None:
    engine = make_engine()
    feed(engine, LINES[:1500])
    app = make_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        panel = app.main().panel
        assert panel.follow
        assert status_text(app).startswith("following")
        await pilot.press("up", "up", "up")
        assert not panel.follow
        top_before = panel.scroll_offset.y

        feed(engine, LINES[1500:1600])
        await ready(app, pilot)
        assert "paused · 100 new" in status_text(app)
        feed(engine, LINES[1600:1750])
        await ready(app, pilot)
        assert "paused · 250 new" in status_text(app)
        assert panel.scroll_offset.y == top_before  # the view did not jump while paused

        await pilot.press("end")
        await ready(app, pilot)
        assert panel.follow
        assert status_text(app).startswith("following")
        assert panel.scroll_offset.y == panel.max_scroll_y
        last = engine.store.event(engine.store.end_seq - 1)
        rows = [t for t in visible_texts(panel) if t.strip()]
        assert display_text(message_of(last))[:40] in rows[-1]

        # f toggles too
        await pilot.press("f")
        assert not panel.follow
        await pilot.press("f")
        assert panel.follow


async def test_detail_view_shows_tags_and_copy() -> None:
    engine = make_engine()
    feed(engine, LINES[:400])
    app = make_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        await apply_filter(pilot, '"RCPT TO"')
        panel = app.main().panel
        seq = panel.selected_seq
        assert seq is not None
        event = engine.store.event(seq)

        await pilot.press("y")
        assert app.clipboard == event.raw

        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen)
        tags = dict(app.screen.tags)
        assert tags["component"] == "smtp-server"
        assert "trace_id" in tags
        assert app.screen.message.startswith("<= RCPT TO:")
        raw = app.screen.query_one("#detail-raw").render().plain  # type: ignore[attr-defined]
        assert "RCPT TO:" in raw and "\x1b" not in raw
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.main()


async def test_export_writes_the_view() -> None:
    engine = make_engine()
    feed(engine, LINES[:2000])
    app = make_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        await apply_filter(pilot, '"MAIL FROM"')
        view = app.main().view
        expected_seqs = view.seqs(0, len(view))
        await pilot.press("e")
        await pilot.pause()
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        exports = sorted((locations.data_dir() / "exports").glob("*.jsonl"))
        assert len(exports) == 1
        written = exports[0].read_text(encoding="utf-8").splitlines()
        expected = "".join(to_jsonl(engine.store.event(s) for s in expected_seqs)).splitlines()
        assert written == expected
        assert len(written) == len(expected_seqs) > 0
        assert all("MAIL FROM" in json.loads(line)["text"].upper() for line in written)


async def test_export_to_typed_csv_path(tmp_path: Path) -> None:
    engine = make_engine()
    feed(engine, LINES[:300])
    app = make_app(engine)
    target = tmp_path / "out" / "view.csv"
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        count = await app.main().export_to(target)
        assert count == len(app.main().view) == 300
        assert target.exists()
        assert len(target.read_text(encoding="utf-8").splitlines()) >= 301  # header + rows


async def test_theme_switch_changes_colours() -> None:
    engine = make_engine()
    feed(engine, LINES[:300])
    app = make_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        panel = app.main().panel
        before = panel.get_component_rich_style("log-panel--info", partial=True).color
        assert app.theme == "dark"
        await pilot.press("t")
        await pilot.pause()
        assert app.theme == "light"
        after = panel.get_component_rich_style("log-panel--info", partial=True).color
        assert before != after
        assert "theme light" in status_text(app)
        await pilot.press("t")
        assert app.theme == "colorblind"
        await pilot.press("t")
        assert app.theme == "dark"


async def test_keymap_rebinds_by_id() -> None:
    engine = make_engine()
    app = make_app(engine, ui=UiConfig(keymap={"app.theme": "ctrl+t"}))
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        await pilot.press("t")
        assert app.theme == "dark"
        await pilot.press("ctrl+t")
        assert app.theme == "light"


async def test_too_small_terminal_shows_a_message() -> None:
    engine = make_engine()
    app = make_app(engine)
    async with app.run_test(size=(20, 5)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, TooSmallScreen)
        assert app.screen.message == "terminal too small: need 60\u00d712, have 20\u00d75"
        app.screen.query_one("#too-small")
        await pilot.resize_terminal(120, 36)
        await pilot.pause(0.1)
        assert app.screen is app.main()


HOSTILE = [
    b"\x1b]0;pwned\x07 title change",
    b"\x1b[2J clear screen",
    b"[red]x[/red] markup",
    b"[link=file:///etc/passwd]click[/link]",
    b"nul\x00byte",
    b"bad utf8 \xff\xfe end",
    "rtl \u202eevil\u202c end".encode(),
]


async def test_hostile_lines_render_literally() -> None:
    engine = make_engine()
    engine.feed("evil[bold]", "smtp", HOSTILE)
    app = make_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        rows = [t for t in visible_texts(app.main().panel) if t.strip()]
        text = "\n".join(rows)
        assert len(rows) == len(HOSTILE)
        for row in rows:
            assert all(ch >= " " and not 0x7F <= ord(ch) <= 0x9F for ch in row), repr(row)
            assert "\u202e" not in row
        assert "␛]0;pwned^G" in text
        assert "␛[2J" in text
        assert "[red]x[/red]" in text
        assert "[link=file:///etc/passwd]click[/link]" in text
        assert "nul^@byte" in text
        assert "\\xff\\xfe" in text
        assert "<U+202E>" in text
        assert "evil[bold]" in text
        # the detail view shows them literally too
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen)
        raw = app.screen.query_one("#detail-raw").render().plain  # type: ignore[attr-defined]
        assert "<U+202E>" in raw and "\u202e" not in raw


async def test_help_lists_every_binding_and_docs_match() -> None:
    engine = make_engine()
    app = make_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert app.screen is app.main()
    keys_doc = (Path(__file__).resolve().parents[2] / "docs" / "keys.md").read_text(encoding="utf-8")
    ids = [
        binding_id
        for _, rows in help_sections({}, PostaltopApp.BINDINGS)
        for _, _, binding_id in rows
        if binding_id
    ]
    assert len(ids) == len(set(ids)), "binding ids must be unique"
    missing = [binding_id for binding_id in ids if f"`{binding_id}`" not in keys_doc]
    assert not missing, f"docs/keys.md lacks {missing}"


async def test_command_palette_runs_postaltop_commands() -> None:
    engine = make_engine()
    feed(engine, LINES[:200])
    app = make_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Theme: colorblind")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause(0.1)
        assert app.theme == "colorblind"
        await pilot.press("ctrl+p")
        await pilot.press(*"Pause / follow")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause(0.1)
        assert not app.main().panel.follow


async def test_monitor_mode_lists_hosts_as_not_connected() -> None:
    engine = make_engine()
    for name in ("mx1", "mx2"):
        engine.set_host(name, NOT_CONNECTED)
    app = make_app(engine, mode="monitor", placeholder="No log source is connected yet")
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        chips = list(app.main().query(HostChip))
        assert [c.host_name for c in chips] == ["mx1", "mx2"]
        assert all("not connected yet" in c.render().plain for c in chips)  # type: ignore[attr-defined]
        assert app.main().panel.render_line(0).text.strip() == "No log source is connected yet"


async def test_first_run_screen_points_to_demo_and_config(tmp_path: Path) -> None:
    engine = make_engine()
    config = tmp_path / "config.toml"
    app = make_app(engine, first_run_config=config)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, FirstRunScreen)
        text = app.screen.query_one("#first-run Static").render().plain  # type: ignore[attr-defined]
        assert "postaltop demo" in text
        assert str(config) in text
        assert "postaltop config init" in text and "postaltop help configuration" in text
        assert "docs/configuration.md" not in text  # a pip install does not ship the repository's docs/
        await pilot.press("q")
    assert app.return_code == 0


async def test_filters_persist_across_restarts() -> None:
    from postaltop.runtime.filters import FileFilterHistory
    from postaltop.store.filters import load_filter_state

    engine = make_engine()
    feed(engine, LINES[:500])
    filters = FileFilterHistory()
    app = make_app(engine, persist_filters=True, filters=filters)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        await apply_filter(pilot, "ehlo")
        await apply_filter(pilot, "rcpt")
    assert load_filter_state().last == "rcpt"
    text, history = filters.load()
    assert (text, history) == ("rcpt", ["ehlo", "rcpt"])

    again = make_app(engine, persist_filters=True, filters=filters, filter_text=text, history=history)
    async with again.run_test(size=SIZE) as pilot:
        await ready(again, pilot)
        assert again.main().filter_bar.input.value == "rcpt"
        assert 0 < len(again.main().view) < len(engine.store)


async def test_hosts_come_before_the_mode_label_so_a_narrow_bar_cuts_the_mode() -> None:
    engine = make_engine()
    feed(engine, LINES[:300])
    app = make_app(engine, mode="demo · compromised-credential · seed 1 · a very long mode label indeed")
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        bar = app.main().query_one("#host-bar")
        ids = [child.id or type(child).__name__ for child in bar.children]
        assert ids[0] == "app-name" and ids[-1] == "mode"
        chips = list(bar.query(HostChip))
        assert len(chips) == 3
        assert all(chip.region.right <= 80 and chip.region.width > 0 for chip in chips)


async def test_a_filter_restored_from_the_last_session_is_announced() -> None:
    engine = make_engine()
    feed(engine, LINES[:300])
    app = make_app(engine, filter_text="level>=warn")
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        messages = [str(n.message) for n in app._notifications]
        assert any("Filter from the last session: level>=warn" in m for m in messages), messages


async def test_a_failed_export_names_the_path(tmp_path: Path) -> None:
    engine = make_engine()
    feed(engine, LINES[:300])
    app = make_app(engine)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        written = await app.main().export_to(blocker / "view.jsonl")
        await pilot.pause()
        assert written == -1
        messages = [str(n.message) for n in app._notifications]
        assert any(f"Export to {blocker / 'view.jsonl'} failed" in m for m in messages), messages
