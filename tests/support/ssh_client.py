"""The client side of the loopback sshd tests: a running server, its host entry and SSH options.

``running_sshd(root)`` starts :func:`tests.support.sshd.start_sshd` (skipping, or failing under
``POSTALTOP_REQUIRE_SERVICES=1``, when sshd is missing) and kills it with its sessions afterwards.
``host_config`` / ``ssh_options`` are what postaltop's SSH sources need to reach that server, isolated
from the user's ``~/.ssh`` (only the test's known_hosts, no ssh config).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from postaltop.config import HostConfig
from postaltop.sources.ssh import SshOptions
from tests.support.services import missing_service
from tests.support.sshd import SshdServer, SshdUnavailable, start_sshd


@contextlib.contextmanager
def running_sshd(root: Path) -> Iterator[SshdServer]:
    """A running sshd under ``root``, killed (with its sessions) when the block ends."""
    try:
        server = start_sshd(root)
    except SshdUnavailable as exc:
        missing_service(f"OpenSSH sshd unavailable: {exc}")
        raise AssertionError("unreachable") from exc
    try:
        yield server
    finally:
        server.kill()


def host_config(server: SshdServer, **overrides: object) -> HostConfig:
    """A host entry ``mx1`` pointing at the test sshd with its client key."""
    values: dict[str, object] = {
        "name": "mx1",
        "address": "127.0.0.1",
        "port": server.port,
        "user": server.user,
        "key_file": server.client_key,
    }
    values.update(overrides)
    return HostConfig.model_validate(values)


def ssh_options(server: SshdServer, known_hosts: Path | None = None) -> SshOptions:
    """Options isolated from the user's ~/.ssh: only the test's known_hosts, no ssh config."""
    return SshOptions(known_hosts=[known_hosts or server.known_hosts], ssh_config=[], connect_timeout=5.0)
