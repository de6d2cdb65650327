"""The database's optional SSH tunnel: a local port forward through one of the configured hosts.

``[database] ssh_tunnel = "mx1"`` makes the pool connect to ``127.0.0.1:<ephemeral port>`` on this
machine, which asyncssh forwards (``direct-tcpip``) to ``[database] host:port`` as seen from ``mx1``.
The SSH connection is opened with the SSH source's own code (strict host keys, jump hosts, options):
:func:`postaltop.sources.ssh.connect`. :meth:`DbTunnel.endpoint` reopens it when it was lost, so the
database source's reconnect loop (with its backoff) also recovers the tunnel.
"""

from __future__ import annotations

import asyncio
import contextlib

import asyncssh

from postaltop.config import HostConfig
from postaltop.sources import ssh

LOCAL_HOST = "127.0.0.1"


class DbTunnel:
    """A local port forward to ``remote_host:remote_port`` through the SSH host ``host_cfg``.

    Args:
        host_cfg: the ``[[hosts]]`` entry the tunnel goes through.
        options: SSH options (known_hosts, jump hosts by name, timeouts).
        remote_host: the database host as the SSH host sees it (often ``127.0.0.1``).
        remote_port: the database port.
    """

    def __init__(
        self, host_cfg: HostConfig, options: ssh.SshOptions, remote_host: str, remote_port: int
    ) -> None:
        self.host_cfg = host_cfg
        self.options = options
        self.remote_host = remote_host
        self.remote_port = remote_port
        self._connection: ssh.HostConnection | None = None
        self._listener: asyncssh.SSHListener | None = None
        self._lock = asyncio.Lock()

    @property
    def is_open(self) -> bool:
        """True while the SSH connection and the listener are up."""
        connection = self._connection
        return connection is not None and not connection.is_closed() and self._listener is not None

    @property
    def local_port(self) -> int | None:
        """The local end's port, while open."""
        return self._listener.get_port() if self._listener is not None else None

    def describe(self) -> str:
        """``via mx1 → 127.0.0.1:3306`` for status lines."""
        return f"via {self.host_cfg.name} → {self.remote_host}:{self.remote_port}"

    async def endpoint(self) -> tuple[str, int]:
        """The local ``(host, port)`` to connect to, opening (or reopening) the tunnel when needed.

        Raises:
            postaltop.sources.ssh.SshError: the SSH connection failed (host key, auth, unreachable).
            OSError: the local listener could not be opened.
        """
        async with self._lock:
            if not self.is_open:
                await self._close()
                connection = await ssh.connect(self.host_cfg, self.options)
                try:
                    listener = await connection.conn.forward_local_port(
                        LOCAL_HOST, 0, self.remote_host, self.remote_port
                    )
                except BaseException:
                    connection.close()
                    raise
                self._connection, self._listener = connection, listener
            port = self.local_port
            assert port is not None
            return LOCAL_HOST, port

    async def close(self) -> None:
        """Close the listener and the SSH connection (idempotent)."""
        async with self._lock:
            await self._close()

    async def _close(self) -> None:
        listener, self._listener = self._listener, None
        connection, self._connection = self._connection, None
        if listener is not None:
            listener.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(listener.wait_closed(), 2.0)
        if connection is not None:
            connection.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.wait_closed(), 2.0)
