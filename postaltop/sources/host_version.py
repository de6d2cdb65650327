"""Read the Postal version running on a host over SSH (facts §6: image tag, VERSION file, ``postal version``).

Order, cheapest first, stopping at the first reading that names a release:

1. ``docker ps`` of the compose project ``postal``: the containers' image references
   (``ghcr.io/postalserver/postal:3.3.6``);
2. when the tag is ``latest``/a digest: ``docker exec <container> cat /opt/postal/app/VERSION``;
3. the install helper's compose file (``image:`` in ``/opt/postal/install/docker-compose.yml``);
4. files of a non-container install: ``/opt/postal/app/VERSION``, v2's ``lib/postal/version.rb``;
5. only when asked (it starts a container, seconds): ``postal version``.

Every remote command is fixed text (container names are checked against a strict pattern before
use). The connection comes from :func:`postaltop.sources.ssh.connect`, host keys strictly verified.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from postaltop.config import HostConfig
from postaltop.core.containers import is_container_name
from postaltop.core.versions import (
    HostVersion,
    ReleaseTable,
    VersionReading,
    compare,
    parse_image_ref,
    parse_releases,
    parse_version_output,
)

if TYPE_CHECKING:
    from postaltop.sources.ssh import SshOptions

PS_COMMAND = (
    "docker ps --filter label=com.docker.compose.project=postal --format '{{.Names}}\t{{.Image}}' 2>/dev/null"
)
COMPOSE_COMMAND = "grep -m1 -E '^\\s*image:.*postal' /opt/postal/install/docker-compose.yml 2>/dev/null"
FILES_COMMAND = (
    "cat /opt/postal/app/VERSION 2>/dev/null || cat /opt/postal/app/lib/postal/version.rb 2>/dev/null"
)
POSTAL_VERSION_COMMAND = "postal version 2>/dev/null"
_PREFERRED = ("web", "worker", "smtp")


def load_release_table(path: Path | None = None) -> ReleaseTable:
    """The operator's release table when ``path`` is given, else the packaged one.

    Raises:
        ReleaseTableError: the file is not a valid release table.
        OSError: the file cannot be read.
    """
    if path is not None:
        full = path.expanduser()
        return parse_releases(full.read_text(encoding="utf-8"), str(full))
    from postaltop.store.reviews import packaged_text

    return parse_releases(packaged_text("releases.toml"), "packaged")


def parse_ps(output: str) -> list[tuple[str, str]]:
    """``(container, image)`` pairs from the ``docker ps`` output (invalid names dropped)."""
    pairs = []
    for line in output.splitlines():
        name, _, image = line.strip().partition("\t")
        if not image:
            name, _, image = line.strip().partition(" ")
        if is_container_name(name) and image:
            pairs.append((name, image.strip()[:300]))
    return pairs


def _ordered(containers: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    def rank(pair: tuple[str, str]) -> int:
        for i, word in enumerate(_PREFERRED):
            if f"-{word}-" in pair[0] or f"_{word}_" in pair[0]:
                return i
        return len(_PREFERRED)

    return sorted(containers, key=rank)


async def read_host_version(
    host: HostConfig,
    options: SshOptions | None,
    table: ReleaseTable,
    *,
    slow: bool = False,
    timeout: float = 20.0,
) -> HostVersion:
    """Connect to ``host`` and read its Postal version (never raises: errors land in ``error``)."""
    # asyncssh takes most of a second to import: the demo only needs this module's release table
    from postaltop.sources.ssh import SshError, connect

    try:
        conn = await asyncio.wait_for(connect(host, options), timeout)
    except (SshError, TimeoutError) as exc:
        return HostVersion(host.name, None, compare(None, table), error=f"cannot connect: {exc}")
    try:
        return await asyncio.wait_for(_read(conn.conn, host.name, table, slow), timeout)
    except TimeoutError:
        return HostVersion(host.name, None, compare(None, table), error="timed out reading the version")
    finally:
        conn.close()


async def _run(conn: object, command: str) -> str:
    result = await conn.run(command, check=False)  # type: ignore[attr-defined]
    out = result.stdout
    if isinstance(out, bytes):
        out = out.decode("utf-8", "replace")
    return str(out or "")[:20_000]


async def _read(conn: object, name: str, table: ReleaseTable, slow: bool) -> HostVersion:
    readings: list[VersionReading] = []
    containers = _ordered(parse_ps(await _run(conn, PS_COMMAND)))
    for _container, image in containers:
        readings.append(parse_image_ref(image))
    found = next((r for r in readings if r.known), None)
    if found is None and containers:
        container = containers[0][0]
        out = await _run(conn, f"docker exec {container} cat /opt/postal/app/VERSION 2>/dev/null")
        if out.strip():
            readings.append(parse_version_output(out, "VERSION file"))
    found = next((r for r in readings if r.known), None)
    if found is None:
        line = (await _run(conn, COMPOSE_COMMAND)).strip()
        if line:
            readings.append(parse_image_ref(line.split("image:", 1)[-1].strip().strip("'\"")))
    found = next((r for r in readings if r.known), None)
    if found is None:
        out = await _run(conn, FILES_COMMAND)
        if out.strip():
            readings.append(parse_version_output(out, "version file"))
    found = next((r for r in readings if r.known), None)
    if found is None and slow:
        out = await _run(conn, POSTAL_VERSION_COMMAND)
        if out.strip():
            readings.append(parse_version_output(out, "postal version"))
    found = next((r for r in readings if r.known), None)
    reading = found or (readings[0] if readings else None)
    error = "" if readings else "no Postal containers, compose file or version file found"
    return HostVersion(name, reading, compare(reading, table), tuple(containers), error)


async def read_versions(
    hosts: Sequence[HostConfig], options: SshOptions | None, table: ReleaseTable, *, slow: bool = False
) -> list[HostVersion]:
    """Read every host's version concurrently."""
    return list(await asyncio.gather(*(read_host_version(h, options, table, slow=slow) for h in hosts)))
