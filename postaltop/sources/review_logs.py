"""Fetch a past window of Postal's container logs over SSH, for ``postaltop review``/``report``.

Per host: ``docker ps`` of the compose project ``postal`` names the containers and their compose service
(web, smtp, worker), then ``docker logs --since <window start> <container>`` streams each one (stderr
merged: Ruby crash reports belong to the record). Lines after the window's end are read too (the shim
and older docker lack ``--until``) and left out by the evidence, which always filters by time.
Every remote command is fixed text; container names are checked before use.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from postaltop.config import HostConfig
from postaltop.core.containers import is_container_name
from postaltop.sources.ssh import SshError, SshOptions, connect

PS_SERVICES = (
    "docker ps --filter label=com.docker.compose.project=postal "
    "--format '{{.Names}}\t{{.Label \"com.docker.compose.service\"}}' 2>/dev/null"
)
BATCH_LINES = 4096
CHUNK = 1 << 16

Sink = Callable[[str, str, list[bytes]], None]
"""Receives ``(host, component, lines)`` batches (lines without newline)."""


def since_arg(ts: float) -> str:
    """``docker logs --since`` value for a UNIX time (RFC 3339, UTC)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_services(output: str) -> list[tuple[str, str]]:
    """``(container, service)`` pairs from ``docker ps`` (unsafe names dropped)."""
    out = []
    for line in output.splitlines():
        name, _, service = line.strip().partition("\t")
        if is_container_name(name):
            out.append((name, service.strip() if is_container_name(service.strip()) else ""))
    return out


async def _stream(conn: object, command: str, host: str, component: str, sink: Sink, limit: int) -> int:
    proc = await conn.create_process(command, encoding=None)  # type: ignore[attr-defined]
    rest = b""
    count = 0
    try:
        while count < limit:
            data = await proc.stdout.read(CHUNK)
            if not data:
                break
            parts = (rest + data).split(b"\n")
            rest = parts.pop()
            for start in range(0, len(parts), BATCH_LINES):
                batch = parts[start : start + BATCH_LINES]
                sink(host, component, batch)
                count += len(batch)
        if rest and count < limit:
            sink(host, component, [rest])
            count += 1
    finally:
        proc.close()
    return count


async def fetch_host(
    host: HostConfig, options: SshOptions | None, start: float, sink: Sink, *, limit: int = 5_000_000
) -> str:
    """Stream one host's container logs since ``start`` into ``sink``; returns an error text or ""."""
    try:
        handle = await connect(host, options)
    except SshError as exc:
        return f"{host.name}: cannot connect: {exc}"
    try:
        result = await handle.conn.run(PS_SERVICES, check=False)
        out = result.stdout if isinstance(result.stdout, str) else ""
        containers = parse_services(out)
        if not containers:
            return f"{host.name}: no Postal containers found (docker ps)"
        for name, service in containers:
            command = f"docker logs --since {since_arg(start)} {name} 2>&1"
            await _stream(handle.conn, command, host.name, service, sink, limit)
        return ""
    except (OSError, SshError) as exc:
        return f"{host.name}: {exc}"
    finally:
        handle.close()


async def fetch_window(
    hosts: Sequence[HostConfig], options: SshOptions | None, start: float, sink: Sink
) -> list[str]:
    """Fetch every host (concurrently); returns the errors."""
    errors = await asyncio.gather(*(fetch_host(h, options, start, sink) for h in hosts))
    return [e for e in errors if e]
