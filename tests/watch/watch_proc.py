"""``postaltop watch`` as a child process for the end-to-end tests: started, its JSON log read, SIGTERM'd."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.sshd import free_port

WATCH = [sys.executable, "-m", "postaltop", "watch"]


@dataclass
class WatchProcess:
    """One running watch: its process, metrics port and JSON log file."""

    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path
    exit_code: int | None = None

    @property
    def metrics_url(self) -> str:
        """The /metrics endpoint."""
        return f"http://127.0.0.1:{self.port}/metrics"

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        """The JSON log records so far (optionally only those of one event)."""
        text = self.log_path.read_text(errors="replace")
        records = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
        return [r for r in records if name is None or r.get("event") == name]

    def metrics_text(self) -> str:
        """One scrape of /metrics."""
        with urllib.request.urlopen(self.metrics_url, timeout=5) as response:
            return str(response.read().decode())

    def wait_for(self, what: str, check: Any, timeout: float = 90.0) -> None:
        """Poll ``check()`` until true; fails with the log tail when the process dies or time runs out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"watch exited: {self.log_path.read_text()[-3000:]}"
            if check():
                return
            time.sleep(0.25)
        raise AssertionError(f"timed out waiting for {what}: {self.log_path.read_text()[-3000:]}")

    def stop(self) -> int:
        """SIGTERM and wait; the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.exit_code = self.proc.returncode
        return self.exit_code


@contextlib.contextmanager
def running_watch(
    log_path: Path, *args: str, env: dict[str, str] | None = None, metrics: bool = True
) -> Iterator[WatchProcess]:
    """Run ``postaltop watch ARGS`` (metrics on a free port) until the block ends; waits for the start."""
    port = free_port()
    argv = [*WATCH, *args, "--metrics-address", f"127.0.0.1:{port}" if metrics else "off"]
    with log_path.open("ab") as log_file:  # a file, not a pipe: a full pipe would stall the watcher
        proc = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=log_file, env={**os.environ, **(env or {})}
        )
    watch = WatchProcess(proc, port, log_path)
    try:
        watch.wait_for("the started event", lambda: bool(watch.events("started")), timeout=60)
        yield watch
    finally:
        watch.stop()
