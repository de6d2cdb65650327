"""Baselines for every scope at first connect: recipient domains learn their hourly volume from the message
history before the backfill (one aggregated query per server), as credentials do."""

# ruff: noqa: S608  # identifiers: the test installation's generated pt_* database names; values: params

from __future__ import annotations

import time

import pytest

from postaltop.core.alerts import Scope, ScopeKind, Severity
from postaltop.core.connect_state import OTHER_DOMAIN
from tests.support import mysql
from tests.support.incident_db import installation, shift_to
from tests.support.incident_run import installation_db, watching

pytestmark = pytest.mark.mysql

WEDNESDAY = 2


async def test_recipient_domains_get_hourly_baselines_from_the_history_before_the_window(
    mysql_target: mysql.MysqlTarget,
) -> None:
    now = time.time()
    servers = installation()
    with installation_db(mysql_target, servers, [], shift=shift_to(now, WEDNESDAY, 15)) as (writer, config):
        async with watching(config) as watch:
            assert await watch.until(lambda: watch.monitor.connect_state is not None and watch.polls >= 2, 90)
            monitor = watch.monitor
            state = monitor.connect_state
            assert state is not None and state.backfill is not None and state.domain_hours
            start = state.backfill.start
            since, before = state.credential_since, start
            assert all(since <= h.hour and h.hour < before for h in state.domain_hours)
            # independently: the messages each server sent to each domain it read, per whole hour
            tops = {(h.server_id, h.domain) for h in state.domain_hours if h.domain != OTHER_DOMAIN}
            expected: dict[tuple[str, int], float] = {}
            conn = mysql.connect(mysql_target)
            try:
                with conn.cursor() as cur:
                    for sid, domain in sorted(tops):
                        cur.execute(
                            "SELECT FLOOR(`timestamp` / 3600) * 3600, COUNT(*) "
                            f"FROM {writer.db(sid)}.messages "
                            "WHERE scope = 'outgoing' AND rcpt_to LIKE %s AND `timestamp` >= %s "
                            "AND `timestamp` < %s GROUP BY 1",
                            (f"%@{domain}", since, before),
                        )
                        for hour, count in cur.fetchall():
                            if int(hour) + 3600 <= before:
                                key = (domain, int(hour))
                                expected[key] = expected.get(key, 0.0) + int(count) / 60.0
            finally:
                conn.close()
            busiest = max(
                {d for _, d in tops}, key=lambda d: sum(v for (k, _), v in expected.items() if k == d)
            )
            scope = Scope(ScopeKind.DOMAIN, busiest)
            series = monitor.baselines.series[(scope, "sent")]
            # the hours before the backfill (the backfill's own hours are learnt as it is replayed)
            learnt = {
                h: v for bucket in series.slots.values() for h, v in bucket.items() if h + 3600 <= before
            }
            mine = {h: v for (d, h), v in expected.items() if d == busiest}
            assert mine and all(abs(learnt.get(h, -1.0) - v) < 1e-9 for h, v in mine.items())
            # hours with no message to the domain are learnt as quiet, not skipped
            assert len(learnt) >= 40 and all(learnt[h] == 0.0 for h in set(learnt) - set(mine))
            # judged against that history at once: no "learning", and a clean installation raises no critical
            assert not monitor.expected(scope, "sent", monitor.now).learning
            assert not [f.alert.key for f in watch.fired if f.alert.severity is Severity.CRITICAL]
