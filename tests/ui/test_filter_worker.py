"""Filters over a large store are applied in a worker thread; the old result stays until the new one is in."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from textual.pilot import Pilot

from postaltop.engine import Engine
from postaltop.ui.app import PostaltopApp
from tests.ui import feed, make_app, make_engine
from tests.ui.test_app_pilot import LINES, SIZE, filter_status, ready


@contextlib.asynccontextmanager
async def large_store_app() -> AsyncIterator[tuple[Engine, int, PostaltopApp, Pilot[int]]]:
    """The app on LINES (engine, line count, app, pilot), with a threshold that makes this store large."""
    engine = make_engine()
    total = feed(engine, LINES)
    app = make_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        app.main().ASYNC_FILTER_LINES = 100  # this store counts as large
        yield engine, total, app, pilot


async def test_large_store_filter_is_applied_off_the_loop_and_shown_when_ready() -> None:
    async with large_store_app() as (engine, total, app, pilot):
        screen = app.main()
        assert screen.apply_filter("rcpt", final=True)
        assert screen.view.query is None  # not yet: the old (unfiltered) result stays on screen
        await app.workers.wait_for_complete()
        await pilot.pause()
        matched = len(screen.view)
        assert screen.view.query is not None and 0 < matched < total
        assert all("rcpt" in engine.store.event(s).text.lower() for s in screen.view.seqs(0, matched))
        assert filter_status(app) == f"{matched:,} of {total:,}"
        assert screen.filter_bar.history[-1] == "rcpt"


async def test_a_newer_filter_wins_over_a_slower_older_one() -> None:
    async with large_store_app() as (_engine, _total, app, pilot):
        screen = app.main()
        screen.apply_filter("rcpt", final=False)
        screen.apply_filter("ehlo", final=False)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert screen.view.query is not None and screen.view.query.text == "ehlo"
        assert screen.filter_bar.active_text == "ehlo"
        # A small store (the default threshold) is still filtered at once.
        screen.ASYNC_FILTER_LINES = 10**9
        assert screen.apply_filter("rcpt", final=False)
        assert screen.view.query is not None and screen.view.query.text == "rcpt"
