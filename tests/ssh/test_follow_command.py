"""The remote follow loop, run by a local ``sh``: it must not poll back to back while a file grows.

Each look at the file forks a dozen processes (``stat``, ``dd``, the marks' ``dd | cksum``). Before the
loop slept after a short read, a file growing by 1,000 lines a second kept it looking without pause: a whole
core of the Postal host. The loop's ``stat`` calls are counted through a wrapper first on ``PATH``; a loaded
machine can only make fewer looks, so the bound cannot fail from load.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import time
from pathlib import Path

import pytest

from postaltop.core.file_resume import FileResume
from postaltop.sources.logs.commands import FOLLOW_PAUSE, follow_command
from tests.support.sshd import descendants

LINE = b"2026-12-04 03:00:00 +0000 INFO   starting message unqueue component=worker\n"


def _counting_stat(tmp: Path) -> tuple[dict[str, str], Path]:
    real = shutil.which("stat")
    if real is None:
        pytest.skip("no stat command on this machine")
    calls = tmp / "stat-calls"
    shim = tmp / "bin" / "stat"
    shim.parent.mkdir()
    shim.write_text(f'#!/bin/sh\necho x >> "{calls}"\nexec {real} "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    return {**os.environ, "PATH": f"{shim.parent}:{os.environ['PATH']}"}, calls


def _follow(path: Path, env: dict[str, str], out: Path) -> subprocess.Popen[bytes]:
    st = path.stat()
    command = follow_command(str(path), FileResume(committed=0, identity=f"{st.st_dev}:{st.st_ino}"))
    return subprocess.Popen(["sh", "-c", command], stdout=out.open("wb"), env=env)


def test_a_growing_file_is_read_in_paced_looks_and_nothing_is_lost(tmp_path: Path) -> None:
    env, calls = _counting_stat(tmp_path)
    log, out = tmp_path / "postal.log", tmp_path / "out"
    log.write_bytes(b"")
    proc = _follow(log, env, out)
    written = 0
    try:
        start = time.monotonic()
        with log.open("ab", buffering=0) as fh:
            while time.monotonic() - start < 2.0:
                fh.write(LINE * 10)  # 1,000 lines a second
                written += 10 * len(LINE)
                time.sleep(0.01)
        deadline = time.monotonic() + 10
        while out.stat().st_size < written and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    looks = len(calls.read_text().splitlines())
    assert out.read_bytes() == LINE * (written // len(LINE))
    # one stat per look that reads, two per idle look (the rotation check): ~2.5 s of a growing file at one
    # read per FOLLOW_PAUSE is ~5 reads; idle looks come only at the end
    assert looks <= 2.5 / FOLLOW_PAUSE + 12, f"{looks} stat calls in ~2.5 s: the loop polls without pausing"


def test_a_backlog_is_read_without_waiting(tmp_path: Path) -> None:
    env, _ = _counting_stat(tmp_path)
    log, out = tmp_path / "postal.log", tmp_path / "out"
    log.write_bytes(b"")
    proc = _follow(log, env, out)
    backlog = LINE * 40_000  # ~3 MB arriving at once
    try:
        with log.open("ab") as fh:
            fh.write(backlog)
        deadline = time.monotonic() + 20
        while out.stat().st_size < len(backlog) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert out.read_bytes() == backlog


def test_the_loop_ends_when_the_session_that_started_it_is_gone(tmp_path: Path) -> None:
    """sshd's session process dies with the connection; a quiet file must not keep its loop alive."""
    log = tmp_path / "postal.log"
    log.write_bytes(LINE)
    st = log.stat()
    command = follow_command(str(log), FileResume(committed=0, identity=f"{st.st_dev}:{st.st_ino}"))
    pid_file = tmp_path / "loop.pid"
    session = subprocess.Popen(
        ["sh", "-c", 'sh -c "$0" > /dev/null & echo $! > "$1"; wait', command, str(pid_file)]
    )
    deadline = time.monotonic() + 10
    while not pid_file.exists() or not pid_file.read_text().strip():
        assert time.monotonic() < deadline, "the loop did not start"
        time.sleep(0.05)
    loop_pid = int(pid_file.read_text())
    # running the loop under its session (it has started a child: its $PPID was read at start-up)
    while _parent_and_command(loop_pid) != (session.pid, True) or not descendants(loop_pid):
        assert time.monotonic() < deadline, "the loop did not start under its session"
        time.sleep(0.02)
    session.kill()  # the session process goes, as when the SSH connection drops
    session.wait(timeout=10)
    deadline = time.monotonic() + 30  # one idle look (0.2 s) ends it; the margin is for a loaded machine
    while _alive(loop_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    alive = _alive(loop_pid)
    status = Path(f"/proc/{loop_pid}/status").read_text() if alive else ""
    if alive:
        os.kill(loop_pid, 9)
    assert not alive, f"the follow loop outlived its session {session.pid}: {status[:400]}"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def _parent_and_command(pid: int) -> tuple[int, bool]:
    try:
        ppid = int(Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].split()[1])
        running = b"f=" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, IndexError, ValueError):
        return -1, False
    return ppid, running
