"""Fixtures for the SSH tests: a real sshd on loopback with the docker/journalctl shims."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from postaltop.sources.host_status import HostStatus
from postaltop.sources.logs import Backoff, HostLogStream
from tests.support.shims._shimlib import NUMBER_RE
from tests.support.ssh_client import host_config, running_sshd, ssh_options
from tests.support.sshd import SshdServer

__all__ = ["Collector", "host_config", "ssh_options", "streaming"]

pytestmark = pytest.mark.ssh


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[SshdServer]:
    """A running sshd, killed (with its sessions) at the end of the test."""
    with running_sshd(tmp_path / "sshd") as server:
        yield server


@dataclass
class Collector:
    """A sink that records every batch, and the statuses published."""

    batches: list[tuple[str, str, list[bytes]]] = field(default_factory=list)
    statuses: list[HostStatus] = field(default_factory=list)

    async def __call__(self, host: str, component: str, lines: list[bytes]) -> None:
        self.batches.append((host, component, lines))

    def status(self, status: HostStatus) -> None:
        self.statuses.append(status)

    def lines(self, component: str) -> list[bytes]:
        return [line for _, comp, batch in self.batches if comp == component for line in batch]

    def numbers(self, component: str) -> list[int]:
        found = []
        for line in self.lines(component):
            match = NUMBER_RE.search(line)
            assert match is not None, line[:200]
            found.append(int(match.group(1)))
        return found

    async def wait_for(self, check: Callable[[], bool], timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; statuses: {[s.describe() for s in self.statuses[-5:]]}")
            await asyncio.sleep(0.02)


@pytest.fixture
def collector() -> Collector:
    return Collector()


@contextlib.asynccontextmanager
async def streaming(sshd: SshdServer, collector: Collector, **host: object) -> AsyncIterator[HostLogStream]:
    """Run a HostLogStream against the test sshd for the body of the ``async with``."""
    stream = HostLogStream(
        host_config(sshd, **host),
        ssh_options(sshd),
        on_status=collector.status,
        backoff=Backoff(initial=0.05, maximum=0.5),
        rng=random.Random(1),
    )
    task = asyncio.create_task(stream.run(collector))
    try:
        yield stream
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


SHIM_DIR = Path(__file__).resolve().parent.parent / "support" / "shims"


def _running_shims() -> list[str]:
    """Command lines of shim processes from this checkout still alive (zombies excluded)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if str(SHIM_DIR) in cmdline and state != "Z":
            found.append(cmdline)
    return found


@pytest.fixture(autouse=True, scope="module")
def _no_shim_left_running() -> Iterator[None]:
    """Server-side processes must end with their SSH sessions: none may outlive the tests."""
    yield
    deadline = time.monotonic() + 3
    while _running_shims() and time.monotonic() < deadline:
        time.sleep(0.05)
    left = _running_shims()
    assert not left, f"shim processes outlived their SSH sessions: {left}"
