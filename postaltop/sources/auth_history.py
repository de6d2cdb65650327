"""SMTP authentication history read back at connect, so the client-network detector starts armed.

The detector only judges a scope it has watched for an hour (``learn_for``): with the log streams' usual
backfill (``[[hosts]] since``, 10 minutes) it would stay silent for the first ~50 minutes after a start. So
at connect postaltop reads the last hour of the SMTP server's authentication lines only — ``Client identified
as``, ``Granted for`` and CRAM-MD5's ``Authenticated with`` — with ``docker logs --since 1h | grep -F`` (or
the journal / log file equivalent) on each host, and the detector learns the networks each server and
credential authenticated from. Nothing is judged from that history. The demo's simulated hosts answer the
same question from the simulator's log lines of the hour before the demo started (normal traffic).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterable
from typing import Any

from postaltop.config import HostConfig, Settings
from postaltop.core.facts import Fact
from postaltop.core.ingest import Ingestor
from postaltop.core.logstore import LogStore

AUTH_PATTERNS = ["Client identified as", "Granted for", "Authenticated with"]
"""The lines that tie a client address to a server (and, for CRAM-MD5, a credential)."""
HOST_TIMEOUT = 60.0
"""Seconds one host may take to answer (the live streams do not wait for it)."""


def auth_facts(groups: Iterable[tuple[str, str, list[bytes]]]) -> list[Fact]:
    """The facts of (host, component, lines) groups, parsed as the live streams parse them."""
    ingest = Ingestor(LogStore(capacity=1_000_000))
    facts: list[Fact] = []
    for host, component, lines in groups:
        if lines:
            facts.extend(ingest.feed(host, component, lines, received_at=time.time()).facts)
    facts.extend(ingest.flush())
    return facts


async def _host_lines(host: HostConfig, options: Any, since: str) -> list[tuple[str, str, list[bytes]]]:
    from postaltop.sources.logs import discover_specs, search_stream
    from postaltop.sources.ssh import connect

    hc = await connect(host, options)
    try:
        specs = [s for s in await discover_specs(hc, host.log_source) if s.component == "smtp"]
        found = await asyncio.gather(*(search_stream(hc, spec, AUTH_PATTERNS, since) for spec in specs))
        return [(host.name, spec.component, lines) for spec, lines in zip(specs, found, strict=True)]
    finally:
        hc.close()


async def read_auth_history(
    settings: Settings, since: str
) -> tuple[list[tuple[str, str, list[bytes]]], list[str]]:
    """Every configured host's authentication lines of the last ``since``: ((host, component, lines) groups,
    problems per host)."""
    from postaltop.sources.log_runner import ssh_options

    options = ssh_options(settings)
    problems: list[str] = []

    async def one(host: HostConfig) -> list[tuple[str, str, list[bytes]]]:
        try:
            return await asyncio.wait_for(_host_lines(host, options, since), HOST_TIMEOUT)
        except Exception as exc:  # the detector then learns from the live stream alone, as before
            problems.append(f"{host.name}: {exc}")
            return []

    results = await asyncio.gather(*(one(h) for h in settings.hosts))
    return [group for groups in results for group in groups], problems


def demo_auth_lines(
    seed: int, before: float, seconds: float, stop: threading.Event | None = None
) -> list[tuple[str, str, list[bytes]]]:
    """What the demo's hosts answer: their authentication lines of the ``seconds`` before ``before``
    (the installation's normal traffic, generated as the simulator writes its logs). Run in a thread:
    ``stop`` ends it early (the run is stopping), with what was generated so far."""
    from postaltop.core.sim import Fleet

    fleet = Fleet(seed=seed, scenario="normal", start=before - seconds)
    groups: dict[tuple[str, str], list[bytes]] = {}
    pos = fleet.start
    while pos < before and not (stop is not None and stop.is_set()):
        pos = min(before, pos + 60.0)
        for item in fleet.advance(pos):
            if item.component == "smtp" and any(p.encode() in item.line for p in AUTH_PATTERNS):
                groups.setdefault((item.host, item.component), []).append(item.line)
    return [(host, component, lines) for (host, component), lines in groups.items()]
