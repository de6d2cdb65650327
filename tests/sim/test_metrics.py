"""The demo's metrics: poll results whose figures equal what the simulated fleet counted."""

from __future__ import annotations

import asyncio
import math

from postaltop.core.dbmetrics import PollResult
from postaltop.core.sim import DEFAULT_START, Fleet
from postaltop.core.sim.metrics import SimMetrics, queue_depth, synthetic_history
from postaltop.core.sim.model import TALLY_FIELDS
from postaltop.core.sim.traffic import hour_of_day
from postaltop.engine import Engine
from postaltop.sources.demo_metrics import DemoMetricsSource, demo_metrics_runner

METRIC_FIELDS = {
    "outgoing": "outgoing",
    "incoming": "incoming",
    "sent": "sent",
    "soft_failed": "soft_fail",
    "hard_failed": "hard_fail",
    "held": "held",
    "bounced": "bounced",
}


def fleet_total(fleet: Fleet, server_id: int, metric: str) -> int:
    return fleet.counters.server_total(server_id, metric, -math.inf, math.inf)


def test_windows_add_up_to_what_the_fleet_counted() -> None:
    fleet = Fleet(seed=5, scenario="bounce-storm", volume=0.3)
    metrics = SimMetrics(fleet)
    results: list[PollResult] = []
    for step in range(1, 181):  # 15 minutes at a 5 s poll, onset of the storm at 10 minutes
        now = DEFAULT_START + 5 * step
        fleet.advance(now)
        results.append(metrics.poll(now))
    assert all(r.connected and len(r.samples) == 4 for r in results)
    assert all(s.window_seconds == 5.0 for r in results for s in r.samples)
    for server in fleet.installation.servers:
        for metric, field in METRIC_FIELDS.items():
            polled = sum(getattr(r.sample(server.id).counts, field) for r in results)  # type: ignore[union-attr]
            assert polled == fleet_total(fleet, server.id, metric), (server.full_permalink, metric)
    transactional = fleet.installation.server("acme/transactional").id
    assert fleet_total(fleet, transactional, "sent") > 100
    assert fleet_total(fleet, transactional, "hard_failed") > 10  # the storm shows up in the figures
    last = results[-1].sample(transactional)
    assert last is not None and last.sent_per_min == last.counts.sent * 12


def test_credentials_domains_queue_and_send_limit() -> None:
    fleet = Fleet(seed=2, volume=0.5)
    metrics = SimMetrics(fleet, top_domains=3)
    fleet.advance(DEFAULT_START + 600)
    result = metrics.poll(DEFAULT_START + 600)
    for cred in fleet.installation.credentials:
        polled = sum(c.count for c in result.credentials if c.credential_id == cred.id)
        assert polled == fleet.counters.credential_total(cred.id, "outgoing", -math.inf, math.inf)
    for server in fleet.installation.servers:
        tops = [d for d in result.domains if d.server_id == server.id]
        assert len(tops) <= 3
        totals: dict[str, int] = {}
        for bucket in fleet.counters.minutes.values():
            for (sid, domain), tally in bucket.domains.items():
                if sid == server.id:
                    totals[domain] = totals.get(domain, 0) + tally.outgoing
        expected = sorted(((-c, d) for d, c in totals.items() if c), key=lambda x: x)[:3]
        assert [(d.domain, d.count) for d in tops] == [(d, -c) for c, d in expected]
        assert tops  # every server sent something in ten minutes
        sample = result.sample(server.id)
        assert sample is not None
        assert sample.send_limit == server.send_limit
        processed = fleet.counters.server_total(server.id, "processed", DEFAULT_START, math.inf)
        assert sample.outgoing_last_hour == processed
        if server.send_limit:
            assert sample.send_limit_usage_pct == processed * 100 / server.send_limit
        else:
            assert sample.send_limit_usage_pct is None
        totals_row = [fleet_total(fleet, server.id, name) for name in TALLY_FIELDS]
        assert sample.queue_depth >= sample.queue_ready
        assert sample.queue_depth == max(queue_depth(totals_row), sample.queue_ready)
        assert sample.held_total == fleet_total(fleet, server.id, "held")
    staging = result.sample(fleet.installation.server("globex/staging").id)
    assert staging is not None and staging.held_total > 0  # development mode holds everything
    infos = {s.full_permalink: s for s in result.servers}
    assert infos["globex/staging"].mode == "Development"
    assert infos["acme/newsletters"].send_limit == 20000
    assert infos["globex/app"].message_db == "postal-server-3"


def test_suspension_shows_in_server_info() -> None:
    fleet = Fleet(seed=2, volume=0.1)
    metrics = SimMetrics(fleet)
    fleet.installation.organizations[1].suspended = True
    fleet.advance(DEFAULT_START + 60)
    result = metrics.poll(DEFAULT_START + 60)
    suspended = {s.full_permalink for s in result.servers if s.suspended}
    assert suspended == {"globex/app", "globex/staging"}


def test_catch_up_gives_exact_minutes_then_live_polls() -> None:
    start = DEFAULT_START + 17.5  # not minute aligned, like the demo's
    fleet = Fleet(seed=4, start=start, volume=0.3)
    source = DemoMetricsSource(fleet, speed=60, interval=5)
    fleet.advance(start + 300)
    first = source.poll_now()
    # Minutes ending at boundaries start+42.5, +102.5 ... then one live poll at the position.
    boundaries = [r.started_at for r in first[:-1]]
    assert boundaries == [DEFAULT_START + 60 * (i + 1) for i in range(len(boundaries))]
    assert len(boundaries) == 5 and first[-1].started_at == start + 300
    sid = 1
    for result in first[:-1]:
        minute = result.started_at - 60
        sample = result.sample(sid)
        assert sample is not None
        assert sample.counts.outgoing == fleet.counters.server_total(sid, "outgoing", minute, minute + 60)
    fleet.advance(start + 330)
    later = source.poll_now()
    assert len(later) == 1 and later[0].samples[0].window_seconds == 30
    total = sum(r.sample(sid).counts.sent for r in first + later)  # type: ignore[union-attr]
    assert total == fleet_total(fleet, sid, "sent")


def test_history_covers_four_weeks_with_seasonality() -> None:
    fleet = Fleet(seed=1, volume=0.2)
    fleet.advance(DEFAULT_START + 1800)
    points = synthetic_history(fleet, fleet.position, weeks=4)
    hourly = [p for p in points if p.server_id == 1 and p.granularity == "hour"]
    daily = [p for p in points if p.server_id == 1 and p.granularity == "day"]
    assert len(hourly) >= 4 * 7 * 24 and len(daily) >= 28
    assert hourly == sorted(hourly, key=lambda p: p.time)
    assert all(p.time % 3600 == 0 for p in hourly) and all(p.time % 86400 == 0 for p in daily)
    nights = [p.outgoing for p in hourly if 2 <= hour_of_day(p.time) < 4 and p.time < fleet.start]
    mornings = [p.outgoing for p in hourly if 10 <= hour_of_day(p.time) < 12 and p.time < fleet.start]
    assert sum(mornings) / len(mornings) > 4 * sum(nights) / len(nights)
    # The hour the simulation ran in: the counted part equals the fleet's counters.
    current = hourly[-1]
    assert current.time == 1777366800
    assert current.outgoing == fleet.counters.server_total(1, "outgoing", current.time, current.time + 3600)
    assert synthetic_history(fleet, fleet.position, weeks=4) == points  # deterministic
    staging = [p for p in points if p.server_id == 4 and p.granularity == "day" and p.time < fleet.start]
    assert all(p.held == p.outgoing for p in staging)


async def test_runner_publishes_into_the_engine() -> None:
    fleet = Fleet(seed=3, volume=0.2)
    engine = Engine(retained_lines=1000)
    seen: list[PollResult] = []
    engine.on_metrics(seen.append)
    source = DemoMetricsSource(fleet, speed=60, interval=5, min_real_gap=0.01)
    task = asyncio.create_task(
        demo_metrics_runner(engine, fleet, 60, source=source, live_from=fleet.start + 120)
    )
    await asyncio.sleep(0.1)
    assert not seen  # waits for the backfill
    fleet.advance(fleet.start + 120)
    async with asyncio.timeout(5):
        while len(seen) < 2:
            await asyncio.sleep(0.01)
    assert [r.started_at - fleet.start for r in seen] == [60, 120]  # the backfill, minute by minute
    fleet.advance(fleet.start + 130)
    async with asyncio.timeout(5):
        while len(seen) < 3:
            await asyncio.sleep(0.01)
    task.cancel()
    assert engine.latest_metrics is seen[-1]
    assert sum(r.sample(1).counts.outgoing for r in seen) == fleet_total(fleet, 1, "outgoing")  # type: ignore[union-attr]
