"""A 50,003-line file streamed over the real sshd: the running app keeps and counts every line (Pilot)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from postaltop.config import Settings
from postaltop.engine import Engine
from postaltop.sources.log_runner import engine_runner, ssh_options
from postaltop.sources.logs import Backoff
from postaltop.ui.app import PostaltopApp
from tests.support.shims import _shimlib
from tests.support.shims._shimlib import NUMBER_RE
from tests.support.sshd import SshdServer
from tests.ui.test_app_pilot import filter_status

pytestmark = pytest.mark.ssh

LINES = 50_003


def write_docker_log(path: Path, lines: int) -> None:
    """``lines`` docker-stamped Postal v3 lines (SMTP and worker mix), each carrying its number."""
    start = time.time_ns() - lines * 1_000_000
    specs = [
        {"start_ns": start, "rate": 1e6, "group": 1, "component": comp, "specials": {}, "count": None}
        for comp in ("smtp", "worker")
    ]
    with path.open("wb") as fh:
        for i in range(lines):
            spec = specs[(i // 7) % 2]
            stamp = _shimlib.rfc3339nano(_shimlib.line_ts_ns(spec, i)).encode()
            fh.write(stamp + b" " + _shimlib.postal_line(spec, i) + b"\n")


def settings_for(server: SshdServer) -> Settings:
    host = {
        "name": "mx1",
        "address": "127.0.0.1",
        "port": server.port,
        "user": server.user,
        "key_file": str(server.client_key),
        "since": "1d",
    }
    ssh = {"known_hosts": [str(server.known_hosts)], "ssh_config": [], "connect_timeout": 5}
    return Settings.model_validate({"hosts": [host], "ssh": ssh})


async def test_a_50k_line_file_over_ssh_is_kept_and_counted_whole(sshd: SshdServer, tmp_path: Path) -> None:
    data = tmp_path / "postal-smtp-1.log"
    write_docker_log(data, LINES)
    sshd.add_container("postal-smtp-1", "smtp", file=str(data), running=False)
    settings = settings_for(sshd)
    engine = Engine(retained_lines=1_000_000, refresh_hz=10)
    runner = engine_runner(settings, engine, options=ssh_options(settings), backoff=Backoff(0.05, 0.5))
    app = PostaltopApp(engine, mode="monitor", sources=[runner.run], persist_filters=False)
    async with app.run_test(size=(160, 45)) as pilot:
        deadline = time.monotonic() + 120
        while engine.stats.ingested < LINES or engine.pending:
            assert time.monotonic() < deadline, f"only {engine.stats.ingested:,} lines ingested"
            await asyncio.sleep(0.2)
        await pilot.pause(0.6)  # a few redraw ticks after the last line
        main = app.main()
        numbers = sorted(
            int(m.group(1))
            for s in range(engine.store.start_seq, engine.store.end_seq)
            if (m := NUMBER_RE.search(engine.store.raw(s))) is not None
        )
        assert len(engine.store) == LINES
        assert numbers == list(range(LINES))
        status = main.query_one("#status-line").text  # type: ignore[attr-defined]
        assert f"{LINES:,} lines retained" in status, status
        assert filter_status(app) == f"{LINES:,} lines"  # the count beside the filter
        assert len(main.view) == LINES
        await pilot.press("q")
