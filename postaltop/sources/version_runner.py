"""The live monitor's Postal versions: read each host's version once it connects, and after every reconnect.

:class:`VersionRunner` watches the host states the :class:`~postaltop.sources.log_runner.LogRunner` reports;
when a host becomes connected it starts one background task that reads the version over its own SSH
connection (:func:`~postaltop.sources.host_version.read_host_version`), so the log stream never waits for
it. The result goes to a callback as the host bar's compact text (``v3.3.5 -1 !sec``). Nothing here imports
Textual.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from postaltop.config import HostConfig, Settings
from postaltop.core.versions import HostVersion, ReleaseTable, ReleaseTableError
from postaltop.sources.host_status import HostState, HostStatus
from postaltop.sources.host_version import load_release_table, read_host_version
from postaltop.sources.log_runner import LogRunner
from postaltop.sources.ssh import SshOptions

log = logging.getLogger(__name__)

VersionCallback = Callable[[str, str, HostVersion], None]
"""Told ``(host, host-bar text, version state)`` after every reading."""
Reader = Callable[[HostConfig, SshOptions | None, ReleaseTable], Awaitable[HostVersion]]
"""Reads one host's version (normally :func:`read_host_version`)."""

CONNECTED_STATES = frozenset({HostState.CONNECTED, HostState.SOURCE_NOT_FOUND})
"""States in which the host's SSH connection works (no log source found still allows a version read)."""


def version_text(version: HostVersion) -> str:
    """The host bar's text: ``v3.3.6``, ``v3.3.5 -1 !sec`` (behind, security fixes missing), ``v?``."""
    return version.status.short()


def release_table(path: Path | None) -> ReleaseTable:
    """The configured release table, or the packaged one when it cannot be read (logged)."""
    if path is not None:
        try:
            return load_release_table(path)
        except (OSError, ReleaseTableError) as exc:
            log.warning("release table %s unusable (%s); using the packaged one", path, exc)
    return load_release_table(None)


class VersionRunner:
    """Reads a host's Postal version whenever it (re)connects, in the background.

    Args:
        hosts: the configured hosts.
        options: SSH options (the log runner's, so host keys and jump hosts are the same).
        table: the release table versions are compared with.
        on_version: told each reading.
        reader: reads one host (injected in tests; default :func:`read_host_version`).
    """

    def __init__(
        self,
        hosts: Sequence[HostConfig],
        options: SshOptions | None,
        table: ReleaseTable,
        on_version: VersionCallback,
        *,
        reader: Reader | None = None,
    ) -> None:
        self.hosts = {h.name: h for h in hosts}
        self.options = options
        self.table = table
        self.on_version = on_version
        self.reader: Reader = reader if reader is not None else read_host_version
        self.versions: dict[str, HostVersion] = {}
        """The latest reading of each host."""
        self.reads = 0
        """Readings started (one per connection of each host)."""
        self._connected: dict[str, bool] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def on_state(self, status: HostStatus) -> None:
        """Feed a host's state: a change to connected (first time or after a loss) starts a reading."""
        connected = status.state in CONNECTED_STATES
        was = self._connected.get(status.host, False)
        self._connected[status.host] = connected
        if connected and not was and status.host in self.hosts:
            self._start(status.host)

    def _start(self, name: str) -> None:
        previous = self._tasks.pop(name, None)
        if previous is not None:
            previous.cancel()
        self.reads += 1
        task = asyncio.get_running_loop().create_task(self._read(name), name=f"postal-version-{name}")
        self._tasks[name] = task
        task.add_done_callback(
            lambda done: self._tasks.pop(name, None) if self._tasks.get(name) is done else None
        )

    async def _read(self, name: str) -> None:
        try:
            version = await self.reader(self.hosts[name], self.options, self.table)
        except asyncio.CancelledError:
            raise
        except Exception:  # the reader reports remote trouble in .error; anything else must not kill the loop
            log.exception("reading the Postal version of %s failed", name)
            return
        if version.error:
            log.info("Postal version of %s: %s", name, version.error)
        self.versions[name] = version
        self.on_version(name, version_text(version), version)

    async def wait(self) -> None:
        """Wait for the readings in progress (tests)."""
        while self._tasks:
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    def close(self) -> None:
        """Cancel the readings in progress."""
        for task in self._tasks.values():
            task.cancel()
        self._tasks.clear()


def attach_version_runner(
    runner: LogRunner, settings: Settings, on_version: VersionCallback
) -> VersionRunner:
    """A :class:`VersionRunner` fed by ``runner``'s host states (its own ``on_state`` is still called)."""
    versions = VersionRunner(
        runner.hosts, runner.options, release_table(settings.review.releases_file), on_version
    )
    previous = runner.on_state

    def on_state(host: str, text: str, status: HostStatus) -> None:
        if previous is not None:
            previous(host, text, status)
        versions.on_state(status)

    runner.on_state = on_state
    return versions
