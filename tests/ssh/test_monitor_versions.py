"""The live monitor's host bar shows each host's Postal version, read over a real loopback sshd (docker shim).

The same wiring as ``run_monitor``: the runtime's ``engine_runner`` streams the logs and its version runner
reads the version once the host connects and again after a reconnect, without holding the log stream back.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from postaltop.commands.tui import app_for
from postaltop.config import LoadedSettings, Settings
from postaltop.core.versions import HostVersion
from postaltop.engine import Engine
from postaltop.runtime import NamedSource, Runtime
from postaltop.sources.host_status import HostState, HostStatus
from postaltop.sources.log_runner import engine_runner, ssh_options
from postaltop.sources.logs import Backoff
from postaltop.sources.version_runner import VersionRunner, release_table, version_text
from postaltop.ui.app import PostaltopApp
from postaltop.ui.widgets.host_bar import HostChip
from tests.support.sshd import SshdServer

pytestmark = pytest.mark.ssh


def settings_for(server: SshdServer) -> Settings:
    host = {
        "name": "mx1",
        "address": "127.0.0.1",
        "port": server.port,
        "user": server.user,
        "key_file": str(server.client_key),
    }
    ssh = {"known_hosts": [str(server.known_hosts)], "ssh_config": [], "connect_timeout": 5}
    return Settings.model_validate({"hosts": [host], "ssh": ssh})


async def wait_until(check: Callable[[], bool], what: Callable[[], object], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out: {what()}")
        await asyncio.sleep(0.05)


def chip_text(app: PostaltopApp) -> str:
    return next((c.text for c in app.main().query(HostChip) if c.host_name == "mx1"), "")


async def test_host_bar_shows_the_version_and_rereads_it_after_a_reconnect(sshd: SshdServer) -> None:
    start = time.time_ns() - 1_000_000_000
    sshd.add_container(
        "postal-smtp-1", "smtp", image="ghcr.io/postalserver/postal:3.3.5", rate=100, count=50, start_ns=start
    )
    settings = settings_for(sshd)
    engine = Engine(retained_lines=10_000, refresh_hz=10)
    runner = engine_runner(
        settings, engine, options=ssh_options(settings), backoff=Backoff(0.05, maximum=0.5)
    )
    loaded = LoadedSettings(settings, None, Path("config.toml"))
    runtime = Runtime(loaded, "live", engine, "monitor", sources=[NamedSource("logs", runner.run)])
    runtime.log_runner = runner
    app = app_for(runtime)
    runtime.start()
    versions = runtime.version_runner
    async with app.run_test(size=(160, 30)) as pilot:
        await wait_until(lambda: "v3.3.5" in chip_text(app), lambda: (chip_text(app), engine.hosts))
        # one release behind 3.3.6, which carries security fixes: the demo's markers
        assert chip_text(app).startswith("● mx1 connected") and chip_text(app).endswith(" v3.3.5 -1 !sec")
        assert versions.reads == 1 and app.host_versions == {"mx1": "v3.3.5 -1 !sec"}
        await wait_until(lambda: engine.hosts["mx1"].lines >= 50, lambda: engine.hosts)  # logs kept flowing
        calls = sshd.calls()
        assert any(
            call[:2] == ["docker", "ps"] and "label=com.docker.compose.project=postal" in call
            for call in calls
        )
        # upgraded (a web container on 3.3.6 is found first), then sshd restarts: reconnect and re-read
        sshd.add_container("postal-web-1", "web", image="ghcr.io/postalserver/postal:3.3.6", count=0)
        sshd.restart()
        await wait_until(
            lambda: "v3.3.6" in chip_text(app), lambda: (chip_text(app), engine.hosts), timeout=30
        )
        assert chip_text(app).endswith(" v3.3.6") and "!sec" not in chip_text(app)
        assert versions.reads == 2
        await pilot.pause()
    runtime.stop()


async def test_runner_reads_only_on_a_change_to_connected_and_never_blocks() -> None:
    table = release_table(None)
    seen: list[tuple[str, str]] = []
    gate = asyncio.Event()

    async def reader(host: object, _options: object, table_: object) -> HostVersion:
        await gate.wait()  # a slow host: the state feed must not wait for it
        from postaltop.core.versions import compare, parse_image_ref

        reading = parse_image_ref("ghcr.io/postalserver/postal:3.3.4")
        return HostVersion("mx1", reading, compare(reading, table))

    settings = Settings.model_validate({"hosts": [{"name": "mx1", "address": "h"}]})
    runner = VersionRunner(
        settings.hosts, None, table, lambda h, text, _v: seen.append((h, text)), reader=reader
    )
    for state in (HostState.CONNECTING, HostState.CONNECTED, HostState.CONNECTED, HostState.SOURCE_NOT_FOUND):
        runner.on_state(HostStatus("mx1", state))
    runner.on_state(HostStatus("other", HostState.CONNECTED))  # not a configured host
    assert runner.reads == 1 and seen == []
    gate.set()
    await runner.wait()
    assert seen == [("mx1", "v3.3.4 -2 !sec")]
    runner.on_state(HostStatus("mx1", HostState.RECONNECTING))
    runner.on_state(HostStatus("mx1", HostState.CONNECTED))
    await runner.wait()
    assert runner.reads == 2 and len(seen) == 2
    assert version_text(runner.versions["mx1"]) == "v3.3.4 -2 !sec"
