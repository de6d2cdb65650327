"""The log panel never shows a stale count or acts on a line that is not in the view (Pilot)."""

from __future__ import annotations

from postaltop.ui.screens.detail import DetailScreen
from tests.ui import feed, feed_raw, make_app, make_engine, sim_lines
from tests.ui.test_app_pilot import SIZE, apply_filter, filter_status, ready, status_text

LINES = sim_lines(30)
STAMP = b"2026-04-28 09:00:01 +0000 "


async def test_the_count_beside_the_filter_always_matches_the_view_and_the_status_line() -> None:
    engine = make_engine()
    app = make_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.main()
        feed(engine, LINES[:1000])
        screen.sync()
        feed(engine, LINES[1000:1200])
        screen.sync(hosts=False)  # a second frame right after the first: no throttle may keep 1,000
        await pilot.pause()
        assert len(screen.view) == len(engine.store) == 1200
        assert filter_status(app) == "1,200 lines"
        assert "1,200 lines retained" in status_text(app)
        await apply_filter(pilot, "rcpt")
        feed(engine, LINES[1200:1500])
        screen.sync(hosts=False)
        await pilot.pause()
        assert filter_status(app) == f"{len(screen.view):,} of 1,500"
        assert "1,500 lines retained" in status_text(app)


async def test_status_line_says_when_the_retention_limit_dropped_lines() -> None:
    engine = make_engine(retained_lines=500)
    feed(engine, LINES[:800])
    app = make_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        assert "500 lines retained (limit: 300 oldest dropped)" in status_text(app)


async def test_a_filter_applied_while_paused_selects_a_row_of_the_new_view() -> None:
    engine = make_engine()
    feed(engine, LINES[:600])
    feed_raw(engine, "mx1", "worker", [STAMP + b"INFO   needle-in-the-haystack component=worker"])
    feed(engine, LINES[600:1200])
    app = make_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        screen = app.main()
        panel = screen.panel
        await pilot.press("up", "up", "up")  # paused on a line that will not match
        old = panel.selected_seq
        assert not panel.follow and old is not None
        await apply_filter(pilot, "needle-in-the-haystack")
        assert len(screen.view) == 1
        assert filter_status(app) == f"1 of {len(engine.store):,}"
        only = screen.view.seq_at(0)
        assert panel.selected_seq == only != old
        assert panel.rendered_cursor_seq == only  # the highlight is drawn on it
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen)
        assert app.screen.event.seq == only
        assert "needle-in-the-haystack" in app.screen.message


async def test_enter_does_nothing_when_the_paused_view_is_empty() -> None:
    engine = make_engine()
    feed(engine, LINES[:600])
    app = make_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        screen = app.main()
        await pilot.press("up", "up")
        await apply_filter(pilot, "no-line-has-this-text")
        assert len(screen.view) == 0
        assert screen.panel.selected_seq is None
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is screen  # no detail of a line that is not shown


async def test_detail_of_a_split_net_smtp_error_shows_one_record_with_its_tags() -> None:
    engine = make_engine()
    feed(engine, LINES[:300])
    first = feed_raw(
        engine,
        "mx1",
        "worker",
        [
            STAMP + b"ERROR  Net::SMTPServerBusy: 421 4.7.0 Try again later, closing connection.",
            b" log_id=B8QP4ZNE component=worker thread=work1 original_queued_message=88530"
            b" queued_message=88530",
        ],
    )
    assert first == 2
    app = make_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        panel = app.main().panel
        assert panel.render_line(panel.scrollable_content_region.height - 1).text.split()[3] == "↳"
        await pilot.press("enter")  # on the newest row: the tags line
        await pilot.pause()
        detail = app.screen
        assert isinstance(detail, DetailScreen)
        assert detail.event.level.name == "ERROR"
        assert "Net::SMTPServerBusy: 421" in detail.message
        tags = dict(detail.tags)
        assert tags["log_id"] == "B8QP4ZNE" and tags["queued_message"] == "88530"
        assert len(detail.tags) == 5
        assert dict(detail.fixed)["line"].endswith("(2 physical lines)")


async def test_a_line_that_arrived_after_later_lines_is_marked() -> None:
    engine = make_engine()
    feed_raw(engine, "mx1", "worker", [b"2026-04-28 09:23:50 +0000 INFO   first component=worker"])
    feed_raw(engine, "mx2", "worker", [b"2026-04-28 09:23:48 +0000 INFO   late component=worker"])
    feed_raw(engine, "mx2", "worker", [b"2026-04-28 09:23:49 +0000 INFO   also late component=worker"])
    feed_raw(engine, "mx1", "worker", [b"2026-04-28 09:23:51 +0000 INFO   in order component=worker"])
    app = make_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        panel = app.main().panel
        rows = [panel.render_line(y).text for y in range(4)]
        assert [row[8] for row in rows] == [" ", "↑", " ", " "], rows
        assert rows[1].startswith("09:23:48↑mx2")


async def test_long_lines_scroll_sideways_and_nothing_is_cut_for_good() -> None:
    engine = make_engine()
    tail = " ".join(f"word{i:03d}" for i in range(60))  # ~480 characters
    feed_raw(
        engine, "mx1", "worker", [STAMP + b"INFO   start " + tail.encode() + b" THE-END component=worker"]
    )
    app = make_app(engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(app, pilot)
        panel = app.main().panel
        first = panel.render_line(0).text
        assert "start word000" in first and first.rstrip().endswith("»") and "THE-END" not in first
        for _ in range(80):
            await pilot.press("right")
            row = panel.render_line(0).text
            if not row.rstrip().endswith("»"):
                break
        assert row.rstrip().endswith("THE-END component=worker")
        assert "«" in panel.render_line(0).text
        await pilot.press("H")
        assert panel.render_line(0).text == first


async def test_the_detail_view_wraps_a_long_line_whole() -> None:
    engine = make_engine()
    tail = " ".join(f"word{i:03d}" for i in range(60))
    feed_raw(
        engine, "mx1", "worker", [STAMP + b"INFO   start " + tail.encode() + b" THE-END component=worker"]
    )
    app = make_app(engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(app, pilot)
        await pilot.press("enter")
        await pilot.pause()
        detail = app.screen
        assert isinstance(detail, DetailScreen)
        for part in ("#detail-message", "#detail-raw"):
            widget = detail.query_one(part)
            rows = [strip.text for strip in widget.render_lines(widget.region.reset_offset)]
            text = " ".join(r.strip() for r in rows)
            assert len(rows) >= 5 and "word059 THE-END" in text, (part, rows)
            assert all(len(r.rstrip()) <= 100 for r in rows)
