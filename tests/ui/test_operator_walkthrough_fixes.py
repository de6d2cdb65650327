"""Problems found by walking through postaltop in a real terminal, each pinned by a test."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from postaltop.cli import main
from postaltop.config import ActionsConfig
from postaltop.core.actions.describe import preview_lines
from postaltop.core.events import Level, LineFormat, LogEvent
from postaltop.core.export import to_csv
from postaltop.core.sim import Fleet
from postaltop.sources.action_executor import plan_action
from postaltop.sources.demo_actions import DemoActionExecutor
from postaltop.store.audit import AuditStore
from postaltop.ui.screens.first_run import FirstRunScreen
from postaltop.ui.screens.too_small import TooSmallScreen
from postaltop.ui.widgets.rate_chart import TITLE_MARGIN, chart_title
from tests.ui import EPOCH, feed, make_app, make_engine, sim_lines

LINES = sim_lines(30)


async def test_invalid_filter_message_survives_the_live_count_redraw() -> None:
    """The count redraw (4 times a second under live data) used to wipe the error at once."""
    engine = make_engine()
    feed(engine, LINES[:200])
    app = make_app(engine)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.main()
        screen.sync()
        await pilot.pause()
        await pilot.press("slash", *"/(/", "enter")
        await pilot.pause()
        bar = screen.filter_bar
        assert bar.error_text is not None and "invalid filter" in bar.error_text
        feed(engine, LINES[200:400])  # more lines arrive: the counts are redrawn
        screen.sync()
        bar.show_count(len(screen.view), len(engine.store))
        await pilot.pause()
        assert bar.error_text is not None
        assert "invalid filter" in bar.query_one("#filter-status").render_line(0).text
        # Escape clears the input and the filter: the message goes, the count comes back
        await pilot.press("escape")
        await pilot.pause()
        assert bar.error_text is None
        assert bar.query_one("#filter-status").render_line(0).text.strip() == f"{len(engine.store):,} lines"


async def test_too_small_message_wraps_instead_of_being_cut() -> None:
    app = make_app(make_engine())
    async with app.run_test(size=(20, 5)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, TooSmallScreen)
        label = app.screen.query_one("#too-small")
        rows = [label.render_line(y).text for y in range(label.size.height)]
        assert label.size.width <= 20
        shown = " ".join(" ".join(rows).split())
        assert "need 60\u00d712" in shown and "have 20\u00d75" in shown


def test_chart_title_fits_the_plot_area() -> None:
    # plotext draws no title at all when it is wider than the plot: the selected alert's scope
    # "server acme/transactional" used to blank the title of a 72-column chart
    scope, state = "server acme/transactional", "band = expected +/- 3 sd"
    full = chart_title(scope, "6h", state, 0)
    assert full == f"{scope} · per minute · 6h · {state}"
    for width in (30, 40, 60, 72, 100, 200):
        title = chart_title(scope, "6h", state, width)
        assert len(title) <= max(width - TITLE_MARGIN, 2)
        assert title.startswith(scope[: min(len(scope), width - TITLE_MARGIN - 1)])
    assert chart_title(scope, "6h", state, 72) == f"{scope} · per minute · 6h"
    assert chart_title(scope, "6h", state, 200) == full


async def test_demo_undo_preview_does_not_claim_it_changes_nothing(tmp_path: Path) -> None:
    fleet = Fleet(seed=3, scenario="compromised-credential", start=EPOCH)
    fleet.advance(EPOCH + 700)
    executor = DemoActionExecutor(fleet, ActionsConfig(), AuditStore(tmp_path))
    plan = await plan_action(executor, "credential-hold", "acme/transactional", "main smtp")
    assert (await executor.execute(plan, await executor.preview(plan))).ok
    undo = executor.last_undo_plan()
    text = "\n".join(preview_lines(undo, await executor.preview(undo)))
    assert "put back 1 row(s)" in text
    assert "0 row change(s)" not in text
    assert "SQL: none" in text
    # a plan with SQL still lists it under the usual header
    hold = "\n".join(preview_lines(plan, await executor.preview(plan)))
    assert "SQL (one transaction" in hold and "UPDATE" in hold


async def test_first_run_box_shows_its_text_and_fits_a_narrow_terminal(tmp_path: Path) -> None:
    # the box used to be drawn empty (an auto-width box around a 1fr-wide text: zero columns)
    config = tmp_path / "postaltop" / "config.toml"
    for size in ((120, 36), (60, 25)):
        app = make_app(make_engine(), first_run_config=config)
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            assert isinstance(app.screen, FirstRunScreen)
            box = app.screen.query_one("#first-run")
            text = app.screen.query_one("#first-run Static")
            assert text.size.width >= 40 and text.size.height >= 10
            assert box.region.right <= size[0] and text.region.right <= box.region.right
            shown = " ".join(text.render_line(y).text for y in range(text.size.height))
            assert "postaltop demo" in shown and "Press q to quit." in shown


def test_csv_export_carries_no_raw_terminal_escapes() -> None:
    # a client-chosen EHLO name with an OSC title change and Postal's own colour codes: `cat x.csv`
    # in a terminal used to run them
    hostile = "DEBUG  \x1b[32m<= EHLO \x1b]0;owned\x07evil\x1b[0m \u009b2J end"
    event = LogEvent(
        seq=1, ts=EPOCH, level=Level.DEBUG, host="mx1", component="smtp", fmt=LineFormat.V3, text=hostile
    )
    text = "".join(to_csv([event]))
    assert "\x1b" not in text and "\x07" not in text and "\x9b" not in text
    row = list(csv.reader(io.StringIO(text)))[1]
    assert row[5] == "DEBUG  \\x1b[32m<= EHLO \\x1b]0;owned\\x07evil\\x1b[0m \\x9b2J end"


@pytest.mark.parametrize(
    ("argv", "which"),
    [
        (["review", "--since", "1d"], "no [[hosts]]"),
        (["report", "--since", "1d"], "no [[hosts]]"),
        (["report", "--since", "1d", "--host", "mx9"], "no configured host named mx9"),
    ],
)
def test_review_without_any_source_says_so(
    argv: list[str],
    which: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # with no config, review used to open on "0 failed logins from 0 IPs" (all quiet?) over no data
    for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "nothing to review" in err and which in err and "--demo" in err
