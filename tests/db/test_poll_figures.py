"""Every poll figure against an independent count written differently (full scans are fine here)."""

# ruff: noqa: S608  # identifiers here are the fixture's random `pt_<hex>` names; values are parameters

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from postaltop.core.dbmetrics import live_stats_threshold, rate_per_minute, send_limit_usage_pct
from postaltop.sources.postal_db import PostalDbSource
from tests.support.mysql import fetch_all
from tests.support.postal_builder import Dataset, add_traffic

pytestmark = pytest.mark.mysql


async def test_queue_held_and_send_limit_figures(
    source: PostalDbSource, dataset: Dataset, admin: object
) -> None:
    result = await source.poll_once()
    assert result.connected and result.queries > 0
    checked = 0
    for sid in (1, 2, 3, 4, 5):
        sample = result.sample(sid)
        assert sample is not None and not sample.stale
        db = dataset.message_db(sid)
        # Queue: one row per queued message; written per row instead of GROUP BY.
        queue = fetch_all(
            admin,
            "SELECT locked_at, attempts, retry_after, created_at, UTC_TIMESTAMP(6) "
            f"FROM `{dataset.prefix}`.queued_messages WHERE server_id = %s",
            (sid,),
        )
        assert sample.queue_depth == len(queue)
        assert sample.queue_locked == sum(1 for r in queue if r[0] is not None)
        assert sample.queue_retrying == sum(1 for r in queue if r[1] > 0)
        assert sample.queue_ready == sum(1 for r in queue if r[2] is None or r[2] < r[4])
        if queue:
            oldest = (queue[0][4] - min(r[3] for r in queue)).total_seconds()
            assert sample.oldest_queued_age == pytest.approx(oldest, abs=2.0)
            checked += 1
        else:
            assert sample.oldest_queued_age is None
        # Held: summed over the whole table rather than counted on the index.
        (held,) = fetch_all(admin, f"SELECT COALESCE(SUM(held), 0) FROM {db}.messages")[0]
        assert sample.held_total == int(held)
        # live_stats: Postal's threshold applied in Python to every row.
        rows = fetch_all(admin, f"SELECT type, count, timestamp FROM {db}.live_stats")
        threshold = math.floor((int(sample.sampled_at) - 3600) / 60) * 60
        outgoing = sum(c for t, c, ts in rows if t == "outgoing" and ts > threshold)
        assert sample.outgoing_last_hour == outgoing
        assert sample.incoming_last_hour == sum(c for t, c, ts in rows if t == "incoming" and ts > threshold)
        limit = dataset.servers[sid].send_limit
        if limit is None:
            assert sample.send_limit_usage_pct is None
        else:
            assert sample.send_limit_usage_pct == pytest.approx(outgoing / limit * 100)
    assert checked >= 2, "the dataset should have queued messages on several servers"
    assert result.sample(2).send_limit_usage_pct > 50  # type: ignore[union-attr]


async def test_first_poll_seeds_the_last_minute(
    source: PostalDbSource, dataset: Dataset, admin: object
) -> None:
    result = await source.poll_once()
    for sid in (1, 2, 3):
        sample = result.sample(sid)
        assert sample is not None and sample.window_seconds == 60.0
        since = Decimal(repr(sample.sampled_at)) - 60
        db = dataset.message_db(sid)
        scopes = dict(
            fetch_all(
                admin,
                f"SELECT scope, COUNT(*) FROM {db}.messages WHERE timestamp >= %s GROUP BY scope",
                (since,),
            )
        )
        assert sample.counts.outgoing == scopes.get("outgoing", 0)
        assert sample.counts.incoming == scopes.get("incoming", 0)
        statuses = fetch_all(
            admin,
            f"SELECT d.status FROM {db}.deliveries d, {db}.messages m WHERE m.id = d.message_id AND "
            "m.scope = 'outgoing' AND d.timestamp >= %s",
            (since,),
        )
        assert sample.counts.sent == sum(1 for (s,) in statuses if s == "Sent")
        assert sample.counts.held == sum(1 for (s,) in statuses if s == "Held")


async def test_id_window_counts_rates_credentials_and_domains(
    source: PostalDbSource, dataset: Dataset, admin: object
) -> None:
    sid = 1
    creds = [cid for cid, (server, _n, _t) in dataset.credentials.items() if server == sid]
    a, b = creds[0], creds[1]
    await source.poll_once()  # seeds the window
    db = dataset.message_db(sid)
    (before,) = fetch_all(admin, f"SELECT MAX(id) FROM {db}.messages")[0]
    traffic = (
        [("outgoing", a, f"u{i}@Gmail.com", "Sent", 0) for i in range(7)]
        + [("outgoing", b, f"v{i}@yahoo.com", "SoftFail", 0) for i in range(3)]
        + [("outgoing", b, f"w{i}@corp.example", "HardFail", 1) for i in range(2)]
        + [("outgoing", a, "h@gmail.com", "Held", 0), ("outgoing", a, "b@outlook.com", "Bounced", 0)]
        + [("outgoing", b, f"p{i}@outlook.com", None, 0) for i in range(2)]
        + [("incoming", None, f"in{i}@acme.example", "Processed", 0) for i in range(4)]
    )
    add_traffic(admin, dataset.prefix, sid, traffic)  # type: ignore[arg-type]
    result = await source.poll_once()
    sample = result.sample(sid)
    assert sample is not None and not sample.stale and sample.window_seconds > 0
    c = sample.counts
    assert (c.sent, c.soft_fail, c.hard_fail, c.held, c.bounced, c.spam) == (7, 3, 2, 1, 1, 2)
    assert (c.outgoing, c.incoming) == (16, 4)
    # The same figures, counted independently over the new id range.
    new = fetch_all(
        admin, f"SELECT scope, credential_id, rcpt_to FROM {db}.messages WHERE id > %s", (before,)
    )
    assert c.outgoing == sum(1 for s, _c, _r in new if s == "outgoing")
    assert sample.sent_per_min == pytest.approx(7 * 60 / sample.window_seconds)
    assert sample.incoming_per_min == pytest.approx(4 * 60 / sample.window_seconds)
    mine = {cs.credential_id: cs for cs in result.credentials if cs.server_id == sid}
    assert mine[a].count == sum(1 for _s, cred, _r in new if cred == a) == 9
    assert mine[b].count == 7
    assert (mine[a].name, mine[a].type) == dataset.credentials[a][1:]
    assert mine[a].per_minute == pytest.approx(9 * 60 / sample.window_seconds)
    keys = [k for (k,) in fetch_all(admin, f"SELECT `key` FROM `{dataset.prefix}`.credentials")]
    assert not any(k in repr(result) for k in keys if len(k) > 12), "a credential key leaked into the result"
    domains = [(d.domain, d.count) for d in result.domains if d.server_id == sid]
    assert domains[:3] == [("gmail.com", 8), ("outlook.com", 3), ("yahoo.com", 3)]
    assert ("acme.example", 4) not in domains  # incoming recipients are not "top recipient domains"
    # Nothing new: an empty window, no double counting.
    again = (await source.poll_once()).sample(sid)
    assert again is not None and again.counts.outgoing == 0 and again.counts.sent == 0


def test_rate_and_send_limit_arithmetic() -> None:
    assert rate_per_minute(10, 5.0) == 120.0 and rate_per_minute(3, 0.0) == 0.0
    assert send_limit_usage_pct(150, 300) == 50.0
    assert send_limit_usage_pct(5, None) is None
    assert send_limit_usage_pct(0, 0) == 100.0  # limit 0: Postal holds everything
    assert live_stats_threshold(1_000_000_059.9) == 999_996_420.0  # start of the minute 60 minutes ago
