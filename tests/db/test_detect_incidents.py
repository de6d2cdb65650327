"""Detection on Postal databases built the way Postal writes them, with the incident already under way at
connect and starting while postaltop runs (rows inserted during the test).

Each incident must be flagged with the right kind, at the right scope (the credential itself for a stolen
credential), within two poll cycles of first connect (in progress) or of the incident's first complete minute
(starting live); clean servers with normal seasonality (a weekend included) raise no critical alert.
"""

from __future__ import annotations

import time

import pytest

from postaltop.core.alerts import ScopeKind, Severity
from tests.support import mysql
from tests.support.incident_db import Incident, installation, shift_to
from tests.support.incident_run import installation_db, on_scope, watching

pytestmark = pytest.mark.mysql

WEDNESDAY, MONDAY, SUNDAY = 2, 0, 6


def incidents(now: float, servers: dict[str, int], cred: int, *, ago: float) -> list[Incident]:
    """The four incidents of the issue, each started ``ago`` seconds before ``now`` (the ramp 4 h before)."""
    return [
        Incident("credential", servers["app"], now - ago, credential_id=cred, factor=30, domains=300),
        Incident("ramp", servers["shop"], now - max(ago, 4 * 3600), factor=2.0, ramp_hours=4),
        Incident("bounce", servers["mail"], now - ago, fail_ratio=0.45),
        Incident("send_limit", servers["bulk"], now - ago, factor=2.5),
    ]


def expectations(servers: dict[str, int], cred: int) -> dict[str, tuple[ScopeKind, str, tuple[str, ...]]]:
    return {
        "credential": (ScopeKind.CREDENTIAL, str(cred), ("novelty", "zscore")),
        "ramp": (ScopeKind.SERVER, "globex/shop", ("ramp",)),
        "bounce": (ScopeKind.SERVER, "initech/mail", ("ratio:bounce",)),
        "send_limit": (ScopeKind.SERVER, "hooli/bulk", ("send_limit",)),
    }


async def test_incidents_in_progress_at_connect_are_flagged_within_two_polls(
    mysql_target: mysql.MysqlTarget,
) -> None:
    now = time.time()
    servers = installation()
    ids = {s.permalink: s.id for s in servers}
    cred = servers[0].creds[0].id
    with installation_db(
        mysql_target, servers, incidents(now, ids, cred, ago=45 * 60), shift=shift_to(now, WEDNESDAY, 15)
    ) as (_writer, config):
        async with watching(config) as watch:
            wanted = expectations(ids, cred)
            matchers = {name: on_scope(*spec) for name, spec in wanted.items()}
            await watch.until(lambda: all(watch.first(m) for m in matchers.values()) or watch.polls > 4, 90)
            report = {n: watch.first(m) for n, m in matchers.items()}
            summary = [(f.alert.key, f.alert.severity.value, f.polls) for f in watch.fired]
            for name, found in report.items():
                assert found is not None, (name, summary)
                assert found.polls <= 2, (name, found.polls, summary)
            cred_alert = report["credential"]
            assert cred_alert is not None and "app smtp" in cred_alert.alert.scope.display
            assert "acme/app" in cred_alert.alert.scope.display
            clean = {"umbrella/notify"}
            bad = [f.alert.key for f in watch.fired if f.alert.severity is Severity.CRITICAL
                   and f.alert.scope.kind is ScopeKind.SERVER and f.alert.scope.key in clean]  # fmt: skip
            assert not bad, bad
            throttled = report["send_limit"]
            assert throttled is not None and "credential bulk" in throttled.alert.why  # who is sending
