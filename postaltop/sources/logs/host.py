"""One host's logs: one SSH connection, a channel per component, reconnects with backoff, no gaps."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import asyncssh

from postaltop.config import HostConfig
from postaltop.sources.host_status import HostState, HostStatus
from postaltop.sources.logs.component import ComponentStream, Sink
from postaltop.sources.logs.discovery import SourceNotFound, StreamSpec, discovery_script, parse_discovery
from postaltop.sources.ssh import (
    HostConnection,
    HostKeyChanged,
    HostKeyError,
    SshAuthError,
    SshConnectError,
    SshOptions,
    connect,
)

StatusCallback = Callable[[HostStatus], None]


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential reconnect delays with jitter (so many hosts do not retry in lock-step)."""

    initial: float = 0.5
    factor: float = 2.0
    maximum: float = 30.0
    jitter: float = 0.5
    """Fraction of the delay that is randomised (0.5 → between 50% and 100% of it)."""

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Delay before attempt number ``attempt`` (1 = first retry)."""
        base = min(self.maximum, self.initial * self.factor ** max(0, attempt - 1))
        return base * (1.0 - self.jitter * rng.random())


class HostLogStream:
    """Follows every Postal log of one host, reconnecting and resuming forever until cancelled.

    Args:
        host: the host entry.
        options: SSH options (known_hosts, ssh config, other hosts for jump hosts).
        on_status: called with every status change (cheap; must not block).
        backoff: reconnect delays.
        rng: randomness for the jitter (seeded in tests).
    """

    def __init__(
        self,
        host: HostConfig,
        options: SshOptions | None = None,
        on_status: StatusCallback | None = None,
        backoff: Backoff | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.host = host
        self.options = options or SshOptions()
        self.on_status = on_status
        self.backoff = backoff or Backoff()
        self.rng = rng or random.Random()
        self.streams: dict[StreamSpec, ComponentStream] = {}
        self.status = HostStatus(host.name, HostState.CONNECTING)
        self.connections = 0
        self.rediscover_after = 300.0
        """Seconds after which a reconnect looks for new containers again (each look costs a channel)."""
        self._discovered_at: float | None = None
        """Successful connections so far (the first one plus every reconnect)."""

    def _publish(self, status: HostStatus) -> None:
        self.status = status
        if self.on_status is not None:
            self.on_status(status)

    async def run(self, sink: Sink) -> None:
        """Stream until cancelled; never raises for remote trouble (it becomes a status)."""
        attempt = 0
        try:
            while True:
                state, detail, fp = await self._connect_and_stream(sink)
                if state is HostState.CONNECTED:
                    attempt = 0  # the connection worked: the next retry starts fast
                attempt += 1
                slow = state in (
                    HostState.HOST_KEY_UNKNOWN,
                    HostState.HOST_KEY_CHANGED,
                    HostState.AUTH_FAILED,
                )
                delay = self.backoff.maximum if slow else self.backoff.delay(attempt, self.rng)
                shown = HostState.RECONNECTING if state is HostState.CONNECTED else state
                self._publish(HostStatus(self.host.name, shown, detail, attempt, round(delay, 1), fp))
                await asyncio.sleep(delay)
        finally:
            self._publish(HostStatus(self.host.name, HostState.DISCONNECTED))

    async def _connect_and_stream(self, sink: Sink) -> tuple[HostState, str, str | None]:
        """One connection's life; returns how it ended (state, detail, fingerprint)."""
        try:
            hc = await connect(self.host, self.options)
        except HostKeyError as exc:
            state = (
                HostState.HOST_KEY_CHANGED if isinstance(exc, HostKeyChanged) else HostState.HOST_KEY_UNKNOWN
            )
            return state, str(exc), exc.fingerprint
        except SshAuthError as exc:
            return HostState.AUTH_FAILED, str(exc), None
        except SshConnectError as exc:
            return HostState.RECONNECTING, str(exc), None
        self.connections += 1
        try:
            return await self._stream_all(hc, sink)
        finally:
            hc.close()

    async def _stream_all(self, hc: HostConnection, sink: Sink) -> tuple[HostState, str, str | None]:
        """Follow every stream on ``hc``; known streams restart at once while discovery runs."""
        started: set[StreamSpec] = set()
        async with asyncio.TaskGroup() as group:

            def start_streams() -> None:
                for spec, stream in self.streams.items():
                    if spec not in started:
                        started.add(spec)
                        group.create_task(self._follow(stream, hc, sink))
                components = tuple(s.component for s in self.streams)
                self._publish(HostStatus(self.host.name, HostState.CONNECTED, components=components))

            if self.streams:
                start_streams()  # a reconnect: resume at once, every channel open costs a shell start
            if not self._discovery_due():
                return HostState.CONNECTED, "connection lost", None
            try:
                await self._discover(hc)
            except SourceNotFound as exc:
                if not started:
                    return HostState.SOURCE_NOT_FOUND, str(exc), None
            except (asyncssh.Error, OSError) as exc:
                if not started:
                    return HostState.RECONNECTING, f"discovery failed: {exc}", None
            else:
                start_streams()
        return HostState.CONNECTED, "connection lost", None

    def _discovery_due(self) -> bool:
        if not self.streams or self._discovered_at is None:
            return True
        if any(s.last_exit not in (None, 0) for s in self.streams.values()):
            return True  # a container or unit went away: look again
        return time.monotonic() - self._discovered_at > self.rediscover_after

    async def _discover(self, hc: HostConnection) -> None:
        """(Re)discover the streams; known ones keep their resume state."""
        script = discovery_script(self.host.log_source)
        result = await hc.conn.run(script, check=False)
        output = result.stdout if isinstance(result.stdout, str) else ""
        try:
            specs = parse_discovery(output, self.host.log_source)
            self._discovered_at = time.monotonic()
        except SourceNotFound:
            if self.streams:
                return  # transiently nothing (containers restarting): keep following what we had
            raise
        for spec in specs:
            if spec not in self.streams:
                self.streams[spec] = ComponentStream(self.host.name, spec, self.host.since)

    async def _follow(self, stream: ComponentStream, hc: HostConnection, sink: Sink) -> None:
        """Re-run one stream's command on this connection until the connection ends."""
        idle_runs = 0
        while not hc.is_closed():
            started = time.monotonic()
            try:
                got = await stream.run_once(hc, sink)
            except (asyncssh.Error, OSError) as exc:
                stream.last_error = str(exc)
                if hc.is_closed():
                    return
                got = 0
            if hc.is_closed():
                return
            if stream.last_exit not in (None, 0) or stream.last_error:
                components = tuple(s.component for s in self.streams)
                detail = f"{stream.spec.component}: {stream.last_error or f'exit status {stream.last_exit}'}"
                self._publish(HostStatus(self.host.name, HostState.CONNECTED, detail, components=components))
            # The command ended with the connection alive (container stopped, unit gone): retry
            # with a growing delay, without tearing down the other streams of the host.
            idle_runs = 0 if got and time.monotonic() - started > 1.0 else idle_runs + 1
            await asyncio.sleep(self.backoff.delay(idle_runs, self.rng))
