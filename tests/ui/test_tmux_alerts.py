"""The incident screen in a real terminal: ``postaltop demo --scenario compromised-credential`` in tmux at
120x35, worked as an operator would: see the alert, open it, acknowledge it, act on it (hold the key)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.ui.test_tmux_demo import ROOT, tmux, wait_for

pytestmark = pytest.mark.slow


def keys(session: str, *pressed: str, pause: float = 0.8) -> None:
    for key in pressed:
        tmux("send-keys", "-t", session, key)
        time.sleep(pause)


def test_see_open_acknowledge_and_act_on_an_alert(tmp_path: Path) -> None:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    session = f"postaltop-alerts-{uuid.uuid4().hex[:8]}"
    xdg = {f"XDG_{kind}_HOME": str(tmp_path / kind.lower()) for kind in ("DATA", "CONFIG", "STATE", "CACHE")}
    env_vars = {"PYTHONPATH": str(ROOT), "TERM": "xterm-256color", **xdg}
    exports = " ".join(f"{k}={v}" for k, v in env_vars.items())
    demo = "-m postaltop demo --scenario compromised-credential --seed 7 --speed 8"
    # the pane gets its 120x35 size just after it starts: let it settle before the app reads its size
    command = f"sleep 1; cd {ROOT} && env {exports} {sys.executable} {demo}; echo EXITED=$?; sleep 60"
    tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "35", command)
    try:
        # see: the list beside the chart, in columns, the leaked credential first
        screen = wait_for(session, lambda s: "cred main smtp" in s and "open" in s, timeout=120)
        assert "SEV  SCOPE" in screen and "AGE COUNT STATE" in screen
        keys(session, "a")
        screen = wait_for(session, lambda s: "⏎ Alert detail" in s and "A Ack" in s and "S Silence" in s)
        # open: the first row is the leaked credential
        keys(session, *(["Up"] * 12), pause=0.1)
        screen = wait_for(session, lambda s: any("▶" in line for line in s.splitlines()))
        selected = next(line for line in screen.splitlines() if "▶" in line)
        assert "cred main smtp" in selected, selected
        keys(session, "Enter")
        screen = wait_for(session, lambda s: "Observed and expected" in s and "What to do" in s)
        assert "History" in screen and "fired" in screen and "minutes ago" in screen
        # acknowledge, with a comment, from the detail
        keys(session, "A")
        wait_for(session, lambda s: "Acknowledge:" in s and "Enter: acknowledge" in s)
        tmux("send-keys", "-t", session, "-l", "holding the credential")
        keys(session, "Enter")
        screen = wait_for(session, lambda s: "acknowledged" in s and "holding the credential" in s)
        # act: the actions menu, prefilled from the alert, the suggested action preselected
        keys(session, "x")
        screen = wait_for(session, lambda s: "Incident actions" in s and "Credential" in s)
        keys(session, "Enter", "Enter")
        wait_for(session, lambda s: "Type 'y' + Enter: run" in s, timeout=30)
        keys(session, "y", "Enter")
        wait_for(session, lambda s: "[ok]" in s, timeout=30)
        keys(session, "Escape", "Escape", "Escape")
        wait_for(session, lambda s: "SEV  SCOPE" in s and "acked" in s)  # the row says so
        keys(session, "q")
        assert "EXITED=0" in wait_for(session, lambda s: "EXITED=" in s, timeout=20)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True, check=False)
