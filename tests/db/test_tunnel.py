"""The database reached through an SSH local port forward: real sshd on loopback, real MariaDB."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from postaltop.config import DatabaseConfig
from postaltop.sources.db_connect import DbConnector
from postaltop.sources.db_tunnel import DbTunnel
from postaltop.sources.postal_db import PostalDbSource
from postaltop.sources.ssh import SshConnectError
from tests.support import mysql
from tests.support.postal_builder import Dataset
from tests.support.ssh_client import host_config, running_sshd, ssh_options
from tests.support.sshd import SshdServer

pytestmark = [pytest.mark.mysql, pytest.mark.ssh]


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[SshdServer]:
    """A running sshd on loopback, killed at the end."""
    with running_sshd(tmp_path / "sshd") as server:
        yield server


def tunnel_for(server: SshdServer, target: mysql.MysqlTarget) -> DbTunnel:
    return DbTunnel(host_config(server), ssh_options(server), target.host, target.port)


async def test_pool_connects_through_the_tunnel_and_recovers_it(
    sshd: SshdServer, mysql_target: mysql.MysqlTarget, dataset: Dataset, db_config: DatabaseConfig
) -> None:
    tunnel = tunnel_for(sshd, mysql_target)
    # A wrong direct address proves that figures can only have come through the tunnel.
    config = db_config.model_copy(update={"host": "127.0.0.2", "port": 1, "ssh_tunnel": "mx1"})
    connector = DbConnector(config, tunnel=tunnel, environ={})
    source = PostalDbSource(config, connector=connector, backoff_base=0.05, backoff_cap=0.2)
    direct = PostalDbSource(db_config, environ={})
    try:
        await source.connect()
        assert tunnel.is_open and tunnel.local_port not in (None, mysql_target.port)
        assert source.address.endswith(f"@{mysql_target.host}:{mysql_target.port} via SSH tunnel through mx1")
        through = await source.poll_once()
        await direct.connect()
        reference = await direct.poll_once()
        assert through.connected and through.status == reference.status
        assert [s.full_permalink for s in through.servers] == [s.full_permalink for s in reference.servers]
        for ref in reference.samples:
            got = through.sample(ref.server_id)
            assert got is not None
            assert (got.queue_depth, got.held_total, got.outgoing_last_hour) == (
                ref.queue_depth,
                ref.held_total,
                ref.outgoing_last_hour,
            )
        assert any(s.held_total for s in through.samples)
        # The SSH connection dies: the poll loop reconnects, and the endpoint reopens the tunnel.
        first_port = tunnel.local_port
        assert tunnel._connection is not None
        tunnel._connection.close()
        await asyncio.sleep(0.2)
        assert not tunnel.is_open
        await source.close()
        stream = source.samples()
        async with asyncio.timeout(20):
            result = await anext(stream)
            while not result.connected:
                result = await anext(stream)
        await stream.aclose()
        assert tunnel.is_open and tunnel.local_port != first_port
        assert result.sample(1) is not None
    finally:
        await source.close()
        await direct.close()
        await tunnel.close()


async def test_unreachable_ssh_host_is_reported_and_retried(
    sshd: SshdServer, mysql_target: mysql.MysqlTarget, dataset: Dataset, db_config: DatabaseConfig
) -> None:
    tunnel = tunnel_for(sshd, mysql_target)
    sshd.stop()
    config = db_config.model_copy(update={"ssh_tunnel": "mx1"})
    connector = DbConnector(config, tunnel=tunnel, environ={})
    source = PostalDbSource(config, connector=connector, backoff_base=0.05, backoff_cap=0.1)
    stream = source.samples()
    try:
        async with asyncio.timeout(20):
            result = await anext(stream)
        assert not result.connected and result.retry_in is not None
        assert "unreachable" in result.status and "mx1" in result.status
        with pytest.raises(SshConnectError):
            await tunnel.endpoint()
        sshd.start()
        async with asyncio.timeout(20):
            while not result.connected:
                result = await anext(stream)
        assert tunnel.is_open and result.servers
    finally:
        await stream.aclose()
        await source.close()
        await tunnel.close()
