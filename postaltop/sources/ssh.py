"""SSH connections to Postal hosts, with strict host key checking that can never be switched off.

One ``asyncssh`` connection per host, with keepalives. ``~/.ssh/config`` is honoured for what it
names (HostName, User, Port, IdentityFile, ProxyJump ...), but host keys are always checked against
explicit known_hosts files: a ``StrictHostKeyChecking no`` or ``UserKnownHostsFile /dev/null`` there
cannot turn checking off. An unknown key is refused with its SHA256 fingerprint, a changed key is
refused loudly; nothing is ever accepted automatically. :func:`trust_host_key` adds a key to
known_hosts only when the caller asks (``postaltop hosts trust NAME``), and only if its fingerprint
is the one the user confirmed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh
from asyncssh.encryption import get_default_encryption_algs

from postaltop.config import HostConfig

DEFAULT_KNOWN_HOSTS = (Path("~/.ssh/known_hosts"), Path("/etc/ssh/ssh_known_hosts"))
_JUMP_RE = re.compile(r"^(?:(?P<user>[^@\s]+)@)?(?P<host>\[[^\]\s]+\]|[^:@\s]+)(?::(?P<port>\d{1,5}))?$")


class SshError(Exception):
    """Base of the connection errors; ``str()`` is a sentence for the user."""


class HostKeyError(SshError):
    """The host's key is not trusted."""

    def __init__(self, message: str, host: str, fingerprint: str | None) -> None:
        super().__init__(message)
        self.host = host
        self.fingerprint = fingerprint


class HostKeyUnknown(HostKeyError):
    """No known_hosts entry exists for the host."""


class HostKeyChanged(HostKeyError):
    """known_hosts holds a different key for the host: possible man-in-the-middle."""


class SshAuthError(SshError):
    """The server refused our credentials, or a key file could not be used."""


class SshConnectError(SshError):
    """A transient failure: refused, unreachable, timed out, connection lost."""


@dataclass(frozen=True, slots=True)
class SshOptions:
    """How connections are made (shared by all hosts)."""

    known_hosts: Sequence[Path] | None = None
    """known_hosts files to trust; default ``~/.ssh/known_hosts`` and ``/etc/ssh/ssh_known_hosts``."""
    ssh_config: Sequence[Path] | None = None
    """OpenSSH client config files; None = ``~/.ssh/config`` when it exists, ``()`` = none."""
    hosts: Mapping[str, HostConfig] = field(default_factory=dict)
    """All configured hosts by name, to resolve ``jump_host`` names."""
    keepalive_interval: float = 15.0
    keepalive_count_max: int = 3
    connect_timeout: float = 15.0

    def known_hosts_files(self) -> list[Path]:
        """The known_hosts files that exist and are readable."""
        candidates = self.known_hosts if self.known_hosts is not None else DEFAULT_KNOWN_HOSTS
        found = []
        for path in candidates:
            full = path.expanduser()
            if full.is_file() and os.access(full, os.R_OK):
                found.append(full)
        return found


class _KeyRecorder(asyncssh.SSHClient):
    """Refuses every host key that known_hosts did not already trust, remembering what was offered."""

    def __init__(self) -> None:
        self.offered: asyncssh.SSHKey | None = None
        self.target: tuple[str, str, int] | None = None

    def validate_host_public_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
        self.offered = key
        self.target = (host, addr, port)
        return False


def fingerprint(key: asyncssh.SSHKey) -> str:
    """``SHA256:...`` fingerprint, as ``ssh-keygen -l`` prints it."""
    return str(key.get_fingerprint("sha256"))


def _known_hosts_arg(files: Sequence[Path]) -> str | list[str] | bytes:
    # b"" (no entries) rather than None: None would disable host key checking altogether
    return [str(p) for p in files] if files else b""


def _trusted_keys(files: Sequence[Path], host: str, addr: str, port: int) -> list[asyncssh.SSHKey]:
    if not files:
        return []
    trusted = asyncssh.match_known_hosts([str(p) for p in files], host, addr, port if port != 22 else None)
    return list(trusted[0])


def _host_key_error(host_cfg: HostConfig, recorder: _KeyRecorder, files: Sequence[Path]) -> HostKeyError:
    where = ", ".join(str(p) for p in files) or "no known_hosts file"
    if recorder.offered is None or recorder.target is None:
        return HostKeyChanged(
            f"host key of {host_cfg.name} was rejected (revoked or invalid certificate); checked {where}",
            host_cfg.name,
            None,
        )
    fp = fingerprint(recorder.offered)
    host, addr, port = recorder.target
    if _trusted_keys(files, host, addr, port):
        return HostKeyChanged(
            f"REMOTE HOST KEY CHANGED for {host_cfg.name} ({host}:{port}): it now presents "
            f"{recorder.offered.get_algorithm()} {fp}, which does not match {where}. Someone may be "
            "intercepting the connection, or the host was reinstalled. Verify the new key out of band, "
            "remove the old entry (ssh-keygen -R) and run 'postaltop hosts trust' again.",
            host_cfg.name,
            fp,
        )
    return HostKeyUnknown(
        f"host key of {host_cfg.name} ({host}:{port}) is not known: {recorder.offered.get_algorithm()} {fp}. "
        f"Check the fingerprint, then run 'postaltop hosts trust {host_cfg.name}'.",
        host_cfg.name,
        fp,
    )


def parse_jump(spec: str) -> HostConfig:
    """Turn ``[user@]host[:port]`` into a host entry (used when ``jump_host`` names no configured host)."""
    match = _JUMP_RE.match(spec)
    if match is None:
        raise SshConnectError(f"invalid jump_host {spec!r}: expected a host name or [user@]host[:port]")
    host = match.group("host").strip("[]")
    port = int(match.group("port") or 22)
    return HostConfig(name="jump", address=host, port=port, user=match.group("user"))


@dataclass(slots=True)
class HostConnection:
    """An open connection and the jump connections it runs over (closed together)."""

    conn: asyncssh.SSHClientConnection
    tunnels: list[asyncssh.SSHClientConnection] = field(default_factory=list)

    def close(self) -> None:
        """Close the connection and its tunnels."""
        self.conn.close()
        for tunnel in self.tunnels:
            tunnel.close()

    def is_closed(self) -> bool:
        """True once the connection is gone."""
        return bool(self.conn.is_closed())

    async def wait_closed(self) -> None:
        """Wait until the connection is closed (by us, the server or the network)."""
        await self.conn.wait_closed()


def preferred_ciphers() -> list[str]:
    """asyncssh's default ciphers with AES-GCM first.

    Decryption runs in Python-driven per-packet calls; AES-GCM is one AEAD call per packet while
    chacha20-poly1305 needs several, which halved loopback throughput in our measurements.
    """
    algs = [alg.decode("ascii") for alg in get_default_encryption_algs()]
    gcm = [alg for alg in algs if "gcm" in alg]
    return gcm + [alg for alg in algs if alg not in gcm]


async def _route(
    host_cfg: HostConfig, options: SshOptions, depth: int
) -> tuple[list[asyncssh.SSHClientConnection], dict[str, object]]:
    """The jump host's connections (nearest first; none without one) and the arguments to connect through."""
    tunnels: list[asyncssh.SSHClientConnection] = []
    if host_cfg.jump_host:
        jump_cfg = options.hosts.get(host_cfg.jump_host) or parse_jump(host_cfg.jump_host)
        jump = await connect(jump_cfg, options, depth)
        tunnels = [jump.conn, *jump.tunnels]
    kwargs = _connect_kwargs(host_cfg, options)
    if tunnels:
        kwargs["tunnel"] = tunnels[0]
    return tunnels, kwargs


def _connect_kwargs(host_cfg: HostConfig, options: SshOptions) -> dict[str, object]:
    kwargs: dict[str, object] = {
        "encryption_algs": preferred_ciphers(),
        "keepalive_interval": options.keepalive_interval,
        "keepalive_count_max": options.keepalive_count_max,
        "connect_timeout": options.connect_timeout,
    }
    if options.ssh_config is not None:
        kwargs["config"] = [str(p.expanduser()) for p in options.ssh_config]
    if host_cfg.port != 22:
        kwargs["port"] = host_cfg.port  # 22 is the model's default: leave it to ~/.ssh/config
    if host_cfg.user:
        kwargs["username"] = host_cfg.user
    if host_cfg.key_file is not None:
        kwargs["client_keys"] = [str(host_cfg.key_file.expanduser())]
        kwargs["agent_path"] = None  # the configured key only, like IdentitiesOnly
    return kwargs


async def connect(host_cfg: HostConfig, options: SshOptions | None = None, _depth: int = 0) -> HostConnection:
    """Open a strictly verified connection to ``host_cfg`` (through its jump host, if any).

    Raises:
        HostKeyUnknown: the host's key is in no known_hosts file (message holds the fingerprint).
        HostKeyChanged: known_hosts holds a different key for the host.
        SshAuthError: our keys were refused or the key file is unusable.
        SshConnectError: anything transient (refused, unreachable, timeout, lost).
    """
    options = options or SshOptions()
    if host_cfg.jump_host and _depth > 4:
        raise SshConnectError(f"jump_host chain of {host_cfg.name} is too long (a loop?)")
    tunnels, kwargs = await _route(host_cfg, options, _depth + 1)
    files = options.known_hosts_files()
    recorder = _KeyRecorder()
    try:
        conn = await asyncssh.connect(
            host_cfg.address,
            known_hosts=_known_hosts_arg(files),
            client_factory=lambda: recorder,
            **kwargs,
        )
    except asyncssh.HostKeyNotVerifiable:
        _close_all(tunnels)
        raise _host_key_error(host_cfg, recorder, files) from None
    except asyncssh.PermissionDenied as exc:
        _close_all(tunnels)
        user = host_cfg.user or "the default user"
        raise SshAuthError(
            f"authentication failed for {user} on {host_cfg.name}: the server refused "
            f"{'key ' + str(host_cfg.key_file) if host_cfg.key_file else 'our keys'} ({exc.reason})"
        ) from None
    except (asyncssh.KeyImportError, asyncssh.KeyEncryptionError) as exc:
        _close_all(tunnels)
        raise SshAuthError(f"cannot use the key file for {host_cfg.name}: {exc}") from None
    except FileNotFoundError as exc:
        _close_all(tunnels)
        raise SshAuthError(f"key file for {host_cfg.name} not found: {exc.filename}") from None
    except (TimeoutError, OSError, asyncssh.Error) as exc:
        _close_all(tunnels)
        reason = getattr(exc, "reason", None) or str(exc) or type(exc).__name__
        raise SshConnectError(f"cannot connect to {host_cfg.name} ({host_cfg.address}): {reason}") from None
    except BaseException:
        _close_all(tunnels)
        raise
    return HostConnection(conn, tunnels)


def _close_all(conns: Sequence[asyncssh.SSHClientConnection]) -> None:
    for conn in conns:
        conn.close()


@dataclass(frozen=True, slots=True)
class FetchedHostKey:
    """The key a host presents, and how it compares with known_hosts."""

    host_pattern: str
    """The known_hosts host field for it (``name`` or ``[name]:port``)."""
    key: asyncssh.SSHKey
    fingerprint: str
    status: str
    """``"trusted"``, ``"unknown"`` or ``"changed"``."""

    @property
    def known_hosts_line(self) -> str:
        """The line :func:`trust_host_key` appends."""
        return f"{self.host_pattern} {self.key.export_public_key('openssh').decode().strip()}\n"


async def fetch_host_key(host_cfg: HostConfig, options: SshOptions | None = None) -> FetchedHostKey:
    """Connect far enough to see the host's key (nothing is trusted or sent), and classify it.

    Raises:
        SshConnectError: the host could not be reached.
    """
    options = options or SshOptions()
    tunnels, kwargs = await _route(host_cfg, options, 1)
    recorder = _KeyRecorder()
    try:
        conn = await asyncssh.connect(
            host_cfg.address,
            known_hosts=b"",  # trust nothing: every key reaches the recorder
            client_factory=lambda: recorder,
            **kwargs,
        )
        conn.close()
    except asyncssh.HostKeyNotVerifiable:
        pass
    except (TimeoutError, OSError, asyncssh.Error) as exc:
        raise SshConnectError(f"cannot connect to {host_cfg.name} ({host_cfg.address}): {exc}") from None
    finally:
        _close_all(tunnels)
    if recorder.offered is None or recorder.target is None:
        raise SshConnectError(f"{host_cfg.name} presented no plain host key")
    host, addr, port = recorder.target
    trusted = _trusted_keys(options.known_hosts_files(), host, addr, port)
    status = "trusted" if recorder.offered in trusted else ("changed" if trusted else "unknown")
    pattern = host if port == 22 else f"[{host}]:{port}"
    return FetchedHostKey(pattern, recorder.offered, fingerprint(recorder.offered), status)


async def trust_host_key(
    host_cfg: HostConfig,
    known_hosts_path: Path,
    *,
    expected_fingerprint: str,
    options: SshOptions | None = None,
) -> FetchedHostKey:
    """Append the host's current key to ``known_hosts_path`` after the user confirmed its fingerprint.

    The key is fetched again and must still have ``expected_fingerprint`` (the one shown to the
    user), so a key swapped between showing and confirming is not trusted.

    Raises:
        HostKeyChanged: known_hosts already holds a different key for the host (remove it first),
            or the key no longer matches ``expected_fingerprint``.
        SshConnectError: the host could not be reached.
    """
    options = options or SshOptions()
    checked = SshOptions(
        known_hosts=[known_hosts_path, *options.known_hosts_files()],
        ssh_config=options.ssh_config,
        hosts=options.hosts,
        connect_timeout=options.connect_timeout,
    )
    fetched = await fetch_host_key(host_cfg, checked)
    if fetched.fingerprint != expected_fingerprint:
        raise HostKeyChanged(
            f"{host_cfg.name} now presents {fetched.fingerprint}, not the confirmed {expected_fingerprint}; "
            "nothing was trusted",
            host_cfg.name,
            fetched.fingerprint,
        )
    if fetched.status == "changed":
        raise HostKeyChanged(
            f"known_hosts already holds a different key for {fetched.host_pattern}; remove it first "
            f"(ssh-keygen -R '{fetched.host_pattern}' -f {known_hosts_path}) if the change is expected",
            host_cfg.name,
            fetched.fingerprint,
        )
    if fetched.status == "trusted":
        return fetched
    path = known_hosts_path.expanduser()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a", encoding="ascii") as fh:
        if path.stat().st_size and not path.read_bytes().endswith(b"\n"):
            fh.write("\n")
        fh.write(fetched.known_hosts_line)
    return fetched
