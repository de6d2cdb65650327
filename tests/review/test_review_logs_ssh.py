"""``postaltop report`` over real SSH: the window's container logs fetched from a loopback sshd."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from postaltop.cli import main
from postaltop.core.sim import DEFAULT_START, Fleet
from tests.support.ssh_client import running_sshd
from tests.support.sshd import SshdServer

pytestmark = pytest.mark.ssh


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[SshdServer]:
    with running_sshd(tmp_path / "sshd") as server:
        yield server


def test_report_fetches_the_window_over_ssh(
    sshd: SshdServer, tmp_path: Path, xdg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fleet = Fleet(seed=5, scenario="brute-force", start=DEFAULT_START, volume=0.1)
    lines = fleet.advance(DEFAULT_START + 900)
    for component in ("smtp", "worker"):
        path = tmp_path / f"{component}.log"
        path.write_bytes(
            b"".join(x.line + b"\n" for x in lines if x.host == "mx1" and x.component == component)
        )
        sshd.add_container(
            f"postal-{component}-1", component, image="ghcr.io/postalserver/postal:3.3.4", file=str(path)
        )
    config = tmp_path / "config.toml"
    config.write_text(
        f'[ssh]\nknown_hosts = ["{sshd.known_hosts}"]\nssh_config = []\n\n'
        f'[[hosts]]\nname = "mx1"\naddress = "127.0.0.1"\nport = {sshd.port}\nuser = "{sshd.user}"\n'
        f'key_file = "{sshd.client_key}"\n'
    )
    config.chmod(0o600)
    out = tmp_path / "report.md"
    code = main(
        ["report", "--config", str(config), "--from", "2026-04-28T09:00", "--to", "2026-04-28T09:15",
         "--output", str(out)]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    md = out.read_text()
    assert "source: SSH: docker logs" in md and "incomplete" not in md
    assert "| 192.0.2." in md.split("**Failed logins by IP**")[1].split("**")[0]
    assert "mx1 runs Postal 3.3.4: security fixes missing (3.3.5, 3.3.6)" in md
    calls = [c for c in sshd.calls() if c[:2] == ["docker", "logs"]]
    assert {c[-2] if c[-1] == "2>&1" else c[-1] for c in calls} == {"postal-smtp-1", "postal-worker-1"}
    assert all("--since" in c and "2026-04-28T09:00:00Z" in c for c in calls)
