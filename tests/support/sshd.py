"""A real OpenSSH ``sshd`` on loopback for the SSH tests and benchmarks.

``start_sshd(root)`` runs ``/usr/sbin/sshd -D -e -f <root>/sshd_config`` on a free 127.0.0.1 port as
the current user, with a temporary host key and one temporary client key in ``authorized_keys``. The
key's ``environment=`` options (``PermitUserEnvironment yes``) put ``tests/support/shims`` first on the
session ``PATH`` and name the shim state directory, so remote ``docker`` / ``journalctl`` are the
shims, while every other command (``sh``, ``cat``, ``tail``) is the real one.

Faults: :meth:`SshdServer.kill` kills the listener *and every session process* (a killed listener
alone leaves established sessions running), like a host crash; :meth:`SshdServer.restart` brings sshd
back on the same port with the same host key.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncssh

SSHD = Path("/usr/sbin/sshd")
SHIM_DIR = Path(__file__).resolve().parent / "shims"


class SshdUnavailable(RuntimeError):
    """OpenSSH's server is not installed or would not start here."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ppid_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # the command name is in parentheses and may contain spaces: split after the last ')'
        fields = stat.rsplit(")", 1)[1].split()
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` in the process tree."""
    children = _ppid_map()
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


@dataclass
class SshdServer:
    """One running (or stopped) test sshd and the files around it."""

    root: Path
    port: int
    host_key: Path
    client_key: Path
    known_hosts: Path
    state_dir: Path
    user: str
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_path = self.root / "sshd.log"

    # -- process control -------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> None:
        """Start sshd and wait until it accepts TCP connections."""
        if self.proc is not None and self.proc.poll() is None:
            return
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [str(SSHD), "-D", "-e", "-f", str(self.root / "sshd_config")],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SshdUnavailable(f"sshd exited with {self.proc.returncode}: {self.log_tail()}")
            with socket.socket() as sock:
                sock.settimeout(0.2)
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.01)
        self.kill()
        raise SshdUnavailable(f"sshd did not listen on port {self.port}: {self.log_tail()}")

    def kill(self) -> None:
        """Kill sshd and all its session processes at once (a crash, not a clean shutdown)."""
        if self.proc is None:
            return
        pid = self.proc.pid
        if self.proc.poll() is None:
            # Freeze the tree first so nothing forks while we collect it.
            _signal(pid, signal.SIGSTOP)
            stopped: set[int] = set()
            while True:
                tree = set(descendants(pid)) - stopped
                if not tree:
                    break
                for child in tree:
                    _signal(child, signal.SIGSTOP)
                stopped |= tree
            for child in stopped:
                _signal(child, signal.SIGKILL)
            _signal(pid, signal.SIGKILL)
            for child in stopped:
                _signal(child, signal.SIGCONT)
        self.proc.wait(timeout=10)
        self.proc = None

    def stop(self) -> None:
        """Alias of :meth:`kill`: tests do not need a graceful shutdown."""
        self.kill()

    def restart(self) -> None:
        """Kill and start again on the same port with the same host key."""
        self.kill()
        self.start()

    def log_tail(self, n: int = 2000) -> str:
        """The end of sshd's own log (errors only)."""
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    # -- keys ------------------------------------------------------------------------

    def host_public_key(self) -> asyncssh.SSHKey:
        """The public half of the current host key."""
        return asyncssh.read_private_key(str(self.host_key)).convert_to_public()

    def fingerprint(self) -> str:
        """SHA256 fingerprint of the host key, as OpenSSH prints it."""
        return str(self.host_public_key().get_fingerprint("sha256"))

    def known_hosts_line(self) -> str:
        """A known_hosts entry for this server."""
        key = self.host_public_key().export_public_key("openssh").decode().strip()
        return f"[127.0.0.1]:{self.port} {key}\n"

    def regenerate_host_key(self) -> None:
        """Replace the host key (takes effect on the next :meth:`restart`)."""
        _write_private_key(self.host_key)

    # -- shim state ------------------------------------------------------------------

    def add_container(
        self,
        name: str,
        service: str,
        project: str = "postal",
        image: str = "ghcr.io/postalserver/postal:3.3.6",
        **spec: Any,
    ) -> None:
        """Declare a running container with a compose label and its log spec (see ``_shimlib``)."""
        containers = self._read_state("containers.json", [])
        labels = {"com.docker.compose.project": project, "com.docker.compose.service": service}
        containers.append({"name": name, "labels": labels, "image": image})
        self._write_state("containers.json", containers)
        spec.setdefault("component", service)
        self.set_log(name, **spec)

    def add_unit(self, unit: str, log_name: str, **spec: Any) -> None:
        """Declare a systemd unit whose journal is the log ``log_name``."""
        units = self._read_state("units.json", {})
        units[unit] = log_name
        self._write_state("units.json", units)
        self.set_log(log_name, **spec)

    def set_log(self, name: str, **spec: Any) -> None:
        """Create or update the spec of log ``name``; ``start_ns`` defaults to now."""
        current = self._read_state(f"logs/{name}.json", {})
        current.update(spec)
        current.setdefault("start_ns", time.time_ns())
        current.setdefault("rate", 1000.0)
        self._write_state(f"logs/{name}.json", current)

    def calls(self) -> list[list[str]]:
        """Every shim invocation so far, as ``[tool, *argv]``."""
        path = self.state_dir / "calls.log"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line]

    def _read_state(self, name: str, default: Any) -> Any:
        path = self.state_dir / name
        return json.loads(path.read_text()) if path.exists() else default

    def _write_state(self, name: str, value: Any) -> None:
        path = self.state_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(value))
        tmp.replace(path)  # atomic: a shim never reads half a file

    # -- clients -----------------------------------------------------------------------

    def ssh_command(self, *remote: str) -> list[str]:
        """An OpenSSH client command line running ``remote`` on this server, strict host key checking on."""
        return [
            "ssh",
            "-p",
            str(self.port),
            "-i",
            str(self.client_key),
            "-o",
            f"UserKnownHostsFile={self.known_hosts}",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "BatchMode=yes",
            "-o",
            "IdentitiesOnly=yes",
            "-F",
            "/dev/null",
            f"{self.user}@127.0.0.1",
            *remote,
        ]


def _write_private_key(path: Path) -> Path:
    key = asyncssh.generate_private_key("ssh-ed25519")
    path.unlink(missing_ok=True)
    key.write_private_key(str(path))
    path.chmod(0o600)  # sshd refuses a host key others can read
    key.write_public_key(str(path) + ".pub")
    return path


def start_sshd(root: Path, *, start: bool = True) -> SshdServer:
    """Create keys and config under ``root`` and start sshd.

    Raises:
        SshdUnavailable: sshd is missing or does not start.
    """
    if not SSHD.exists():
        raise SshdUnavailable(f"{SSHD} not found (apt-get install openssh-server)")
    if os.geteuid() == 0:
        # sshd insists on its privilege separation directory when started as root
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    root.mkdir(parents=True, exist_ok=True)
    state = root / "shim-state"
    (state / "logs").mkdir(parents=True, exist_ok=True)
    host_key = _write_private_key(root / "ssh_host_ed25519_key")
    client_key = _write_private_key(root / "client_ed25519")
    pub = (root / "client_ed25519.pub").read_text().strip()
    home = root / "home"
    home.mkdir(exist_ok=True)
    path = f"{SHIM_DIR}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
    options = ",".join(
        f'environment="{name}={value}"'
        for name, value in (
            ("PATH", path),
            # a fresh home: the session shell must not run this machine's ~/.bashrc (pyenv init
            # costs ~0.3 s per channel), as on a bare Postal host
            ("HOME", str(home)),
            ("POSTALTOP_SHIM_STATE", state),
            ("POSTALTOP_SHIM_PYTHON", sys.executable),
        )
    )
    (root / "authorized_keys").write_text(f"{options} {pub}\n")
    port = free_port()
    user = getpass.getuser()
    (root / "sshd_config").write_text(
        "\n".join(
            [
                f"Port {port}",
                "ListenAddress 127.0.0.1",
                f"HostKey {host_key}",
                f"PidFile {root / 'sshd.pid'}",
                f"AuthorizedKeysFile {root / 'authorized_keys'}",
                "StrictModes no",
                "UsePAM no",
                "PermitRootLogin prohibit-password",
                "PubkeyAuthentication yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "PermitUserEnvironment yes",
                f"AllowUsers {user}",
                "MaxStartups 100:30:200",
                "MaxSessions 64",
                "LogLevel ERROR",
                "",
            ]
        )
    )
    server = SshdServer(
        root=root,
        port=port,
        host_key=host_key,
        client_key=client_key,
        known_hosts=root / "known_hosts",
        state_dir=state,
        user=user,
    )
    server.known_hosts.write_text(server.known_hosts_line())
    if start:
        server.start()
    return server
