"""The authentication read-back at connect over a real sshd: the smtp container's last hour, grepped there."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from pathlib import Path

import pytest

from postaltop.config import load_settings
from postaltop.core.detect.client_ip import network_of
from postaltop.core.facts import AuthGranted, ClientIdentified, Fact
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


def test_hostile_client_lines_read_back_teach_no_network_and_carry_no_escape(
    sshd: SshdServer, tmp_path: Path
) -> None:
    """A client-controlled ``Client identified as`` text (escapes, Rich markup) and a hostile tag after a
    grant, read back over SSH: parsed without error, no such text becomes an address, and no fact field
    carries an escape or markup (the facts name networks and servers in alerts)."""
    start = time.time_ns() - 1800 * 1_000_000_000
    hostile = {
        str(i): "hostile_client" for i in range(1, 1800, 8) if i % 3 == 0
    }  # a third of the client lines
    ansi = {str(i): "ansi" for i in range(4, 1800, 8) if i % 5 == 0}  # grants with a hostile tag after them
    sshd.add_container(
        "postal-smtp-1", "smtp", rate=1, count=1800, start_ns=start, specials={**hostile, **ansi}
    )
    settings = load_settings(write_config(tmp_path, {"mx1": sshd}), environ={}).settings
    groups, problems = asyncio.run(read_auth_history(settings, "3600s"))
    assert problems == []
    facts = auth_facts(groups)
    raw = [line for _host, _component, lines in groups for line in lines]
    assert sum(b"\x1b]52;" in line for line in raw) == len(hostile), "the hostile lines were read back"
    clients = [f for f in facts if isinstance(f, ClientIdentified)]
    assert clients and {f.ip for f in clients} == {"203.0.113.45"}, "a hostile client text is no address"
    assert all(network_of(f.ip) is not None for f in clients)
    grants = [f for f in facts if isinstance(f, AuthGranted)]
    assert grants and {(g.org, g.server) for g in grants} == {("acme", "transactional")}
    texts = [str(v) for f in facts for v in vars_of(f)]
    assert not any("\x1b" in t or "\x07" in t or "[bold]" in t or "[red]" in t for t in texts)


def vars_of(fact: Fact) -> list[object]:
    return [getattr(fact, field.name) for field in dataclasses.fields(fact)]
