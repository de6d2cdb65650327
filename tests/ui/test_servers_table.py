"""The servers table in the main screen: figures from the demo fleet, sorting, narrowing the log."""

from __future__ import annotations

import math
import re
from typing import Any

from postaltop.core.sim import Fleet
from postaltop.core.sim.metrics import SimMetrics
from postaltop.ui.widgets.servers_table import COLUMN_KEYS, ServersTable, format_age, narrowing_filter
from tests.ui import EPOCH, feed, make_app, make_engine

SIZE = (140, 40)


def demo_engine(seconds: float = 300, step: float = 5.0) -> tuple[Any, Fleet, SimMetrics]:
    fleet = Fleet(seed=1, start=EPOCH, volume=0.5)
    engine = make_engine()
    metrics = SimMetrics(fleet)
    now = EPOCH
    while now < EPOCH + seconds:
        now += step
        feed(engine, fleet.advance(now))
        engine.publish_metrics(metrics.poll(now))
    return engine, fleet, metrics


def cell_texts(table: ServersTable) -> list[list[str]]:
    dt = table.table
    return [[str(c) for c in dt.get_row_at(i)] for i in range(dt.row_count)]


async def test_hidden_until_s_then_shows_the_fleets_figures() -> None:
    engine, fleet, _ = demo_engine()
    app = make_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        table = app.main().servers_table
        assert not table.display or not table.has_class("-shown")
        assert table.region.height == 0  # hidden by default: the main screen keeps its layout
        await pilot.press("s")
        await pilot.pause()
        assert table.has_class("-shown") and table.region.height > 3
        assert table.table.has_focus
        rows = cell_texts(table)
        assert [r[0] for r in rows] == sorted(s.full_permalink for s in fleet.installation.servers)
        latest = engine.latest_metrics
        for server in fleet.installation.servers:
            row = next(r for r in rows if r[0] == server.full_permalink)
            window_start = EPOCH + 295
            counters = fleet.counters
            sample = latest.sample(server.id)
            # Sent/min of the last window, re-derived from the fleet's running totals.
            sent_total = counters.server_total(server.id, "sent", -math.inf, math.inf)
            earlier = sum(r.sample(server.id).counts.sent for r in list(engine.metrics_history)[:-1])
            assert sample.counts.sent == sent_total - earlier
            assert row[3] == f"{sample.counts.sent * 60 / 5:,.1f}"
            held = counters.server_total(server.id, "held", -math.inf, math.inf)
            assert row[4] == f"{held:,}"
            assert row[1] == server.mode
            assert row[10] == "ok"
            limit = server.send_limit
            processed = counters.server_total(server.id, "processed", window_start - 3600, math.inf)
            assert row[9] == ("-" if limit is None else f"{processed * 100 / limit:,.1f}")
        staging = next(r for r in rows if r[0] == "globex/staging")
        assert int(staging[4].replace(",", "")) > 0  # development mode holds everything
        await pilot.press("s")
        await pilot.pause()
        assert not table.has_class("-shown") and app.main().panel.has_focus


async def test_sort_cycles_and_reverses_with_the_column_in_the_header() -> None:
    engine, _fleet, _ = demo_engine()
    app = make_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s")
        await pilot.pause()
        table = app.main().servers_table
        assert "▲" in str(table.table.columns["name"].label)
        await pilot.press("o", "o", "o")  # name -> mode -> suspended -> sent
        await pilot.pause()
        assert table.sort_key == "sent" == COLUMN_KEYS[3]
        assert str(table.table.columns["sent"].label) == "Sent/min ▼"
        assert "sort: Sent/min" in str(table.query_one("#servers-caption").render())
        rates = [r.sent_per_min for r in table.rows]
        assert rates == sorted(rates, reverse=True) and rates[0] > rates[-1]
        await pilot.press("O")
        await pilot.pause()
        assert [r.sent_per_min for r in table.rows] == sorted(rates)
        assert str(table.table.columns["sent"].label) == "Sent/min ▲"
        names = [r[0] for r in cell_texts(table)]
        assert names[0] == table.rows[0].name


async def test_enter_narrows_the_log_to_the_server_with_a_visible_filter() -> None:
    engine, fleet, _ = demo_engine(seconds=120)
    app = make_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.main()
        await pilot.press("s")
        await pilot.pause()
        table = screen.servers_table
        target = next(i for i, r in enumerate(table.rows) if r.name == "acme/transactional")
        table.table.move_cursor(row=target)
        await pilot.press("enter")
        await pilot.pause()
        info = fleet.installation.server("acme/transactional")
        expected_filter = narrowing_filter(next(s for s in engine.latest_metrics.servers if s.id == info.id))
        assert screen.filter_bar.active_text == expected_filter
        assert screen.filter_bar.input.value == expected_filter
        # Independently: the retained lines that name this server, and only those.
        store = engine.store
        pattern = re.compile(
            r"Granted for acme/transactional( |$)|Sending message 1::|bounce on server 1( |$)"
        )
        expected = [
            seq
            for seq in range(store.start_seq, store.end_seq)
            if pattern.search(store.raw(seq).decode("utf-8", "replace"))
        ]
        count = len(screen.view)
        assert count == len(expected) > 10
        all_lines = len(store)
        assert count < all_lines
        # Clearing the filter brings every line back.
        screen.action_clear_filter()
        await pilot.pause()
        assert len(screen.view) == all_lines


def test_format_age() -> None:
    assert [format_age(x) for x in (None, 5, 65, 7440)] == ["-", "5s", "1m05s", "2h04m"]


async def test_caption_shows_queue_latency_from_health_metrics() -> None:
    from dataclasses import replace

    from postaltop.core.dbmetrics import HealthSample

    engine, _fleet, _ = demo_engine(seconds=30)
    latest = engine.latest_metrics
    worker = HealthSample("mx1", "worker", EPOCH, True, queue_latency_mean=1.25, queue_latency_p95=3.5)
    engine.publish_metrics(
        replace(latest, health=(worker, HealthSample("mx2", "worker", EPOCH, False, "down")))
    )
    app = make_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s")
        await pilot.pause()
        caption = str(app.main().servers_table.query_one("#servers-caption").render())
        assert "queue latency mx1 1.2 s (p95 3.5 s), mx2 ?" in caption


async def test_demo_wiring_fills_the_table_from_the_running_fleet() -> None:
    """As ``run_demo`` wires it: the log source advances the fleet, the metrics runner polls it."""
    import asyncio

    from postaltop.sources.demo import DemoSource
    from postaltop.sources.demo_metrics import demo_metrics_runner
    from postaltop.ui.app import PostaltopApp

    fleet = Fleet(seed=2, start=EPOCH, volume=0.2)
    engine = make_engine()
    source = DemoSource(fleet, speed=60, backfill=120, tick=0.05)
    app = PostaltopApp(
        engine,
        mode="demo",
        persist_filters=False,
        sources=[
            lambda: engine.run_batches(source.batches(), state="demo"),
            lambda: demo_metrics_runner(engine, fleet, 60, live_from=EPOCH + 120),
        ],
    )
    async with app.run_test(size=SIZE) as pilot:
        async with asyncio.timeout(30):
            while engine.latest_metrics is None or len(engine.metrics_history) < 3:
                await asyncio.sleep(0.05)
        await pilot.press("s")
        await pilot.pause(0.7)
        table = app.main().servers_table
        assert [r.name for r in table.rows] == sorted(s.full_permalink for s in fleet.installation.servers)
        history = list(engine.metrics_history)
        assert [r.started_at for r in history[:2]] == [EPOCH + 60, EPOCH + 120]  # the backfill minutes
        sent = sum(r.sample(1).counts.sent for r in history)  # type: ignore[union-attr]
        assert 0 < sent <= fleet.counters.server_total(1, "sent", -math.inf, math.inf)
