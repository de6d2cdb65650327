"""A live config with a host down: a real sshd killed mid-stream and a port nobody listens on become
source-down alerts with their reason, hold that host's alerts, and the host chip says why."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time

import pytest

from postaltop.config import Settings
from postaltop.core.alerts import AlertState
from postaltop.core.source_health import down_reason
from postaltop.engine import Engine
from postaltop.monitoring import SOURCE_DOWN_GRACE, Monitor
from postaltop.sources.log_runner import engine_runner, ssh_options
from postaltop.sources.logs import Backoff
from tests.support.sshd import SshdServer

pytestmark = pytest.mark.ssh


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_until(check: object, engine: Engine, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out; host states: { {n: h.state for n, h in engine.hosts.items()} }")
        await asyncio.sleep(0.05)


async def test_killed_sshd_and_refused_port_are_source_down_alerts(sshd: SshdServer) -> None:
    sshd.add_container("postal-smtp-1", "smtp", rate=200, count=200, start_ns=time.time_ns() - 1_000_000_000)

    def host(name: str, port: int) -> dict[str, object]:
        return {"name": name, "address": "127.0.0.1", "port": port, "user": sshd.user,
                "key_file": str(sshd.client_key)}  # fmt: skip

    settings = Settings.model_validate(
        {
            "hosts": [host("mx1", sshd.port), host("mx9", closed_port())],
            "ssh": {"known_hosts": [str(sshd.known_hosts)], "ssh_config": [], "connect_timeout": 5},
        }
    )
    engine = Engine(retained_lines=10_000, refresh_hz=10)
    monitor = Monitor()
    monitor.attach(engine)
    runner = engine_runner(
        settings, engine, options=ssh_options(settings), backoff=Backoff(0.05, maximum=0.5)
    )
    tasks = [asyncio.create_task(engine.run()), asyncio.create_task(runner.run())]
    try:
        await wait_until(lambda: engine.hosts["mx1"].lines >= 200, engine)
        await wait_until(lambda: down_reason(engine.hosts["mx9"].state) == "connection refused", engine)
        monitor.check_sources()
        assert monitor.down_sources == {"mx9": "connection refused"}  # the chip's text says why (Errno 111)
        assert engine.hosts["mx9"].state.startswith("reconnecting")

        sshd.kill()  # a crash mid-stream: the next attempts are refused
        await wait_until(lambda: down_reason(engine.hosts["mx1"].state) == "connection refused", engine)
        monitor.check_sources()
        assert monitor.down_sources.get("mx1") == "connection refused"
        assert monitor.alerts_manager.is_down("mx1")  # its own alerts are held from now on
        monitor.check_sources(monitor.source_clock() + SOURCE_DOWN_GRACE)
        down = {a.scope.key: a for a in monitor.alerts if a.kind == "source_down"}
        assert set(down) == {"mx1", "mx9"}
        assert all(a.state is AlertState.FIRING and "connection refused" in a.why for a in down.values())
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
