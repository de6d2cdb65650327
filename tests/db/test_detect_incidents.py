"""Detection on Postal databases built the way Postal writes them, with the incident already under way at
connect and starting while postaltop runs (rows inserted during the test).

Each incident must be flagged with the right kind, at the right scope (the credential itself for a stolen
credential), within two poll cycles of first connect (in progress) or of the incident's first complete minute
(starting live); clean servers with normal seasonality (a weekend included) raise no critical alert.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from postaltop.core.alerts import Alert, AlertState, Scope, ScopeKind, Severity, Transition
from tests.support import mysql
from tests.support.incident_db import Incident, Server, installation, shift_to
from tests.support.incident_run import Fired, installation_db, on_scope, watching

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


@pytest.mark.slow
async def test_incidents_starting_while_postaltop_runs_are_flagged(mysql_target: mysql.MysqlTarget) -> None:
    now = time.time()
    servers = installation()
    ids = {s.permalink: s.id for s in servers}
    bulk = next(s for s in servers if s.permalink == "bulk")
    bulk.send_limit = 400  # ~70 % used by its normal traffic at this hour
    cred = servers[0].creds[0].id
    with installation_db(mysql_target, servers, [], shift=shift_to(now, WEDNESDAY, 15)) as (writer, config):
        async with watching(config) as watch:
            assert await watch.until(lambda: watch.monitor.connect_state is not None and watch.polls >= 2, 60)
            assert not [f.alert.key for f in watch.fired if f.alert.severity is Severity.CRITICAL]
            writer.state[ids["bulk"]].first_exceeded_at = None  # throttling before the test is not it
            start = time.time()
            live = [
                Incident("credential", ids["app"], start, credential_id=cred, factor=30, domains=300),
                Incident("bounce", ids["mail"], start, fail_ratio=0.45),
                Incident("send_limit", ids["bulk"], start, factor=10),
            ]
            wanted = {k: on_scope(*v) for k, v in expectations(ids, cred).items() if k != "ramp"}
            written = start
            deadline = start + 240
            polls_at_start = watch.polls

            def since_start(match: Callable[[Alert], bool]) -> Fired | None:
                # bulk runs near its limit: a warning before the test began is right, and not the incident
                return next((f for f in watch.fired if f.polls > polls_at_start and match(f.alert)), None)

            while time.time() < deadline and not all(since_start(m) for m in wanted.values()):
                await asyncio.sleep(1.0)
                upto = time.time()
                await asyncio.to_thread(writer.append, written, upto, live)
                written = upto
            throttled_at = writer.state[ids["bulk"]].first_exceeded_at
            summary = [(f.alert.key, f.alert.severity.value, round(f.seconds, 1)) for f in watch.fired]
            poll = config.poll_interval
            for name, match in wanted.items():
                found = since_start(match)
                assert found is not None, (name, summary)
                began = throttled_at if name == "send_limit" and throttled_at else start
                # the evidence must exist first: a whole minute for rates, enough failures for a ratio. The
                # bounce storm on a server doing ~14 attempts a minute is flagged in 40-60 s typically, but
                # a storm whose first attempts happen to fail less takes longer (about 4 % of storms over
                # 130 s in a model of this server: docs/detection.md): here it must come before the deadline
                bound = deadline - began if name == "bounce" else 120 + 2 * poll
                assert found.wall - began <= bound, (name, found.wall - began, summary)


@pytest.mark.parametrize(
    ("weekday", "hour"), [(MONDAY, 9.5), (SUNDAY, 14.0)], ids=["monday-morning-after-weekend", "sunday"]
)
async def test_clean_seasonal_installation_raises_no_critical(
    mysql_target: mysql.MysqlTarget, weekday: int, hour: float
) -> None:
    now = time.time()
    with installation_db(mysql_target, installation(), [], shift=shift_to(now, weekday, hour)) as (
        _w,
        config,
    ):
        async with watching(config) as watch:
            assert await watch.until(lambda: watch.monitor.connect_state is not None and watch.polls >= 3, 90)
            state = watch.monitor.connect_state
            assert state is not None and state.backfill is not None and state.backfill.messages
            critical = [
                (f.alert.key, f.alert.why) for f in watch.fired if f.alert.severity is Severity.CRITICAL
            ]
            assert not critical, critical
            chart = watch.monitor.series(Scope(ScopeKind.SERVER, "acme/app"), "sent", 6 * 3600)
            drawn = [v for v in chart.values if v == v]
            assert len(drawn) >= 100 and not chart.learning  # the chart shows the recent past at once


async def test_bad_input_empty_servers_no_history_missing_db_future_rows_and_clock_skew(
    mysql_target: mysql.MysqlTarget,
) -> None:
    now = time.time()
    servers = installation()
    servers[4].peak_per_min = 0.0  # umbrella/notify: an empty server
    servers[4].stats = False
    servers[2].stats = False  # initech/mail: traffic but no statistics at all
    ghost = Server(9, "acme", "ghost", 5.0, [], has_db=False)  # its message database is missing
    cred = servers[0].creds[0].id
    ids = {s.permalink: s.id for s in servers}
    options = {"shift": shift_to(now, WEDNESDAY, 15), "future_rows": 40}
    with installation_db(
        mysql_target, [*servers, ghost], incidents(now, ids, cred, ago=45 * 60), **options
    ) as (
        _writer,
        config,
    ):
        skewed = lambda: time.time() + 3 * 3600  # noqa: E731  # this machine's clock 3 h ahead of the database
        async with watching(config, _clock=skewed) as watch:
            credential = on_scope(ScopeKind.CREDENTIAL, str(cred), ("novelty", "zscore"))
            assert await watch.until(lambda: watch.first(credential) is not None, 60)
            assert watch.monitor.state_error is None
            state = watch.monitor.connect_state
            assert state is not None and state.backfill is not None
            assert watch.monitor.future_rows >= 40  # stamped 2 h after the database clock: counted, not used
            assert not any(m.minute * 60 > state.backfill.end for m in state.backfill.messages)
            read = {m.server_id for m in state.backfill.messages}
            assert ghost.id not in read and ids["notify"] not in read
            # a server without statistics is judged against its own recent past: learning, no crash, no alert
            assert not any(
                f.alert.scope.key == "initech/mail" and f.alert.kind == "zscore" for f in watch.fired
            )
            # NULL credential ids count in the server's total, never as a credential
            assert not any(a.scope.kind is ScopeKind.CREDENTIAL and a.scope.key in ("0", "None")
                           for a in watch.monitor.alerts)  # fmt: skip
            # aggregated in SQL: rows read are bounded by minutes x credentials, whatever the message count
            minutes = int(state.backfill.end - state.backfill.start) // 60 + 1
            assert len(state.backfill.messages) <= minutes * 4 * len(read)


async def test_incidents_that_ended_before_connect_are_not_open(mysql_target: mysql.MysqlTarget) -> None:
    now = time.time()
    servers = installation()
    ids = {s.permalink: s.id for s in servers}
    cred = servers[0].creds[0].id
    ended = [
        # inside the backfill: judged as the recent past is replayed, then over
        Incident("credential", ids["app"], now - 5 * 3600, credential_id=cred, factor=30, end=now - 4 * 3600),
        Incident("bounce", ids["mail"], now - 2 * 3600, fail_ratio=0.45, end=now - 40 * 60),
        # before the backfill: history, never an alert
        Incident("bounce", ids["bulk"], now - 20 * 3600, fail_ratio=0.45, end=now - 19 * 3600),
    ]
    with installation_db(mysql_target, servers, ended, shift=shift_to(now, WEDNESDAY, 15)) as (_w, config):
        async with watching(config) as watch:
            assert await watch.until(lambda: watch.monitor.connect_state is not None and watch.polls >= 2, 90)
            seen = [(e.transition, e.alert.key, e.at) for e in watch.events]
            storm = f"ratio:bounce|{Scope(ScopeKind.SERVER, 'initech/mail')}"
            stolen = [e.alert.key for e in watch.events if e.alert.scope.key == str(cred)]
            assert stolen and storm in {k for _, k, _ in seen}, seen  # the replay saw both
            for key in (stolen[0], storm):
                fired = [at for t, k, at in seen if k == key and t is Transition.FIRED]
                resolved = [at for t, k, at in seen if k == key and t is Transition.RESOLVED]
                assert fired and resolved and resolved[-1] > fired[-1], (key, seen)
                # over on the data's clock well before connect: the ratio's 10 min window, then 5 min quiet
                assert resolved[-1] < now - 15 * 60
            listed = {a.key: a for a in watch.monitor.alerts_manager.alerts}
            # ended 40 min ago: listed as resolved; ended 4 h ago: resolved and forgotten (kept an hour)
            assert listed[storm].state is AlertState.RESOLVED
            assert not any(listed.get(k) and listed[k].is_open for k in stolen)
            assert not [k for k in listed if "hooli/bulk" in k and k.startswith("ratio:bounce")]
