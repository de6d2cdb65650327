"""Strict host keys and authentication errors, against a real sshd."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import asyncssh
import pytest

from postaltop.sources.host_status import HostState
from postaltop.sources.logs import Backoff, HostLogStream
from postaltop.sources.ssh import (
    HostKeyChanged,
    HostKeyUnknown,
    SshAuthError,
    SshConnectError,
    SshOptions,
    connect,
    fetch_host_key,
    trust_host_key,
)
from tests.ssh.conftest import Collector, host_config, ssh_options
from tests.support.sshd import SshdServer, free_port

pytestmark = pytest.mark.ssh


async def test_known_key_connects_and_runs_a_command(sshd: SshdServer) -> None:
    hc = await connect(host_config(sshd), ssh_options(sshd))
    try:
        result = await hc.conn.run("echo ok", check=True)
        assert result.stdout == "ok\n"
    finally:
        hc.close()


async def test_unknown_host_key_is_refused_with_its_fingerprint(sshd: SshdServer, tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    with pytest.raises(HostKeyUnknown) as info:
        await connect(host_config(sshd), ssh_options(sshd, empty))
    assert info.value.fingerprint == sshd.fingerprint()
    assert sshd.fingerprint() in str(info.value)
    assert "postaltop hosts trust mx1" in str(info.value)


async def test_missing_known_hosts_file_means_unknown_not_unchecked(sshd: SshdServer, tmp_path: Path) -> None:
    with pytest.raises(HostKeyUnknown):
        await connect(host_config(sshd), ssh_options(sshd, tmp_path / "does-not-exist"))


async def test_changed_host_key_is_refused_loudly(sshd: SshdServer) -> None:
    old = sshd.fingerprint()
    sshd.regenerate_host_key()
    sshd.restart()
    with pytest.raises(HostKeyChanged) as info:
        await connect(host_config(sshd), ssh_options(sshd))
    message = str(info.value)
    assert "CHANGED" in message and sshd.fingerprint() in message
    assert info.value.fingerprint == sshd.fingerprint() != old


async def test_ssh_config_cannot_switch_host_key_checking_off(sshd: SshdServer, tmp_path: Path) -> None:
    config = tmp_path / "ssh_config"
    config.write_text("Host *\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n")
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    options = SshOptions(known_hosts=[empty], ssh_config=[config], connect_timeout=5.0)
    with pytest.raises(HostKeyUnknown):
        await connect(host_config(sshd), options)


async def test_unauthorized_client_key_is_a_clear_auth_error(sshd: SshdServer, tmp_path: Path) -> None:
    stranger = tmp_path / "stranger"
    asyncssh.generate_private_key("ssh-ed25519").write_private_key(str(stranger))
    with pytest.raises(SshAuthError) as info:
        await connect(host_config(sshd, key_file=stranger), ssh_options(sshd))
    assert "authentication failed" in str(info.value) and str(stranger) in str(info.value)


async def test_missing_or_garbage_key_file_is_an_auth_error(sshd: SshdServer, tmp_path: Path) -> None:
    with pytest.raises(SshAuthError, match="not found"):
        await connect(host_config(sshd, key_file=tmp_path / "nope"), ssh_options(sshd))
    garbage = tmp_path / "garbage"
    garbage.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nnot a key\n")
    with pytest.raises(SshAuthError, match="cannot use the key file"):
        await connect(host_config(sshd, key_file=garbage), ssh_options(sshd))


async def test_nothing_listening_is_a_transient_error(sshd: SshdServer) -> None:
    with pytest.raises(SshConnectError, match="cannot connect"):
        await connect(host_config(sshd, port=free_port()), ssh_options(sshd))


async def test_stream_reports_refused_key_and_never_runs_commands(
    sshd: SshdServer, tmp_path: Path, collector: Collector
) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    sshd.add_container("postal-smtp-1", "smtp", count=10)
    stream = HostLogStream(
        host_config(sshd), ssh_options(sshd, empty), on_status=collector.status, backoff=Backoff(maximum=0.2)
    )
    task = asyncio.create_task(stream.run(collector))
    try:
        await collector.wait_for(lambda: len(collector.statuses) >= 2, timeout=10)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    refused = [s for s in collector.statuses if s.state is HostState.HOST_KEY_UNKNOWN]
    assert refused and refused[0].fingerprint == sshd.fingerprint()
    assert refused[0].state.is_problem and sshd.fingerprint() in refused[0].describe()
    assert sshd.calls() == [] and collector.batches == []
    assert collector.statuses[-1].state is HostState.DISCONNECTED


async def test_trust_flow_requires_the_confirmed_fingerprint(sshd: SshdServer, tmp_path: Path) -> None:
    known = tmp_path / "ssh" / "known_hosts"
    options = SshOptions(known_hosts=[known], ssh_config=[], connect_timeout=5.0)
    host = host_config(sshd)
    fetched = await fetch_host_key(host, options)
    assert (fetched.status, fetched.fingerprint) == ("unknown", sshd.fingerprint())
    assert fetched.host_pattern == f"[127.0.0.1]:{sshd.port}"
    with pytest.raises(HostKeyChanged, match="nothing was trusted"):
        await trust_host_key(host, known, expected_fingerprint="SHA256:not-the-one", options=options)
    assert not known.exists()
    await trust_host_key(host, known, expected_fingerprint=fetched.fingerprint, options=options)
    assert known.read_text() == fetched.known_hosts_line
    assert known.stat().st_mode & 0o077 == 0
    hc = await connect(host, options)
    hc.close()
    # trusting again is a no-op; a changed key is never trusted over the old one
    await trust_host_key(host, known, expected_fingerprint=fetched.fingerprint, options=options)
    assert known.read_text().count("\n") == 1
    sshd.regenerate_host_key()
    sshd.restart()
    with pytest.raises(HostKeyChanged, match="remove it first"):
        await trust_host_key(host, known, expected_fingerprint=sshd.fingerprint(), options=options)
    assert known.read_text() == fetched.known_hosts_line
