"""``postaltop hosts list`` / ``hosts trust`` against a real sshd."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from postaltop.cli import main
from tests.support.sshd import SshdServer

pytestmark = pytest.mark.ssh


def write_config(tmp_path: Path, server: SshdServer, trust: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        "\n".join(
            [
                "[ssh]",
                f'known_hosts = ["{trust}"]',
                "ssh_config = []",
                "connect_timeout = 5",
                "",
                "[[hosts]]",
                'name = "mx1"',
                'address = "127.0.0.1"',
                f"port = {server.port}",
                f'user = "{server.user}"',
                f'key_file = "{server.client_key}"',
                "",
            ]
        )
    )
    path.chmod(0o600)
    return path


def test_trust_shows_fingerprint_writes_the_configured_file_and_list_reports_it(
    sshd: SshdServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trust = tmp_path / "kh" / "known_hosts"
    config = write_config(tmp_path, sshd, trust)
    assert main(["--config", str(config), "hosts", "list"]) == 1  # unknown key: a problem
    out = capsys.readouterr().out
    assert "unknown" in out and sshd.fingerprint() in out and "postaltop hosts trust mx1" in out

    # not a terminal and no --yes: refused before anything is fetched or written
    assert main(["--config", str(config), "hosts", "trust", "mx1"]) == 2
    assert not trust.exists()

    assert main(["--config", str(config), "hosts", "trust", "mx1", "--yes"]) == 0
    out = capsys.readouterr().out
    assert sshd.fingerprint() in out.splitlines()[0]  # the fingerprint is shown before writing
    assert trust.read_text() == sshd.known_hosts_line()
    assert trust.stat().st_mode & 0o777 == 0o600

    assert main(["--config", str(config), "hosts", "list"]) == 0
    assert f"trusted    {sshd.fingerprint()}" in capsys.readouterr().out
    # trusting again changes nothing
    assert main(["--config", str(config), "hosts", "trust", "mx1", "--yes"]) == 0
    assert "already trusted" in capsys.readouterr().out
    assert trust.read_text() == sshd.known_hosts_line()


def test_changed_key_is_refused_loudly_and_replaced_only_with_the_explicit_flag(
    sshd: SshdServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trust = tmp_path / "known_hosts"
    fake = "AAAAC3NzaC1lZDI1NTE5AAAAIFakeFakeFakeFakeFakeFakeFakeFakeFakeFakeFake"
    trust.write_text(f"# mine\nother.example ssh-ed25519 {fake}\n")
    trust.write_text(trust.read_text() + sshd.known_hosts_line())
    config = write_config(tmp_path, sshd, trust)
    old_line = sshd.known_hosts_line()
    sshd.regenerate_host_key()
    sshd.restart()
    before = trust.read_text()

    assert main(["--config", str(config), "hosts", "trust", "mx1", "--yes"]) == 1
    captured = capsys.readouterr()
    assert "HAS CHANGED" in captured.err and "--replace-changed-key" in captured.err
    assert sshd.fingerprint() in captured.out
    assert trust.read_text() == before  # never overwritten

    assert main(["--config", str(config), "hosts", "list"]) == 1
    assert "CHANGED" in capsys.readouterr().out

    assert main(["--config", str(config), "hosts", "trust", "mx1", "--yes", "--replace-changed-key"]) == 0
    text = trust.read_text()
    assert old_line not in text and sshd.known_hosts_line() in text
    assert text.startswith("# mine\nother.example ")  # other entries are kept


def test_interactive_no_answer_trusts_nothing(sshd: SshdServer, tmp_path: Path) -> None:
    """On a terminal the default answer is No (run under a pseudo-terminal with `script`)."""
    trust = tmp_path / "known_hosts"
    config = write_config(tmp_path, sshd, trust)
    command = f"{sys.executable} -m postaltop --config {config} hosts trust mx1"
    proc = subprocess.run(
        ["script", "-qec", command, "/dev/null"], input="\n", capture_output=True, text=True, timeout=60
    )
    assert "[y/N]" in proc.stdout and sshd.fingerprint() in proc.stdout
    assert proc.returncode == 1 and not trust.exists()
