"""Reading a host's Postal version over a real loopback sshd with the docker shim."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from postaltop.sources.host_version import load_release_table, read_host_version
from tests.support.ssh_client import host_config, running_sshd, ssh_options
from tests.support.sshd import SshdServer

pytestmark = pytest.mark.ssh


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[SshdServer]:
    with running_sshd(tmp_path / "sshd") as server:
        yield server


async def test_image_tag_of_the_compose_containers(sshd: SshdServer) -> None:
    sshd.add_container("postal-web-1", "web", image="ghcr.io/postalserver/postal:3.3.4", count=0)
    sshd.add_container("postal-worker-1", "worker", image="ghcr.io/postalserver/postal:3.3.4", count=0)
    table = load_release_table()
    hv = await read_host_version(host_config(sshd), ssh_options(sshd), table)
    assert hv.error == ""
    assert hv.reading is not None and hv.reading.source == "image"
    assert str(hv.status.version) == "3.3.4"
    assert hv.status.behind == 2 and [str(r.version) for r in hv.status.missing_security] == [
        "3.3.5",
        "3.3.6",
    ]
    assert ("postal-web-1", "ghcr.io/postalserver/postal:3.3.4") in hv.containers
    assert any(call[:2] == ["docker", "ps"] for call in sshd.calls())


async def test_latest_tag_is_unknown_not_guessed(sshd: SshdServer) -> None:
    sshd.add_container("postal-web-1", "web", image="ghcr.io/postalserver/postal:latest", count=0)
    hv = await read_host_version(host_config(sshd), ssh_options(sshd), load_release_table())
    assert hv.status.version is None
    assert "follows a branch" in hv.status.describe()
    # it asked the container's VERSION file next (the shim has no `docker exec`: nothing printed)
    assert any(call[:2] == ["docker", "exec"] for call in sshd.calls())


async def test_unreachable_host_reports_an_error(sshd: SshdServer) -> None:
    sshd.kill()
    hv = await read_host_version(host_config(sshd), ssh_options(sshd), load_release_table(), timeout=5)
    assert hv.status.version is None and hv.error.startswith("cannot connect")
