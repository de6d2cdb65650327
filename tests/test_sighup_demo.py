"""The real ``postaltop demo`` exits at once when its SSH session drops (SIGHUP or a closed terminal)."""

from __future__ import annotations

import fcntl
import os
import pty
import signal
import struct
import sys
import termios
from pathlib import Path

from tests.support.pty_read import read_until
from tests.test_sighup import EXIT_DEADLINE, _assert_gone, _wait_exit

REPO_ROOT = Path(__file__).resolve().parent.parent


def _spawn_demo() -> tuple[int, int]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["TERM"] = "xterm-256color"
    pid, master = pty.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.execve(sys.executable, [sys.executable, "-m", "postaltop", "demo", "--seed", "1"], env)
        finally:
            os._exit(127)
    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 36, 120, 0, 0))
    return pid, master


def _wait_for_screen(master: int) -> bytes:
    """Read the terminal until the main screen's status line has been drawn."""
    return read_until(master, lambda out: b"retained" in out, 60, "the main screen")


def test_demo_exits_on_sighup() -> None:
    pid, master = _spawn_demo()
    try:
        _wait_for_screen(master)
        os.kill(pid, signal.SIGHUP)
        _code, took = _wait_exit(pid, EXIT_DEADLINE)
    finally:
        os.close(master)
    assert took < EXIT_DEADLINE
    _assert_gone(pid)


def test_demo_exits_when_the_terminal_closes() -> None:
    pid, master = _spawn_demo()
    _wait_for_screen(master)
    os.close(master)  # what sshd does when the connection drops
    _code, took = _wait_exit(pid, EXIT_DEADLINE)
    assert took < EXIT_DEADLINE
    _assert_gone(pid)
