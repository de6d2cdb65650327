"""End to end in a real terminal: ``python -m postaltop demo`` inside tmux, typed at like a user."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WIDTH, HEIGHT = 120, 36
ROW = re.compile(r"^\d\d:\d\d:\d\d \S+\s+\S+\s+(DEBUG|INFO |WARN |ERROR|FATAL|-    ) ")

pytestmark = pytest.mark.slow


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=True, timeout=10).stdout


def wait_for(session: str, predicate, timeout: float = 30.0) -> str:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = tmux("capture-pane", "-p", "-t", session)
        if predicate(screen):
            return screen
        time.sleep(0.3)
    raise AssertionError(f"timed out; last screen:\n{screen}")


def log_rows(screen: str) -> list[str]:
    return [line for line in screen.splitlines() if ROW.match(line)]


def test_demo_in_tmux_filters_and_quits(tmp_path: Path) -> None:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    session = f"postaltop-test-{uuid.uuid4().hex[:8]}"
    env_vars = {
        "PYTHONPATH": str(ROOT),
        "TERM": "xterm-256color",
        **{k: v for k, v in os.environ.items() if k.startswith("XDG_")},
    }
    exports = " ".join(f"{k}={v}" for k, v in env_vars.items())
    command = (
        f"cd {ROOT} && env {exports} {sys.executable} -m postaltop demo --seed 1; echo EXITED=$?; sleep 30"
    )
    tmux("new-session", "-d", "-s", session, "-x", str(WIDTH), "-y", str(HEIGHT), command)
    try:
        screen = wait_for(session, lambda s: len(log_rows(s)) > 10, timeout=60)
        assert "postaltop" in screen
        time.sleep(2)  # let the start-up backfill settle; keys typed meanwhile would queue anyway

        tmux("send-keys", "-t", session, "/")
        time.sleep(0.5)
        tmux("send-keys", "-t", session, "-l", "RCPT")
        tmux("send-keys", "-t", session, "Enter")
        screen = wait_for(
            session,
            lambda s: (
                re.search(r"[\d,]+ of [\d,]+", s) is not None
                and log_rows(s)
                and all("RCPT" in row.upper() for row in log_rows(s))
            ),
            timeout=30,
        )
        rows = log_rows(screen)
        assert rows and all("RCPT" in row.upper() for row in rows)
        matched, total = (
            int(x.replace(",", "")) for x in re.search(r"([\d,]+) of ([\d,]+)", screen).groups()
        )  # type: ignore[union-attr]
        assert 0 < matched < total

        tmux("send-keys", "-t", session, "q")
        screen = wait_for(session, lambda s: "EXITED=" in s, timeout=20)
        assert "EXITED=0" in screen
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True, check=False)
