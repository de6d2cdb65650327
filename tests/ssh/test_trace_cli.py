"""``postaltop trace REF``: the hosts' logs searched over SSH (two real sshd hosts)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from postaltop.cli import main
from tests.ssh.two_hosts import write_config
from tests.support.sshd import SshdServer, start_sshd

pytestmark = pytest.mark.ssh


def test_trace_greps_every_host_and_matches_exactly(
    sshd: SshdServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = start_sshd(tmp_path / "b")
    try:
        start = time.time_ns() - 120_000_000_000  # two minutes ago
        sshd.add_container("postal-worker-1", "worker", rate=100, count=200, start_ns=start)
        sshd.add_container("postal-smtp-1", "smtp", rate=100, count=200, start_ns=start)
        other.add_container("postal-worker-1", "worker", rate=100, count=200, start_ns=start + 5_000_000_000)
        config = write_config(tmp_path, {"mx1": sshd, "mx2": other})
        assert main(["--config", str(config), "trace", "42", "--since", "1h", "--no-db"]) == 0
        out = capsys.readouterr().out.splitlines()
        lines = [line for line in out if not line.startswith("#")]
        # line 42 of each worker log, not 142 nor the smtp lines holding "42" in their trace_id
        assert len(lines) == 2, out
        assert all("queued_message=42" in line for line in lines)
        assert [line.split()[2] for line in lines] == ["mx1", "mx2"]  # time order: mx2's log starts later
        assert "# database: not configured" not in out  # --no-db
        calls = [c for c in sshd.calls() if c[:2] == ["docker", "logs"]]
        assert calls and all("--since" in c and "1h" in c for c in calls)

        assert main(["--config", str(config), "trace", "T0000007", "--no-db"]) == 0
        smtp = [line for line in capsys.readouterr().out.splitlines() if not line.startswith("#")]
        assert len(smtp) == 1 and "trace_id=T0000007" in smtp[0] and " mx1 " in smtp[0]
    finally:
        other.kill()


def test_trace_reports_unreachable_hosts_and_bad_input(
    sshd: SshdServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, {"mx1": sshd})
    sshd.kill()
    assert main(["--config", str(config), "trace", "3::1204577", "--no-db"]) == 0
    captured = capsys.readouterr()
    assert "mx1: cannot connect" in captured.err and "nothing found for 3::1204577" in captured.out
    assert main(["--config", str(config), "trace", "$(reboot)"]) == 2
    assert main(["--config", str(config), "trace", "42", "--since", "forever"]) == 2
