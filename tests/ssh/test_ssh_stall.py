"""An SSH host that accepts but stops answering: the stream gives up, says why, and resumes without a gap."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random
import time
from pathlib import Path

import pytest

from postaltop.sources.host_status import HostState
from postaltop.sources.log_runner import state_text
from postaltop.sources.logs import Backoff, HostLogStream
from tests.ssh.conftest import Collector
from tests.support.fault_proxy import fault_proxy
from tests.support.ssh_client import host_config, ssh_options
from tests.support.sshd import SshdServer

pytestmark = pytest.mark.ssh


async def test_stalled_ssh_connection_is_dropped_and_resumed(
    sshd: SshdServer, collector: Collector, tmp_path: Path
) -> None:
    (tmp_path / "logs").mkdir()
    log = tmp_path / "logs" / "smtp_server.log"
    log.write_bytes(b"")
    with fault_proxy("127.0.0.1", sshd.port, mysql=False) as proxy:
        known = tmp_path / "known_hosts"
        known.write_text(sshd.known_hosts_line().replace(f"]:{sshd.port} ", f"]:{proxy.port} "))
        options = dataclasses.replace(
            ssh_options(sshd, known), keepalive_interval=0.5, keepalive_count_max=2, connect_timeout=2.0
        )
        stream = HostLogStream(
            host_config(sshd, port=proxy.port, log_source=f"files:{tmp_path}/logs/*.log"),
            options,
            on_status=collector.status,
            backoff=Backoff(initial=0.05, maximum=0.5),
            rng=random.Random(1),
        )
        task = asyncio.create_task(stream.run(collector))
        try:
            await collector.wait_for(lambda: any(s.file.identity for s in stream.streams.values()))
            await asyncio.sleep(0.3)
            with log.open("ab") as fh:
                fh.write(b"".join(b"line %d\n" % i for i in range(100)))
            await collector.wait_for(lambda: len(collector.lines("smtp")) == 100)
            proxy.stall()
            stalled_at = time.monotonic()
            with log.open("ab") as fh:
                fh.write(b"".join(b"line %d\n" % i for i in range(100, 200)))
            await collector.wait_for(lambda: stream.status.state is HostState.RECONNECTING, timeout=10)
            assert time.monotonic() - stalled_at < 5.0  # the keepalive, not forever
            # new connections through the stalled proxy time out too, and say so
            await collector.wait_for(
                lambda: "not answering" in state_text(stream.status) or "timed out" in stream.status.detail,
                timeout=10,
            )
            proxy.heal()
            await collector.wait_for(lambda: len(collector.lines("smtp")) >= 200, timeout=20)
            await asyncio.sleep(0.5)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    assert collector.lines("smtp") == [b"line %d" % i for i in range(200)]
