"""Kill the sshd (and every session) mid-stream, again and again: no line lost, none twice."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time

import pytest

from postaltop.sources.logs import Backoff, HostLogStream
from tests.ssh.conftest import Collector, host_config, ssh_options
from tests.support.shims import _shimlib
from tests.support.sshd import SshdServer

pytestmark = pytest.mark.ssh

KILLS = 20


def _produced(sshd: SshdServer, name: str) -> int:
    spec = _shimlib.load_log_from(sshd.state_dir, name)
    return _shimlib.available(spec, time.time_ns())


async def test_twenty_sshd_kills_lose_and_repeat_no_line(sshd: SshdServer) -> None:
    start = time.time_ns()
    # docker host; lines sharing a timestamp (group=3) exercise the inclusive --since. Every stream
    # costs a remote shell start per reconnect, so the test keeps to one stream per source kind.
    sshd.add_container("postal-smtp-1", "smtp", rate=600, group=3, start_ns=start)
    # journald host (same sshd, explicit source): resumes with --after-cursor
    sshd.add_unit("postal-web.service", "web-journal", component="web", rate=300, start_ns=start)
    sinks = {"docker": Collector(), "journald": Collector()}
    streams = [
        HostLogStream(
            host_config(sshd, name=f"mx-{kind}", log_source=kind),
            ssh_options(sshd),
            on_status=sinks[kind].status,
            backoff=Backoff(initial=0.02, maximum=0.3),
            rng=random.Random(kind),
        )
        for kind in sinks
    ]
    tasks = [asyncio.create_task(s.run(sinks[k])) for s, k in zip(streams, sinks, strict=True)]
    rng = random.Random(20)
    docker, journald = sinks["docker"], sinks["journald"]
    try:
        for _ in range(KILLS):
            # kill only while every stream is flowing, at a random moment within it
            seen = [len(docker.lines("smtp")), len(journald.lines("web"))]
            await docker.wait_for(
                lambda seen=seen: len(docker.lines("smtp")) > seen[0] and len(journald.lines("web")) > seen[1]
            )
            await asyncio.sleep(rng.uniform(0.0, 0.1))
            await asyncio.to_thread(sshd.restart)
        smtp_target, web_target = _produced(sshd, "postal-smtp-1"), _produced(sshd, "web-journal")
        await docker.wait_for(lambda: len(docker.lines("smtp")) >= smtp_target)
        await journald.wait_for(lambda: len(journald.lines("web")) >= web_target)
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    smtp = docker.numbers("smtp")
    assert smtp == list(range(len(smtp))) and len(smtp) >= smtp_target
    web = journald.numbers("web")
    assert web == list(range(len(web))) and len(web) >= web_target
    # every connection after the first resumed from a real position, and overlaps were dropped
    calls = sshd.calls()
    resumed_docker = [c for c in calls if c[:2] == ["docker", "logs"] and "10m" not in c]
    resumed_journal = [
        c for c in calls if c[0] == "journalctl" and any(a.startswith("--after-cursor=") for a in c)
    ]
    assert len(resumed_docker) >= KILLS and len(resumed_journal) >= KILLS // 2
    dropped = sum(s.docker.stats.replayed_dropped for s in streams[0].streams.values())
    assert dropped >= KILLS
    assert streams[0].connections >= KILLS and streams[1].connections >= KILLS
