"""Faults: unreachable at start, a connection killed mid-poll, a slow query, a missing GRANT."""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr

from postaltop.core.dbmetrics import backoff_delay
from postaltop.sources.postal_db import PostalDbSource
from tests.support import mysql
from tests.support.postal_builder import Dataset

pytestmark = pytest.mark.mysql


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def _tcp_proxy(port: int, target: mysql.MysqlTarget) -> AsyncIterator[None]:
    """Forward 127.0.0.1:``port`` to the test MariaDB (a database that "comes back")."""

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection(target.host, target.port)
        await asyncio.gather(pipe(client_r, server_w), pipe(server_r, client_w))

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    try:
        yield
    finally:
        server.close()


async def _wait_for_lock_waiter(admin: Any, ids: set[int], timeout: float = 3.0) -> int:
    """The thread id of one of ``ids`` that is blocked on a table lock."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for tid, state in mysql.fetch_all(admin, "SELECT id, state FROM information_schema.processlist"):
            if tid in ids and "lock" in (state or "").lower():
                return int(tid)
        await asyncio.sleep(0.05)
    raise AssertionError("the poll never blocked on the locked table")


async def test_unreachable_at_start_backs_off_then_recovers(
    mysql_target: mysql.MysqlTarget, dataset: Dataset
) -> None:
    port = _free_port()
    config = mysql.database_config(
        mysql_target, dataset.prefix, host="127.0.0.1", port=port, poll_interval=1.0
    )
    src = PostalDbSource(config, environ={}, backoff_base=0.05, backoff_cap=0.4, rng=random.Random(3))
    results = []
    stream = src.samples()
    try:
        for _ in range(4):
            results.append(await anext(stream))
        assert all(not r.connected for r in results)
        assert all("unreachable" in r.status and str(port) in r.status for r in results), results[0].status
        delays = [r.retry_in or 0.0 for r in results]
        assert delays[0] <= 0.05 and max(delays) <= 0.4 and delays[3] > delays[0]
        async with _tcp_proxy(port, mysql_target):
            recovered = await asyncio.wait_for(anext(stream), 5.0)
            assert recovered.connected and recovered.status != "" and recovered.sample(1) is not None
            assert not recovered.sample(1).stale  # type: ignore[union-attr]
    finally:
        await stream.aclose()
        await src.close()


async def test_connection_killed_mid_poll_recovers_fast(
    source: PostalDbSource, dataset: Dataset, admin: Any
) -> None:
    assert (await source.poll_once()).connected
    mysql.fetch_all(admin, f"LOCK TABLES {dataset.message_db(2)}.messages WRITE")
    started = time.monotonic()
    try:
        poll = asyncio.create_task(source.poll_once())
        victim = await _wait_for_lock_waiter(admin, source.connection_ids)
        mysql.fetch_all(admin, f"KILL CONNECTION {victim}")
    finally:
        mysql.fetch_all(admin, "UNLOCK TABLES")
    result = await poll
    assert time.monotonic() - started < 5.0
    sample = result.sample(2)
    assert sample is not None and not sample.stale and sample.error is None, result.errors
    # Every idle pooled connection killed as well: the next poll still works.
    for tid in list(source.connection_ids):
        with contextlib.suppress(Exception):
            mysql.fetch_all(admin, f"KILL CONNECTION {tid}")
    started = time.monotonic()
    after = await source.poll_once()
    assert after.connected and not any(s.error for s in after.samples if s.server_id != 6), after.errors
    assert time.monotonic() - started < 5.0


async def test_slow_query_marks_that_server_stale(
    mysql_target: mysql.MysqlTarget, dataset: Dataset, admin: Any
) -> None:
    config = mysql.database_config(mysql_target, dataset.prefix, query_timeout=1.0)
    src = PostalDbSource(config, environ={})
    await src.connect()
    try:
        good = await src.poll_once()
        assert not good.sample(3).stale  # type: ignore[union-attr]
        mysql.fetch_all(admin, f"LOCK TABLES {dataset.message_db(3)}.messages WRITE")
        try:
            await asyncio.sleep(0.2)
            slow = await src.poll_once()
        finally:
            mysql.fetch_all(admin, "UNLOCK TABLES")
        assert slow.duration < 2.0
        stale = slow.sample(3)
        assert stale is not None and stale.stale and "timed out" in (stale.error or "")
        assert stale.stale_age is not None and stale.stale_age >= 0.9
        assert stale.held_total == good.sample(3).held_total  # type: ignore[union-attr]  # last good figures kept
        assert not slow.sample(1).stale and not slow.sample(2).stale  # type: ignore[union-attr]
        recovered = await src.poll_once()
        assert not recovered.sample(3).stale  # type: ignore[union-attr]
    finally:
        await src.close()


async def test_missing_grant_is_named(mysql_target: mysql.MysqlTarget, dataset: Dataset) -> None:
    p = dataset.prefix
    user = f"{p}_ro"
    grants = [f"SELECT ON `{p}`.*", f"SELECT ON `{p}-server-1`.*", f"SELECT ON `{p}-server-2`.`live_stats`"]
    with mysql.temporary_user(mysql_target, user, grants) as (name, password):
        config = mysql.database_config(mysql_target, p, user=name, password=SecretStr(password))
        src = PostalDbSource(config, environ={})
        await src.connect()
        try:
            result = await src.poll_once()
        finally:
            await src.close()
    assert result.connected
    assert result.sample(1).error is None  # type: ignore[union-attr]
    two = result.sample(2)
    assert two is not None and two.error is not None
    assert f"missing GRANT: SELECT on `{p}-server-%`.* for user '{user}'@'%'" in two.error
    three = result.sample(3)  # no privilege at all: invisible in information_schema, still explained
    assert three is not None and "missing GRANT" in (three.error or "")
    assert password not in repr(result)


def test_backoff_is_exponential_capped_and_jittered() -> None:
    assert [backoff_delay(n, 1.0, 30.0, 1.0) for n in range(7)] == [1, 2, 4, 8, 16, 30, 30]
    assert backoff_delay(3, 1.0, 30.0, 0.0) == 4.0  # jitter keeps at least half
    assert backoff_delay(10_000, 1.0, 30.0, 0.5) == 22.5  # huge attempt counts do not overflow


async def test_lost_database_keeps_the_servers_with_stale_ages(db_config: Any, dataset: Dataset) -> None:
    dead = {"port": 0}

    async def endpoint() -> tuple[str, int]:
        return "127.0.0.1", dead["port"] or int(db_config.port)

    src = PostalDbSource(db_config, environ={}, endpoint=endpoint, backoff_base=0.05, backoff_cap=0.1)
    stream = src.samples()
    try:
        async with asyncio.timeout(20):
            good = await anext(stream)
        assert good.connected and good.sample(1) is not None
        dead["port"] = _free_port()  # the database "goes away"
        await src.close()
        await asyncio.sleep(0.3)
        async with asyncio.timeout(20):
            lost = await anext(stream)
        assert not lost.connected and lost.retry_in is not None
        assert [s.id for s in lost.servers] == [s.id for s in good.servers]
        one = lost.sample(1)
        assert one is not None and one.stale and one.error == "database unreachable"
        assert one.stale_age is not None and one.stale_age >= 0.3
        assert one.held_total == good.sample(1).held_total  # type: ignore[union-attr]
    finally:
        await stream.aclose()
        await src.close()
