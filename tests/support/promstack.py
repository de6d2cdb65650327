"""Real Prometheus and Alertmanager servers (the Debian packages) on free loopback ports for the tests.

``running_prometheus(root, config)`` and ``running_alertmanager(root, config)`` start the server with its
data in ``root``, wait until it reports ready, and stop it (SIGTERM, then SIGKILL) when the block ends.
A missing binary skips the test with the reason, or fails it under ``POSTALTOP_REQUIRE_SERVICES=1``
(``.ci/run`` installs ``prometheus`` and ``prometheus-alertmanager``).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.services import missing_service
from tests.support.sshd import free_port

PROMETHEUS_BINARIES = ("prometheus", "promtool")
ALERTMANAGER_BINARIES = ("prometheus-alertmanager", "amtool")


def binary(name: str) -> str:
    """The absolute path of ``name`` (skips, or fails under CI, when it is not installed)."""
    found = shutil.which(name) or shutil.which(name, path="/usr/bin:/usr/sbin:/usr/local/bin")
    if found is None:
        package = "prometheus-alertmanager" if name in ALERTMANAGER_BINARIES else "prometheus"
        missing_service(f"{name} not installed (apt-get install {package})")
        raise AssertionError("unreachable")
    return found


@dataclass
class Server:
    """One running server: its base URL, process and log."""

    url: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    def get_json(self, path: str, **params: str) -> Any:
        """GET ``path`` with query ``params``; the decoded JSON body."""
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}{path}{query}", timeout=10) as response:
            return json.loads(response.read())

    def log_tail(self, n: int = 3000) -> str:
        """The end of the server's log (for assertion messages)."""
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def _wait_ready(server: Server, path: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise AssertionError(f"server exited with {server.proc.returncode}: {server.log_tail()}")
        try:
            with urllib.request.urlopen(server.url + path, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    server.stop()
    raise AssertionError(f"server not ready after {timeout:.0f} s: {server.log_tail()}")


@contextlib.contextmanager
def _running(argv: list[str], url: str, log_path: Path, ready_path: str) -> Iterator[Server]:
    log = log_path.open("ab")
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    log.close()
    server = Server(url, proc, log_path)
    try:
        _wait_ready(server, ready_path)
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def _running_tool(
    exe: str, root: Path, name: str, config_text: str, storage_flag: str, extra: list[str]
) -> Iterator[Server]:
    """``exe`` (Prometheus or Alertmanager) on a free port; its ``name``.yml and data under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    config = root / f"{name}.yml"
    config.write_text(config_text)
    port = free_port()
    argv = [
        exe,
        f"--config.file={config}",
        f"{storage_flag}={root / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        *extra,
        "--log.level=warn",
    ]
    with _running(argv, f"http://127.0.0.1:{port}", root / f"{name}.log", "/-/ready") as server:
        yield server


@contextlib.contextmanager
def running_prometheus(root: Path, config_text: str) -> Iterator[Server]:
    """Prometheus with ``config_text`` as its configuration, data under ``root``."""
    exe = binary("prometheus")
    with _running_tool(
        exe, root, "prometheus", config_text, "--storage.tsdb.path", ["--web.enable-lifecycle"]
    ) as server:
        yield server


@contextlib.contextmanager
def running_alertmanager(root: Path, config_text: str) -> Iterator[Server]:
    """Alertmanager with ``config_text`` as its configuration, data under ``root``, clustering off."""
    exe = binary("prometheus-alertmanager")
    with _running_tool(
        exe, root, "alertmanager", config_text, "--storage.path", ["--cluster.listen-address="]
    ) as server:
        yield server


def prometheus_query(server: Server, promql: str) -> list[dict[str, Any]]:
    """The result vector of an instant query."""
    body = server.get_json("/api/v1/query", query=promql)
    assert body["status"] == "success", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result
