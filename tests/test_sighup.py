"""A lost terminal or SIGTERM ends postaltop at once, with no orphan left running.

Each test starts a real Python process on a pseudo-terminal. The process installs the hangup handler and runs
an asyncio loop that busy-waits on a future, standing in for the Textual app (whose ``app.exit`` resolves it).
"""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.pty_read import read_until

REPO_ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import asyncio, sys
from postaltop.lifecycle import install_hangup_handler

mode, marker = sys.argv[1], sys.argv[2]

def note(text):
    with open(marker, "a") as f:
        f.write(text + "\n")

async def main():
    loop = asyncio.get_running_loop()
    done = loop.create_future()

    def exit_app():
        note("callback")
        if mode == "cooperative":
            done.set_result(None)

    install_hangup_handler(exit_app)
    print("READY", flush=True)
    if mode == "wedged":
        while True:  # a loop that never yields: only the watchdog can end this
            pass
    while not done.done():  # busy, like an app redrawing: never idle in select()
        await asyncio.sleep(0)
    print("exiting cleanly", flush=True)  # the terminal may be gone: this must not crash the exit
    note("clean")

asyncio.run(main())
"""

EXIT_DEADLINE = 3.0


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _spawn_session_leader(mode: str, marker: Path) -> tuple[int, int]:
    """Fork a child that is session leader with the pty as controlling terminal (like a login shell)."""
    argv = [sys.executable, "-c", CHILD, mode, str(marker)]
    env = _child_env()
    pid, master = pty.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.execve(sys.executable, argv, env)
        finally:
            os._exit(127)
    return pid, master


def _wait_ready(master: int) -> None:
    # Wait for the newline too: closing the terminal between "READY" and "\n" would fail that print.
    read_until(master, lambda out: b"READY\r\n" in out or b"READY\n" in out, 20, "READY")


def _wait_exit(pid: int, deadline_s: float) -> tuple[int | None, float]:
    """Reap ``pid``; returns (exit code or None when killed by a signal, seconds taken). Kills on timeout."""
    start = time.monotonic()
    while time.monotonic() - start < deadline_s:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return (
                os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else None
            ), time.monotonic() - start
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    pytest.fail(f"process {pid} still running {deadline_s} s after the hangup (killed it)")


def _assert_gone(pid: int) -> None:
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_sighup_exits_cleanly_through_the_app(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    pid, master = _spawn_session_leader("cooperative", marker)
    try:
        _wait_ready(master)
        os.kill(pid, signal.SIGHUP)
        code, took = _wait_exit(pid, EXIT_DEADLINE)
    finally:
        os.close(master)
    assert took < EXIT_DEADLINE
    assert code == 0
    assert marker.read_text().split() == ["callback", "clean"]
    _assert_gone(pid)


def test_closing_the_terminal_ends_the_process(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    pid, master = _spawn_session_leader("cooperative", marker)
    _wait_ready(master)
    os.close(master)  # what sshd does when the connection drops: the kernel hangs up the terminal
    code, took = _wait_exit(pid, EXIT_DEADLINE)
    # The clean path writes to the dead terminal; output is silenced, so it still exits 0.
    assert code == 0
    assert took < EXIT_DEADLINE
    assert marker.read_text().split() == ["callback", "clean"]
    _assert_gone(pid)


def test_watchdog_ends_an_app_that_does_not_exit(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    pid, master = _spawn_session_leader("ignores-exit", marker)
    try:
        _wait_ready(master)
        os.kill(pid, signal.SIGHUP)
        code, took = _wait_exit(pid, EXIT_DEADLINE)
    finally:
        os.close(master)
    assert code == 129
    assert 1.5 < took < EXIT_DEADLINE, "the app gets its grace period, and no more"
    assert marker.read_text().split() == ["callback"]
    _assert_gone(pid)


def test_watchdog_ends_a_wedged_event_loop(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    pid, master = _spawn_session_leader("wedged", marker)
    _wait_ready(master)
    os.close(master)
    code, took = _wait_exit(pid, EXIT_DEADLINE)
    assert code == 129
    assert took < EXIT_DEADLINE
    assert not marker.exists() or "clean" not in marker.read_text()
    _assert_gone(pid)


def test_sigterm_exits_cleanly_and_a_second_signal_at_once(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    pid, master = _spawn_session_leader("cooperative", marker)
    try:
        _wait_ready(master)
        os.kill(pid, signal.SIGTERM)
        code, _ = _wait_exit(pid, EXIT_DEADLINE)
        assert code == 0
        assert marker.read_text().split() == ["callback", "clean"]

        marker.unlink()
        pid2, master2 = _spawn_session_leader("ignores-exit", marker)
        try:
            _wait_ready(master2)
            os.kill(pid2, signal.SIGTERM)
            time.sleep(0.3)
            os.kill(pid2, signal.SIGTERM)
            code2, took2 = _wait_exit(pid2, EXIT_DEADLINE)
        finally:
            os.close(master2)
        assert code2 == 128 + signal.SIGTERM
        assert took2 < 1.0, "a second signal must not wait for the grace period"
    finally:
        os.close(master)


def test_lost_terminal_without_sighup_is_noticed(tmp_path: Path) -> None:
    """Not the session leader (no controlling terminal): no SIGHUP comes, the watcher must notice."""
    marker = tmp_path / "marker"
    master, slave = os.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, "cooperative", str(marker)],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=_child_env(),
        start_new_session=True,
    )
    os.close(slave)
    try:
        _wait_ready(master)
    finally:
        os.close(master)
    start = time.monotonic()
    try:
        code = proc.wait(timeout=EXIT_DEADLINE)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail("process still running 3 s after its terminal went away")
    assert time.monotonic() - start < EXIT_DEADLINE
    assert code == 0
    assert marker.read_text().split() == ["callback", "clean"]


def test_guard_in_process_calls_back_on_the_loop_and_uninstalls(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process: the callback runs on the event loop; close() restores the previous handlers."""
    import asyncio

    from postaltop import lifecycle

    monkeypatch.setattr(lifecycle, "_received_signal", None)  # restored after: later runs start clean
    before = signal.getsignal(signal.SIGHUP)

    async def scenario() -> lifecycle.HangupGuard:
        loop = asyncio.get_running_loop()
        called = loop.create_future()
        guard = lifecycle.install_hangup_handler(lambda: called.set_result(True), watch_fd=None, grace=30)
        assert signal.getsignal(signal.SIGHUP) is not before
        os.kill(os.getpid(), signal.SIGHUP)
        assert await asyncio.wait_for(called, 2)
        return guard

    guard = asyncio.run(scenario())
    guard.close(cancel_watchdog=True)
    assert guard.received == signal.SIGHUP
    assert lifecycle.received_signal() == signal.SIGHUP
    assert signal.getsignal(signal.SIGHUP) is before
