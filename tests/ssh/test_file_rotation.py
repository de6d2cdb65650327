"""``files:`` sources across rotation and truncation, with and without a reconnect in between (real sshd).

Each case writes numbered lines, rotates or truncates the file the way logrotate does (rename + new
file, ``copytruncate``, ``compress``), writes more, and checks that every line arrived exactly once.
"""

from __future__ import annotations

import asyncio
import gzip
import shutil
from pathlib import Path

import pytest

from postaltop.sources.host_status import HostState
from postaltop.sources.logs import HostLogStream
from tests.ssh.conftest import Collector, streaming
from tests.support.sshd import SshdServer

pytestmark = pytest.mark.ssh

BATCH = 400


def _line(n: int) -> bytes:
    return b"[smtp_server.1:12] 2026-05-04T10:00:00.000 INFO line %06d of the rotation test" % n


class Writer:
    """Appends numbered lines to the log (opening it each time, like a writer after a reopen)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.next = 0

    def write(self, count: int = BATCH) -> None:
        with self.path.open("ab") as fh:
            fh.write(b"".join(_line(self.next + i) + b"\n" for i in range(count)))
        self.next += count


def _rotate(path: Path) -> None:
    """logrotate's default: rename to ``.1`` (older ones shift), the writer creates a new file."""
    if path.with_name(path.name + ".1").exists():
        path.with_name(path.name + ".1").rename(path.with_name(path.name + ".2"))
    path.rename(path.with_name(path.name + ".1"))
    path.touch()


def _copytruncate(path: Path) -> None:
    """logrotate's ``copytruncate``: copy to ``.1``, then truncate the file in place (same inode)."""
    shutil.copyfile(path, path.with_name(path.name + ".1"))
    with path.open("r+b") as fh:
        fh.truncate(0)


def _rotate_compressed(path: Path) -> None:
    """Rename, then compress the rotation (``compress`` without ``delaycompress``)."""
    rotated = path.with_name(path.name + ".1")
    path.rename(rotated)
    path.touch()
    with rotated.open("rb") as src, gzip.open(str(rotated) + ".gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    rotated.unlink()


async def _follow(sshd: SshdServer, collector: Collector, tmp_path: Path) -> tuple[Path, Writer]:
    log_dir = tmp_path / "postal-log"
    log_dir.mkdir()
    log = log_dir / "smtp_server.log"
    log.write_bytes(b"written before postaltop started\n")
    return log, Writer(log)


async def _started(stream: HostLogStream, collector: Collector) -> None:
    await collector.wait_for(lambda: bool(stream.streams) and stream.status.state is HostState.CONNECTED)
    await collector.wait_for(lambda: any(s.file.identity for s in stream.streams.values()))
    await asyncio.sleep(0.3)


def _check(collector: Collector, writer: Writer) -> None:
    got = collector.lines("smtp")
    expected = [_line(n) for n in range(writer.next)]
    lost = len(set(expected) - set(got))
    duplicated = len(got) - len(set(got))
    assert (lost, duplicated) == (0, 0), f"lost {lost}, duplicated {duplicated}"
    assert got == expected


ROTATIONS = {"rotate": _rotate, "copytruncate": _copytruncate, "compress": _rotate_compressed}


@pytest.mark.parametrize("how", sorted(ROTATIONS))
@pytest.mark.parametrize("reconnect", ["live", "during-outage", "after"])
async def test_rotation_loses_and_repeats_nothing(
    sshd: SshdServer, collector: Collector, tmp_path: Path, how: str, reconnect: str
) -> None:
    log, writer = await _follow(sshd, collector, tmp_path)
    async with streaming(sshd, collector, log_source=f"files:{log.parent}/*.log") as stream:
        await _started(stream, collector)
        writer.write()
        await collector.wait_for(lambda: len(collector.lines("smtp")) == writer.next)
        if reconnect == "during-outage":
            sshd.kill()
            writer.write()  # lines the follower has not seen when the file is rotated
            ROTATIONS[how](log)
            writer.write()
            sshd.start()
        else:
            if how == "copytruncate":
                writer.write()  # unread lines at copy time: they are in the copy only
            ROTATIONS[how](log)
            writer.write()
            if reconnect == "after":
                await asyncio.sleep(0.1)
                sshd.restart()
        await collector.wait_for(lambda: len(collector.lines("smtp")) >= writer.next)
        writer.write()
        await collector.wait_for(lambda: len(collector.lines("smtp")) >= writer.next)
        await asyncio.sleep(0.5)  # anything repeated would arrive now
    _check(collector, writer)


@pytest.mark.parametrize("reconnect", [False, True])
async def test_truncation_in_place_restarts_at_the_start(
    sshd: SshdServer, collector: Collector, tmp_path: Path, reconnect: bool
) -> None:
    log, writer = await _follow(sshd, collector, tmp_path)
    async with streaming(sshd, collector, log_source=f"files:{log.parent}/*.log") as stream:
        await _started(stream, collector)
        writer.write()
        await collector.wait_for(lambda: len(collector.lines("smtp")) == writer.next)
        if reconnect:
            sshd.kill()
        with log.open("r+b") as fh:
            fh.truncate(0)
        writer.write(BATCH * 2)  # longer than before: an offset-only resume would skip into it
        if reconnect:
            sshd.start()
        await collector.wait_for(lambda: len(collector.lines("smtp")) >= writer.next)
        await asyncio.sleep(0.5)
        component = next(iter(stream.streams.values()))
    _check(collector, writer)
    if reconnect:
        # no copy of the old file exists: the resume says lines written before the truncation may be missing
        assert any("truncated" in e for e in component.file.events), component.file.events
