"""The live monitor with SSH hosts: two real loopback sshd "hosts" stream into the panel (Pilot)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest

from postaltop.config import Settings
from postaltop.engine import Engine
from postaltop.sources.log_runner import engine_runner, ssh_options
from postaltop.sources.logs import Backoff
from postaltop.ui.app import PostaltopApp
from postaltop.ui.widgets.host_bar import HostChip
from tests.support.sshd import SshdServer, SshdUnavailable, start_sshd

pytestmark = pytest.mark.ssh


@pytest.fixture
def second_sshd(tmp_path: Path, sshd: SshdServer) -> Iterator[SshdServer]:
    try:
        server = start_sshd(tmp_path / "sshd-b")
    except SshdUnavailable as exc:  # the first fixture already decided skip/fail
        raise AssertionError(str(exc)) from exc
    try:
        yield server
    finally:
        server.kill()


def two_host_settings(a: SshdServer, b: SshdServer, extra: list[dict[str, object]] | None = None) -> Settings:
    def host(name: str, server: SshdServer, address: str = "127.0.0.1") -> dict[str, object]:
        return {
            "name": name,
            "address": address,
            "port": server.port,
            "user": server.user,
            "key_file": str(server.client_key),
        }

    hosts = [host("mx1", a), host("mx2", b), *(extra or [])]
    return Settings.model_validate(
        {
            "hosts": hosts,
            "ssh": {
                "known_hosts": [str(a.known_hosts), str(b.known_hosts)],
                "ssh_config": [],
                "connect_timeout": 5,
                "merge_window": 5.0,
            },
        }
    )


_ENGINES: list[Engine] = []


def engine_states() -> dict[str, str]:
    return {name: h.state for e in _ENGINES for name, h in e.hosts.items()}


async def wait_until(check: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out; host states: {engine_states()}")
        await asyncio.sleep(0.05)


async def test_monitor_shows_lines_and_states_of_two_ssh_hosts(
    sshd: SshdServer, second_sshd: SshdServer, tmp_path: Path
) -> None:
    start = time.time_ns() - 1_000_000_000
    sshd.add_container("postal-smtp-1", "smtp", rate=200, count=400, start_ns=start)
    second_sshd.add_container("postal-worker-1", "worker", rate=200, count=300, start_ns=start)
    # mx3: a server whose key is in no configured known_hosts; mx4: server b with server a's client key
    stranger = start_sshd(tmp_path / "sshd-c")
    settings = two_host_settings(
        sshd,
        second_sshd,
        [
            {
                "name": "mx3",
                "address": "127.0.0.1",
                "port": stranger.port,
                "user": stranger.user,
                "key_file": str(stranger.client_key),
            },
            {
                "name": "mx4",
                "address": "127.0.0.1",
                "port": second_sshd.port,
                "user": second_sshd.user,
                "key_file": str(sshd.client_key),
            },
        ],
    )
    engine = Engine(retained_lines=10_000, refresh_hz=10)
    _ENGINES[:] = [engine]
    runner = engine_runner(
        settings, engine, options=ssh_options(settings), backoff=Backoff(0.05, maximum=0.5)
    )
    app = PostaltopApp(engine, mode="monitor", sources=[runner.run], persist_filters=False)
    try:
        await _drive(app, engine, sshd, second_sshd, stranger)
    finally:
        stranger.kill()


async def _drive(
    app: PostaltopApp, engine: Engine, sshd: SshdServer, second_sshd: SshdServer, stranger: SshdServer
) -> None:
    async with app.run_test(size=(200, 30)) as pilot:
        await wait_until(lambda: engine.hosts.get("mx1") is not None and engine.hosts["mx1"].lines >= 400)
        await wait_until(lambda: engine.hosts["mx2"].lines >= 300)
        await wait_until(lambda: engine.hosts["mx3"].state.startswith("host key unknown"))
        await wait_until(lambda: engine.hosts["mx4"].state.startswith("auth failed"))
        app.main().sync()
        await pilot.pause(0.2)
        chips = {c.host_name: c.text for c in app.main().query(HostChip)}
        assert chips["mx1"].startswith("● mx1 connected ·1"), chips
        assert chips["mx2"].startswith("● mx2 connected ·1"), chips
        assert stranger.fingerprint() in chips["mx3"] and "postaltop hosts trust mx3" in chips["mx3"]
        assert chips["mx4"].startswith("● mx4 auth failed"), chips
        bad = {c.host_name for c in app.main().query(HostChip) if c.has_class("-bad")}
        assert bad == {"mx3", "mx4"}
        # both hosts' lines are in the store (and so in the panel), each exactly once
        hosts = [engine.store.event(s).host for s in range(engine.store.start_seq, engine.store.end_seq)]
        assert hosts.count("mx1") == 400 and hosts.count("mx2") == 300
        # time-order merge: the stored times never go back by more than a 100 ms run
        times = [engine.store.event(s).ts for s in range(engine.store.start_seq, engine.store.end_seq)]
        back = max(a - b for a, b in pairwise(times))
        assert back <= 0.15, back
        panel_text = " ".join(
            app.main().panel.render_line(y).text for y in range(app.main().panel.size.height)
        )
        assert "mx1" in panel_text or "mx2" in panel_text
        # a host whose sshd dies shows "reconnecting (attempt N ...)"
        second_sshd.kill()
        await wait_until(lambda: engine.hosts["mx2"].state.startswith("reconnecting (attempt"))
        await pilot.press("q")
