"""The servers table on the real database: every figure equals an independent SQL count."""

# ruff: noqa: S608  # identifiers are the fixture's random `pt_<hex>` names; values are parameters

from __future__ import annotations

import math

import pytest

from postaltop.engine import Engine
from postaltop.sources.postal_db import PostalDbSource
from postaltop.ui.app import PostaltopApp
from tests.support.mysql import fetch_all
from tests.support.postal_builder import Dataset

pytestmark = pytest.mark.mysql


async def test_table_figures_equal_sql_counts(
    source: PostalDbSource, dataset: Dataset, admin: object
) -> None:
    engine = Engine(retained_lines=1000)
    result = await source.poll_once()
    engine.publish_metrics(result)
    app = PostaltopApp(engine, run_engine=False, persist_filters=False, mode="test")
    async with app.run_test(size=(150, 40)) as pilot:
        await pilot.press("s")
        await pilot.pause()
        table = app.main().servers_table
        dt = table.table
        rows = {str(dt.get_row_at(i)[0]): [str(c) for c in dt.get_row_at(i)] for i in range(dt.row_count)}
        live = fetch_all(
            admin,
            "SELECT s.id, o.permalink, s.permalink, s.mode, "
            "s.suspended_at IS NOT NULL OR o.suspended_at IS NOT NULL, "
            "s.send_limit "
            f"FROM `{dataset.prefix}`.servers s JOIN `{dataset.prefix}`.organizations o "
            "ON o.id = s.organization_id WHERE s.deleted_at IS NULL AND o.deleted_at IS NULL",
        )
        assert set(rows) == {f"{org}/{srv}" for _i, org, srv, *_ in live}
        for sid, org, srv, mode, suspended, limit in live:
            row = rows[f"{org}/{srv}"]
            assert row[1] == mode
            assert row[2] == ("yes" if suspended else "")
            if not dataset.servers[sid].has_db:
                assert row[10] == "no message DB" and row[3] == "-"
                continue
            assert row[10] == "ok"
            db = dataset.message_db(sid)
            (queued,) = fetch_all(
                admin, f"SELECT COUNT(*) FROM `{dataset.prefix}`.queued_messages WHERE server_id = %s", (sid,)
            )[0]
            assert row[5] == f"{queued:,}"
            (held,) = fetch_all(admin, f"SELECT COUNT(*) FROM {db}.messages WHERE held = 1")[0]
            assert row[4] == f"{held:,}"
            sample = result.sample(sid)
            assert sample is not None
            threshold = math.floor((int(sample.sampled_at) - 3600) / 60) * 60
            (volume,) = fetch_all(
                admin,
                f"SELECT COALESCE(SUM(count), 0) FROM {db}.live_stats "
                "WHERE type = 'outgoing' AND timestamp > %s",
                (threshold,),
            )[0]
            assert row[9] == ("-" if limit is None else f"{int(volume) * 100 / limit:,.1f}")
            # Sent/min over the poll's window: Sent deliveries of outgoing messages since the window start.
            since = sample.sampled_at - sample.window_seconds
            (sent,) = fetch_all(
                admin,
                f"SELECT COUNT(*) FROM {db}.deliveries d JOIN {db}.messages m ON m.id = d.message_id "
                "WHERE m.scope = 'outgoing' AND d.status = 'Sent' AND d.timestamp >= %s",
                (since,),
            )[0]
            assert row[3] == f"{sent * 60 / sample.window_seconds:,.1f}"
        assert any(r[5] != "0" for r in rows.values())
        assert "ok" in str(table.query_one("#servers-caption").render()) or result.errors
