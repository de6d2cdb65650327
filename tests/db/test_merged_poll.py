"""Merged poll statements: few round trips, the same figures as reading each server on its own."""

from __future__ import annotations

from typing import Any

import pytest

from postaltop.config import DatabaseConfig
from postaltop.sources.postal_db import PostalDbSource
from tests.support.postal_builder import Dataset, add_traffic

pytestmark = pytest.mark.mysql


async def test_merged_and_one_by_one_agree_with_few_round_trips(
    db_config: DatabaseConfig, dataset: Dataset, admin: Any
) -> None:
    merged = PostalDbSource(db_config, environ={})
    single = PostalDbSource(db_config, environ={})
    single.merge_queries = False
    await merged.connect()
    await single.connect()
    try:
        await merged.poll_once()
        await single.poll_once()
        for sid in (1, 2, 3):
            add_traffic(admin, dataset.prefix, sid, [
                ("outgoing", None, f"x{i}@gmail.com", "Sent" if i % 3 else "HardFail", 0) for i in range(6)
            ])  # fmt: skip
        a = await merged.poll_once()
        b = await single.poll_once()
        live = [s for s in a.servers if s.message_db_exists]
        # servers + queue + merged scalars + merged windows, plus the scalars of the one missing database.
        missing = len(a.servers) - len(live)
        assert a.queries == 4 + missing
        assert b.queries > a.queries + len(live)
        for server in live:
            x, y = a.sample(server.id), b.sample(server.id)
            assert x is not None and y is not None and not x.stale and not y.stale
            assert x.counts == y.counts
            assert (x.queue_depth, x.held_total, x.outgoing_last_hour) == (
                y.queue_depth,
                y.held_total,
                y.outgoing_last_hour,
            )
        for sid in (1, 2, 3):
            counts = a.sample(sid).counts  # type: ignore[union-attr]
            assert (counts.sent, counts.hard_fail, counts.outgoing) == (4, 2, 6)
        assert sorted((d.server_id, d.domain, d.count) for d in a.domains) == sorted(
            (d.server_id, d.domain, d.count) for d in b.domains
        )
    finally:
        await merged.close()
        await single.close()
