"""One way to reach Postal's database, for every path: the poller, actions, the trace lookup, report, review.

:class:`DbConnector` holds what a connection needs and decides it once: the login (config, environment,
``~/.my.cnf``), TLS, the optional SSH tunnel (``[database] ssh_tunnel``) and the deadlines. Every
connection it opens is bounded as a whole: aiomysql's ``connect_timeout`` only covers the TCP connect, not
the server's greeting or the authentication, so a database that accepts and then never answers would hang
the caller; here the whole handshake runs under ``asyncio.wait_for``. Tunnel opening is bounded the same
way.

:meth:`DbConnector.endpoint` names where a write will land (host, port, direct or through which tunnel)
without connecting: the action preview and the audit trail show it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiomysql
import pymysql

from postaltop.config import DatabaseConfig
from postaltop.config.mycnf import read_client_options

if TYPE_CHECKING:
    from postaltop.config import Settings
    from postaltop.sources.db_tunnel import DbTunnel


@dataclass(frozen=True)
class Login:
    """Where and as whom to connect to the database."""

    user: str
    host: str
    port: int
    password: str = field(repr=False)


def resolve_login(cfg: DatabaseConfig, environ: Mapping[str, str] | None, my_cnf: Path | None) -> Login:
    """The config's account and address, ~/.my.cnf filling what the config file did not set explicitly."""
    user, host, port = cfg.user, cfg.host, cfg.port
    if cfg.use_my_cnf:
        cnf = read_client_options(my_cnf)
        user = cnf.user if cnf.user and "user" not in cfg.model_fields_set else user
        host = cnf.host if cnf.host and "host" not in cfg.model_fields_set else host
        port = cnf.port if cnf.port and "port" not in cfg.model_fields_set else port
    secret = cfg.resolve_password(environ, my_cnf)
    return Login(user, host, port, secret.get_secret_value() if secret is not None else "")


def build_ssl_context(config: DatabaseConfig) -> ssl.SSLContext | None:
    """The TLS context for aiomysql, or None when TLS is off."""
    if not config.tls:
        return None
    context = ssl.create_default_context(cafile=str(config.tls_ca) if config.tls_ca else None)
    if not config.tls_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class NotAnswering(pymysql.err.OperationalError):  # type: ignore[misc]
    """The database (or the tunnel to it) accepted the connection but did not answer in time."""

    def __init__(self, what: str, seconds: float) -> None:
        super().__init__(2013, f"not answering: {what} gave no reply within {seconds:g} s")
        self.seconds = seconds


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where the database connections go (no password)."""

    user: str
    host: str
    port: int
    tunnel: str | None = None
    """The ``[[hosts]]`` name the connection is tunnelled through, or None for a direct connection."""

    def describe(self) -> str:
        """``postal@10.0.0.5:3306 (direct)`` or ``postal@127.0.0.1:3306 via SSH tunnel through mx1``."""
        where = f"{self.user}@{self.host}:{self.port}"
        return f"{where} via SSH tunnel through {self.tunnel}" if self.tunnel else f"{where} (direct)"

    def as_dict(self) -> dict[str, Any]:
        """For the audit record."""
        return {"user": self.user, "host": self.host, "port": self.port, "tunnel": self.tunnel}


class DbConnector:
    """Opens connections and pools to the configured database; see the module docstring.

    Args:
        config: the ``[database]`` section.
        tunnel: the SSH tunnel to go through (:func:`connector_for` builds it from the settings).
        environ / my_cnf: where the password is looked up (tests pass their own).
        timeout: seconds a connection (TCP, greeting, authentication) may take; default ``query_timeout``.
    """

    def __init__(
        self,
        config: DatabaseConfig,
        *,
        tunnel: DbTunnel | None = None,
        environ: Mapping[str, str] | None = None,
        my_cnf: Path | None = None,
        timeout: float | None = None,
        dial: Callable[[], Awaitable[tuple[str, int]]] | None = None,
    ) -> None:
        self.config = config
        self.tunnel = tunnel
        self.dial = dial
        """Where to dial instead of the config's host/port (a test's own forwarder); the tunnel wins."""
        self.environ = environ
        self.my_cnf = my_cnf
        self.timeout = float(timeout if timeout is not None else config.query_timeout)
        self.connections_opened = 0
        """Connections and pools opened so far (tests check that a path used this factory)."""

    # ------------------------------------------------------------------------------ where

    def login(self) -> Login:
        """The account and address from the config (``~/.my.cnf`` filling what the file did not set)."""
        return resolve_login(self.config, self.environ, self.my_cnf)

    def endpoint(self) -> Endpoint:
        """Where connections go: the database's host and port, and the tunnel host when there is one."""
        login = self.login()
        if self.tunnel is not None:
            return Endpoint(
                login.user, self.tunnel.remote_host, self.tunnel.remote_port, self.tunnel.host_cfg.name
            )
        return Endpoint(login.user, login.host, login.port)

    @property
    def tunnel_timeout(self) -> float:
        """Seconds the SSH tunnel may take to open (the SSH connect timeout plus one query timeout)."""
        if self.tunnel is None:
            return 0.0
        return float(self.tunnel.options.connect_timeout) + self.timeout

    async def address(self) -> tuple[str, int, Login]:
        """The ``(host, port)`` to dial (the tunnel's local end when tunnelled) and the login.

        Raises:
            NotAnswering: the tunnel did not open in time.
            postaltop.sources.ssh.SshError / OSError: the tunnel failed.
        """
        login = self.login()
        if self.tunnel is None:
            if self.dial is not None:
                host, port = await self.dial()
                return host, port, login
            return login.host, login.port, login
        try:
            host, port = await asyncio.wait_for(self.tunnel.endpoint(), self.tunnel_timeout)
        except TimeoutError:
            raise NotAnswering(f"the SSH tunnel {self.tunnel.describe()}", self.tunnel_timeout) from None
        return host, port, login

    def _options(self, login: Login) -> dict[str, Any]:
        return {
            "user": login.user,
            "password": login.password,
            "charset": "utf8mb4",
            "connect_timeout": max(1, int(self.timeout)),
            "ssl": build_ssl_context(self.config),
        }

    # ------------------------------------------------------------------------------ open

    async def connect(self, *, autocommit: bool = True, client_flag: int = 0) -> aiomysql.Connection:
        """One connection, handshake included, within :attr:`timeout`.

        Raises:
            NotAnswering: no complete handshake in time.
            pymysql.err.MySQLError / OSError: refused, denied, unreachable.
        """
        host, port, login = await self.address()
        conn = aiomysql.Connection(
            host=host, port=port, autocommit=autocommit, client_flag=client_flag, **self._options(login)
        )
        self.connections_opened += 1
        try:
            await asyncio.wait_for(conn._connect(), self.timeout)
        except TimeoutError:
            conn.close()
            raise NotAnswering(f"{host}:{port}", self.timeout) from None
        except BaseException:
            conn.close()
            raise
        return conn

    async def create_pool(self, *, maxsize: int, minsize: int = 1, **extra: Any) -> aiomysql.Pool:
        """A pool whose first connection (handshake included) is open within :attr:`timeout`.

        Later connections are opened by ``acquire``: callers bound each acquire with their own deadline.

        Raises:
            NotAnswering / pymysql.err.MySQLError / OSError: as :meth:`connect`.
        """
        host, port, login = await self.address()
        self.connections_opened += 1
        try:
            return await asyncio.wait_for(
                aiomysql.create_pool(
                    host=host,
                    port=port,
                    minsize=minsize,
                    maxsize=maxsize,
                    autocommit=True,  # without it a pooled connection would read one old snapshot forever
                    **self._options(login),
                    **extra,
                ),
                self.timeout,
            )
        except TimeoutError:
            raise NotAnswering(f"{host}:{port}", self.timeout) from None

    async def close(self) -> None:
        """Close the tunnel, if this connector opened one (idempotent)."""
        if self.tunnel is not None:
            with contextlib.suppress(Exception):
                await self.tunnel.close()


def connector_for(
    settings: Settings,
    *,
    environ: Mapping[str, str] | None = None,
    my_cnf: Path | None = None,
    config: DatabaseConfig | None = None,
) -> DbConnector:
    """The connector of ``settings.database`` (with its SSH tunnel when ``ssh_tunnel`` names a host).

    Raises:
        ValueError: no ``[database]`` section, or ``ssh_tunnel`` names no configured host.
    """
    config = config if config is not None else settings.database
    if config is None:
        raise ValueError("no [database] section in the configuration")
    tunnel: DbTunnel | None = None
    if config.ssh_tunnel is not None:
        from postaltop.sources.db_tunnel import DbTunnel
        from postaltop.sources.log_runner import ssh_options

        host = next((h for h in settings.hosts if h.name == config.ssh_tunnel), None)
        if host is None:
            raise ValueError(
                f"[database] ssh_tunnel names {config.ssh_tunnel!r}, which is not a [[hosts]] entry"
            )
        tunnel = DbTunnel(host, ssh_options(settings), config.host, config.port)
    return DbConnector(config, tunnel=tunnel, environ=environ, my_cnf=my_cnf)
