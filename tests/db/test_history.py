"""History for baselines: 4 weeks of stats_hourly / stats_daily per server."""

# ruff: noqa: S608  # identifiers here are the fixture's random `pt_<hex>` names; values are parameters

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import pytest

from postaltop.sources.postal_db import PostalDbSource
from tests.support.mysql import fetch_all
from tests.support.postal_builder import Dataset

pytestmark = pytest.mark.mysql


async def test_history_matches_an_independent_aggregation(
    source: PostalDbSource, dataset: Dataset, admin: Any
) -> None:
    points = await source.history(weeks=4, now=dataset.now)
    servers = {p.server_id for p in points}
    assert servers == {1, 2, 3, 4, 5}  # 6 has no message DB: skipped, not an exception
    sid = 2
    hourly = {p.time: p for p in points if p.server_id == sid and p.granularity == "hour"}
    daily = {p.time: p for p in points if p.server_id == sid and p.granularity == "day"}
    assert (
        min(hourly) <= dataset.now - 27.9 * 86400 and len(hourly) >= 20 * 24
    )  # quiet hours have no row, as in Postal
    assert 28 <= len(daily) <= 30
    db = dataset.message_db(sid)
    # Outgoing/incoming per hour from the message rows themselves (rows added by other tests are newer).
    rows = fetch_all(
        admin,
        f"SELECT FLOOR(timestamp / 3600) * 3600 AS h, SUM(scope = 'outgoing'), SUM(scope = 'incoming') "
        f"FROM {db}.messages WHERE timestamp < %s AND timestamp >= %s GROUP BY h",
        (dataset.now, min(hourly)),
    )
    assert len(rows) > 500
    for hour, outgoing, incoming in rows:
        point = hourly[int(hour)]
        assert (point.outgoing, point.incoming) == (int(outgoing), int(incoming)), hour
    # Bounces per day from deliveries (Postal counts HardFail and Bounced), compared with the daily rows.
    per_day: dict[int, int] = defaultdict(int)
    for (ts,) in fetch_all(
        admin, f"SELECT timestamp FROM {db}.deliveries WHERE status IN ('HardFail', 'Bounced')"
    ):
        if ts < dataset.now:
            per_day[int(ts) - int(ts) % 86400] += 1
    for day, point in daily.items():
        assert point.bounces == per_day.get(day, 0), day
    assert all(p.spam == 0 for p in points)  # NULL in Postal's rows (never incremented) reads as 0


async def test_history_shows_daily_and_weekly_seasonality(source: PostalDbSource, dataset: Dataset) -> None:
    points = [p for p in await source.history(now=dataset.now) if p.server_id == 1]
    by_hour: dict[int, list[int]] = defaultdict(list)
    weekday: list[int] = []
    weekend: list[int] = []
    for p in points:
        when = datetime.fromtimestamp(p.time, UTC)
        if p.granularity == "hour":
            if p.time + 3600 <= dataset.now - 3600:  # not the denser last hour (it failed at 03-05 UTC)
                by_hour[when.hour].append(p.outgoing)
        elif p.time + 86400 <= dataset.now - 3600 and p.time >= dataset.now - 27 * 86400:  # whole days only
            (weekend if when.weekday() >= 5 else weekday).append(p.outgoing)
    mean = {h: sum(v) / len(v) for h, v in by_hour.items()}
    assert mean[14] > 2 * mean[3]  # afternoon peak vs night
    assert sum(weekday) / len(weekday) > 1.5 * sum(weekend) / len(weekend)
