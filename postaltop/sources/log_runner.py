"""Run the SSH log streams of every configured host into the engine (used by the TUI and headless modes).

One :class:`~postaltop.sources.logs.HostLogStream` per host; every batch it delivers goes through a
bounded time-order merge (:class:`~postaltop.core.merge.ReorderBuffer`, per ``(host, component)``
stream) before ``submit`` sees it, and the arrival of each batch feeds a clock-skew estimate
(:class:`~postaltop.core.merge.SkewDetector`). The merge works on batches: a batch is ordered by the
stamp of its first line, and batches of one stream keep their order. Live batches are small (what
arrived in one read), so this is close to line order; a backfill is ordered batch by batch.

Back-pressure is kept: ``submit`` (the engine's bounded queue) is awaited under the merge lock, so
a full queue stops every sink, which stops the SSH reads. Nothing here imports Textual.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from postaltop.config import HostConfig, Settings
from postaltop.core.merge import ReorderBuffer, SkewDetector, SkewReport
from postaltop.core.resume import docker_ts_token, timestamp_ns
from postaltop.sources.host_status import HostState, HostStatus
from postaltop.sources.logs import Backoff, HostLogStream
from postaltop.sources.ssh import SshOptions

if TYPE_CHECKING:
    from postaltop.engine import Engine

Submit = Callable[[str, str, Sequence[bytes]], Awaitable[None]]
"""Where merged batches go: ``(host, component, lines)`` (normally :meth:`Engine.submit`)."""
StateCallback = Callable[[str, str, HostStatus], None]
"""Told ``(host, state text, status)`` whenever a host's shown state changes."""

MAX_MERGE_BATCHES = 512
"""Batches held in the reorder window at most (each is one read of at most 256 KiB)."""


def ssh_options(settings: Settings) -> SshOptions:
    """The SSH options the configuration describes (the ``[ssh]`` section and the host list)."""
    section = settings.ssh
    return SshOptions(
        known_hosts=[Path(p).expanduser() for p in section.known_hosts]
        if section.known_hosts is not None
        else None,
        ssh_config=[Path(p).expanduser() for p in section.ssh_config]
        if section.ssh_config is not None
        else None,
        hosts={h.name: h for h in settings.hosts},
        keepalive_interval=section.keepalive_interval,
        keepalive_count_max=section.keepalive_count_max,
        connect_timeout=section.connect_timeout,
    )


def trust_file(settings: Settings) -> Path:
    """The known_hosts file ``postaltop hosts trust`` writes to: the first configured one."""
    files = settings.ssh.known_hosts
    return Path(files[0] if files else "~/.ssh/known_hosts").expanduser()


def state_text(status: HostStatus, skew: SkewReport | None = None) -> str:
    """The short state the host bar shows for ``status`` (plain text; the caller neutralises it)."""
    state = status.state
    if state is HostState.CONNECTED:
        text = f"connected ·{len(status.components)}" if status.components else "connected"
    elif state is HostState.RECONNECTING:
        text = "reconnecting"
        if status.attempt:
            text += f" (attempt {status.attempt}"
            text += f", next in {status.retry_in:.0f}s)" if status.retry_in is not None else ")"
            if status.detail:
                text += f": {_reason(status.detail)}"
    elif state is HostState.HOST_KEY_UNKNOWN:
        text = f"host key unknown {status.fingerprint or ''} (postaltop hosts trust {status.host})"
    elif state is HostState.HOST_KEY_CHANGED:
        text = f"HOST KEY CHANGED {status.fingerprint or ''} (refused)"
    else:
        text = state.value
    if skew is not None:
        sign = "+" if skew.offset > 0 else "-"
        text += f" · clock {sign}{abs(skew.offset):.1f}s"
    return text


def _reason(detail: str, limit: int = 60) -> str:
    """The cause of a failed connection, short enough for a chip (``connection refused``, …)."""
    lowered = detail.lower()
    if "refused" in lowered:
        return "connection refused"
    if "timed out" in lowered or "timeout" in lowered:
        return "not answering (timed out)"
    text = " ".join(detail.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def batch_time(lines: Sequence[bytes], default: float) -> float:
    """UNIX time of the first line's transport stamp, or ``default`` (file sources have none)."""
    if lines:
        token = docker_ts_token(lines[0])
        if token is not None:
            ns = timestamp_ns(token)
            if ns is not None:
                return ns / 1e9
    return default


def last_time(lines: Sequence[bytes]) -> float | None:
    """UNIX time of the last line's transport stamp (for the skew estimate), or None."""
    if lines:
        token = docker_ts_token(lines[-1])
        if token is not None:
            ns = timestamp_ns(token)
            if ns is not None:
                return ns / 1e9
    return None


RUN_KEY_BYTES = 21
"""``YYYY-MM-DDTHH:MM:SS.d``: lines whose stamps share these bytes fall in one 100 ms run."""


def time_runs(lines: list[bytes]) -> list[list[bytes]]:
    """Cut a batch into runs of lines stamped within the same 100 ms (one byte compare per line).

    The merge orders runs, so lines of different hosts interleave at 100 ms granularity even when a
    batch spans seconds (a backfill). Lines without a transport stamp stay one run.
    """
    if len(lines) < 2 or docker_ts_token(lines[0]) is None:
        return [lines]
    runs: list[list[bytes]] = []
    start = 0
    key = lines[0][:RUN_KEY_BYTES]
    for i, line in enumerate(lines):
        if line[:RUN_KEY_BYTES] != key:
            runs.append(lines[start:i])
            start, key = i, line[:RUN_KEY_BYTES]
    runs.append(lines[start:])
    return runs


class LogRunner:
    """Streams every host's logs through the time-order merge into ``submit``.

    Args:
        hosts: the configured hosts (one stream each).
        options: SSH options shared by all hosts.
        submit: awaited with each merged batch (back-pressure reaches the SSH reads).
        on_state: told about every change of a host's shown state.
        merge_window: seconds a batch may wait for older batches of other streams.
        skew_tolerance: seconds of clock difference reported as skew.
        clock: wall clock (injected in tests).
        backoff: reconnect delays; rng: jitter randomness.
    """

    def __init__(
        self,
        hosts: Sequence[HostConfig],
        options: SshOptions,
        submit: Submit,
        *,
        on_state: StateCallback | None = None,
        merge_window: float = 1.0,
        skew_tolerance: float = 2.0,
        clock: Callable[[], float] = time.time,
        backoff: Backoff | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.hosts = list(hosts)
        self.options = options
        self.submit = submit
        self.on_state = on_state
        self.merge_window = merge_window
        self.skew_tolerance = skew_tolerance
        self.clock = clock
        self.merge: ReorderBuffer[tuple[str, str, Sequence[bytes]]] = ReorderBuffer(
            window=merge_window, max_items=MAX_MERGE_BATCHES
        )
        self.skew = SkewDetector()
        self.statuses: dict[str, HostStatus] = {
            h.name: HostStatus(h.name, HostState.CONNECTING) for h in hosts
        }
        self.shown: dict[str, str] = {}
        self.lines_in = 0
        """Lines received from all hosts."""
        self.lines_out = 0
        """Lines handed to ``submit``."""
        self._lock = asyncio.Lock()
        self._skewed: dict[str, SkewReport] = {}
        self.streams = [
            HostLogStream(host, options, on_status=self._status, backoff=backoff, rng=rng) for host in hosts
        ]

    # -- state ------------------------------------------------------------------------

    def _status(self, status: HostStatus) -> None:
        self.statuses[status.host] = status
        self._show(status.host)

    def _show(self, host: str) -> None:
        status = self.statuses[host]
        text = state_text(status, self._skewed.get(host))
        if self.shown.get(host) != text:
            self.shown[host] = text
            if self.on_state is not None:
                self.on_state(host, text, status)

    def _check_skew(self) -> None:
        found = {r.host: r for r in self.skew.skewed(self.skew_tolerance)}
        if found.keys() != self._skewed.keys() or any(
            abs(found[h].offset - self._skewed[h].offset) >= 1.0 for h in found
        ):
            changed = found.keys() | self._skewed.keys()
            self._skewed = found
            for host in changed:
                if host in self.statuses:
                    self._show(host)

    def skew_reports(self) -> list[SkewReport]:
        """Hosts whose clock is currently off."""
        return list(self._skewed.values())

    # -- streaming --------------------------------------------------------------------

    async def run(self) -> None:
        """Stream every host until cancelled (remote trouble becomes a host state, never an error)."""
        now = self.clock()
        for host in self.hosts:
            self._show(host.name)
        for stream in self.streams:  # hosts still connecting hold the merge back (up to the window)
            self.merge.register((stream.host.name, ""), now)
        async with asyncio.TaskGroup() as group:
            group.create_task(self._pump())
            for stream in self.streams:
                group.create_task(stream.run(self._sink))

    async def _sink(self, host: str, component: str, lines: list[bytes]) -> None:
        now = self.clock()
        self.lines_in += len(lines)
        newest = last_time(lines)
        if newest is not None:
            self.skew.observe(host, newest, now)
        key = (host, component)
        runs = time_runs(lines)
        self.merge.push_batch(
            key, [batch_time(run, now) for run in runs], [(host, component, run) for run in runs], now
        )
        await self._release(now)

    async def _release(self, now: float) -> None:
        async with self._lock:
            for host, component, lines in self.merge.pop_ready(now):
                self.lines_out += len(lines)
                await self.submit(host, component, lines)

    async def _pump(self) -> None:
        """Release batches whose window passed while no new batch arrived; re-check the skew."""
        interval = max(0.05, min(0.25, self.merge_window / 2))
        checked = 0.0
        while True:
            await asyncio.sleep(interval)
            now = self.clock()
            await self._release(now)
            if now - checked >= 1.0:
                checked = now
                self._check_skew()

    async def flush(self) -> None:
        """Hand over everything still in the merge window (at shutdown or in tests)."""
        async with self._lock:
            for host, component, lines in self.merge.flush():
                self.lines_out += len(lines)
                await self.submit(host, component, lines)


def engine_runner(
    settings: Settings,
    engine: Engine,
    *,
    options: SshOptions | None = None,
    backoff: Backoff | None = None,
) -> LogRunner:
    """A runner feeding ``engine`` whose host states appear in the engine (and so in the host bar)."""

    def on_state(host: str, text: str, _status: HostStatus) -> None:
        engine.set_host(host, text)

    runner = LogRunner(
        settings.hosts,
        options or ssh_options(settings),
        engine.submit,
        on_state=on_state,
        merge_window=settings.ssh.merge_window,
        skew_tolerance=settings.ssh.skew_tolerance,
        clock=engine.clock,
        backoff=backoff,
    )
    for host in settings.hosts:
        engine.set_host(host.name, "connecting")
    return runner
