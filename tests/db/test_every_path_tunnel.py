"""With ``[database] ssh_tunnel`` set, every database path connects through the tunnel (real sshd + MariaDB).

The poller, ``act`` (CLI) and the UI's action executor, ``trace`` (CLI) and the UI's message lookup, and the
database figures of ``report`` / ``review`` all get their connections from
:class:`~postaltop.sources.db_connect.DbConnector`; each dial is recorded and must be the tunnel's local end.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from postaltop import cli
from postaltop.config import load_settings
from postaltop.sources.db_connect import DbConnector, connector_for
from tests.ssh.two_hosts import write_config
from tests.support import mysql
from tests.support.postal_builder import Dataset
from tests.support.ssh_client import running_sshd
from tests.support.sshd import SshdServer

pytestmark = [pytest.mark.mysql, pytest.mark.ssh]


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[SshdServer]:
    with running_sshd(tmp_path / "sshd") as server:
        yield server


@pytest.fixture
def config(tmp_path: Path, sshd: SshdServer, mysql_target: mysql.MysqlTarget, dataset: Dataset) -> Path:
    path = write_config(tmp_path, {"mx1": sshd})
    path.write_text(
        path.read_text()
        + f'[database]\nssh_tunnel = "mx1"\nhost = "{mysql_target.host}"\nport = {mysql_target.port}\n'
        f'user = "{mysql_target.user}"\nuse_my_cnf = false\ndatabase = "{dataset.prefix}"\n'
        f'message_db_prefix = "{dataset.prefix}"\n[actions]\nenabled = true\n'
    )
    return path


@pytest.fixture
def dials(monkeypatch: pytest.MonkeyPatch, mysql_target: mysql.MysqlTarget) -> list[tuple[bool, int]]:
    """Every (through the tunnel?, port dialled) of every DbConnector."""
    seen: list[tuple[bool, int]] = []
    original = DbConnector.address

    async def spy(self: DbConnector) -> Any:
        host, port, login = await original(self)
        tunnel = self.tunnel
        through = tunnel is not None and tunnel.is_open and port == tunnel.local_port
        seen.append((through and port != mysql_target.port, port))
        return host, port, login

    monkeypatch.setattr(DbConnector, "address", spy)
    if mysql_target.password:
        monkeypatch.setenv("POSTALTOP_DB_PASSWORD", mysql_target.password)
    return seen


def _all_through(dials: list[tuple[bool, int]]) -> bool:
    return bool(dials) and all(through for through, _ in dials)


def test_poller_goes_through_the_tunnel(config: Path, dials: list[tuple[bool, int]]) -> None:
    from postaltop.sources.db_runner import db_runner

    class Engine:
        def publish_metrics(self, result: Any) -> None: ...
        def set_host(self, name: str, state: str) -> None: ...

    runner = db_runner(load_settings(config).settings, Engine())
    assert runner is not None

    async def poll() -> Any:
        try:
            await runner.source.connect()
            return await runner.source.poll_once()
        finally:
            await runner.close()

    result = asyncio.run(poll())
    assert result.connected and result.servers
    assert "via SSH tunnel through mx1" in runner.source.address
    assert _all_through(dials), dials


def test_act_preview_goes_through_the_tunnel_and_names_it(
    config: Path, dials: list[tuple[bool, int]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["--config", str(config), "act", "credential-hold", "acme/main", "1", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "Database: " in out and "via SSH tunnel through mx1" in out
    assert _all_through(dials), dials


def test_ui_actions_go_through_the_tunnel(config: Path, dials: list[tuple[bool, int]]) -> None:
    from postaltop.core.actions import ActionArgs, build
    from postaltop.sources.action_executor import attach_db_actions

    class App:
        pass

    app = App()
    executor = attach_db_actions(app, load_settings(config).settings)

    async def preview() -> Any:
        try:
            server = await executor.resolve_server("acme/main")
            return await executor.preview(build("server-suspend", ActionArgs(server=server, reason="x")))
        finally:
            await executor.connector.close()

    assert "via SSH tunnel through mx1" in asyncio.run(preview()).endpoint
    assert _all_through(dials), dials


def test_trace_goes_through_the_tunnel(
    config: Path, dials: list[tuple[bool, int]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["--config", str(config), "trace", "1::1", "--no-logs"]) == 0
    out = capsys.readouterr().out
    assert "# message 1::1" in out, out
    assert _all_through(dials), dials


def test_report_and_review_figures_go_through_the_tunnel(config: Path, dials: list[tuple[bool, int]]) -> None:
    from postaltop.commands.report import _db_figures
    from postaltop.core.review.window import Window

    now = time.time()
    figures = _db_figures(load_settings(config), Window(now - 7 * 86400, now))
    assert figures is not None
    assert _all_through(dials), dials


def test_a_missing_tunnel_host_is_refused() -> None:
    from postaltop.config import DatabaseConfig, Settings

    settings = Settings(database=DatabaseConfig(), hosts=[])
    assert connector_for(settings).tunnel is None
    with pytest.raises(ValueError, match="no \\[database\\]"):
        connector_for(Settings())
