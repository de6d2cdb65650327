"""The authentication read-back at connect over a real sshd: the smtp container's last hour, grepped there."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from postaltop.config import load_settings
from postaltop.core.facts import AuthGranted, ClientIdentified
from postaltop.sources.auth_history import auth_facts, read_auth_history
from tests.ssh.two_hosts import write_config
from tests.support.sshd import SshdServer

pytestmark = pytest.mark.ssh


def test_the_smtp_servers_auth_lines_of_the_hour_are_read_back_and_parsed(
    sshd: SshdServer, tmp_path: Path
) -> None:
    start = time.time_ns() - 2 * 3600 * 1_000_000_000  # two hours of log: only the last one is read
    sshd.add_container("postal-smtp-1", "smtp", rate=1, count=7200, start_ns=start)
    sshd.add_container("postal-worker-1", "worker", rate=1, count=7200, start_ns=start)
    settings = load_settings(write_config(tmp_path, {"mx1": sshd}), environ={}).settings
    groups, problems = asyncio.run(read_auth_history(settings, "3600s"))
    assert problems == [] and [(h, c) for h, c, _lines in groups] == [("mx1", "smtp")]
    facts = auth_facts(groups)
    clients = [f for f in facts if isinstance(f, ClientIdentified)]
    grants = [f for f in facts if isinstance(f, AuthGranted)]
    assert clients and grants and {f.ip for f in clients} == {"203.0.113.45"}
    assert {(g.org, g.server) for g in grants} == {("acme", "transactional")}
    hour_ago = time.time() - 3600
    assert min(f.ts for f in facts) >= hour_ago - 60, "older lines are not read"
    # one line in eight of each kind over the hour (the shim writes one line a second)
    assert 3600 / 8 * 0.9 <= len(clients) <= 3600 / 8 * 1.1
    calls = [c for c in sshd.calls() if c[:2] == ["docker", "logs"]]
    assert calls and all("postal-smtp-1" in c and "3600s" in c for c in calls), calls
