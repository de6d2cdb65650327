"""The core configuration sections as pydantic models: ``[ui]``, ``[database]``, ``[[hosts]]``, ``[actions]``.

The feature sections live in :mod:`postaltop.config.sections`; ``postaltop.config.Settings`` holds them all.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from postaltop.config.password import resolve_db_password

_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
_SINCE_RE = re.compile(r"^[0-9]{1,6}[smhd]$")
_NO_SPACE_OR_CONTROL = re.compile(r"^[^\s\x00-\x1f\x7f-\x9f]+$")

_MODEL = ConfigDict(extra="forbid", validate_default=True)


class UiConfig(BaseModel):
    """The ``[ui]`` section: how the terminal UI looks and behaves."""

    model_config = _MODEL

    theme: Literal["dark", "light", "colorblind"] = "dark"
    """Colour theme: ``dark``, ``light`` or ``colorblind`` (no red/green-only distinctions)."""
    retained_lines: int = Field(default=1_000_000, ge=1_000, le=20_000_000)
    """How many log lines are kept in memory for scrolling and filtering (oldest are dropped)."""
    refresh_hz: float = Field(default=10.0, ge=1.0, le=30.0)
    """How many times per second the screen is redrawn while data arrives."""
    follow: bool = True
    """Start with the log panel following new lines (tail mode)."""
    keymap: dict[str, str] = Field(default_factory=dict)
    """Key rebinding: Textual binding id -> keys (comma separated), e.g. ``"app.quit" = "ctrl+q"``.

    The ids are listed in the help screen (``?``); an unknown id is ignored with a warning at start."""


class DatabaseConfig(BaseModel):
    """The ``[database]`` section: the Postal MariaDB/MySQL server that is polled (read-only by default)."""

    model_config = _MODEL

    host: str = Field(default="127.0.0.1", min_length=1)
    """Database host name or address (as seen from this machine, or from the tunnel host)."""
    port: int = Field(default=3306, ge=1, le=65535)
    """Database TCP port."""
    user: str = Field(default="postal", min_length=1)
    """Database user; a SELECT-only user is recommended."""
    password: SecretStr | None = None
    """Database password. Prefer ``password_env`` or ``~/.my.cnf``; a file holding it must be mode 0600."""
    password_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    """Name of an environment variable that holds the password (default: ``POSTALTOP_DB_PASSWORD``)."""
    password_file: Path | None = None
    """File holding the password (mode 0600, e.g. written by ``postaltop config init``); read after
    ``password_env`` and before ``~/.my.cnf``."""
    use_my_cnf: bool = True
    """Read the password from the ``[client]`` group of ``~/.my.cnf`` when no environment variable is set."""
    database: str = Field(default="postal", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    """Name of Postal's main database."""
    message_db_prefix: str = Field(default="postal", pattern=r"^[A-Za-z0-9_]+$", max_length=48)
    """Prefix of the per-server message databases (``<prefix>-server-<id>``); used in SQL identifiers."""
    poll_interval: float = Field(default=5.0, ge=1.0, le=300.0)
    """Seconds between database polls."""
    query_timeout: float = Field(default=4.0, gt=0.0, le=120.0)
    """Seconds after which one query, or a connection's whole handshake, is abandoned (a slow or stalled
    database cannot stall the monitor)."""
    tls: bool = False
    """Connect with TLS."""
    tls_ca: Path | None = None
    """CA bundle used to verify the server certificate (system store when unset)."""
    tls_verify: bool = True
    """Verify the server certificate and host name when ``tls`` is on."""
    ssh_tunnel: str | None = None
    """Name of a ``[[hosts]]`` entry to tunnel the database connection through."""
    top_domains: int = Field(default=10, ge=1, le=1000)
    """How many recipient domains the "top domains" view lists."""

    def resolve_password(
        self, environ: Mapping[str, str] | None = None, my_cnf: Path | None = None
    ) -> SecretStr | None:
        """The password to connect with (see :func:`resolve_db_password` for the order)."""
        return resolve_db_password(self, environ, my_cnf).value


class HostConfig(BaseModel):
    """One ``[[hosts]]`` entry: a Postal machine reached over SSH for logs and metrics."""

    model_config = _MODEL

    name: str = Field(max_length=64)
    """Unique short name shown in the UI, used by ``ssh_tunnel``/``jump_host`` (letters, digits, ``_.-``)."""
    address: str = Field(max_length=255)
    """Host name or IP address to connect to."""
    port: int = Field(default=22, ge=1, le=65535)
    """SSH port."""
    user: str | None = None
    """SSH user (default: from ``~/.ssh/config`` or the local user name)."""
    key_file: Path | None = None
    """Private key file (default: the SSH agent and the usual ``~/.ssh/id_*`` keys)."""
    jump_host: str | None = None
    """Bastion to go through: the name of another ``[[hosts]]`` entry or ``[user@]host[:port]``."""
    log_source: str = "auto"
    """Where Postal's logs are read: ``auto``, ``docker``, ``journald`` or ``files:<glob>``."""
    protected: bool = False
    """Production host: destructive actions on it need the host name typed to confirm."""
    metrics: bool = True
    """Scrape Postal's Prometheus metrics on the host's loopback ports over SSH."""
    since: str = "10m"
    """Initial backfill of logs when connecting: a number followed by ``s``, ``m``, ``h`` or ``d``."""

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if not _NAME_RE.match(value):
            raise ValueError("must be letters, digits, '_', '.' or '-' (no spaces)")
        return value

    @field_validator("address", "user", "jump_host")
    @classmethod
    def _check_no_space(cls, value: str | None) -> str | None:
        if value is not None and not _NO_SPACE_OR_CONTROL.match(value):
            raise ValueError("must be non-empty, without spaces or control characters")
        return value

    @field_validator("log_source")
    @classmethod
    def _check_log_source(cls, value: str) -> str:
        if value in ("auto", "docker", "journald"):
            return value
        if value.startswith("files:") and len(value) > len("files:") and "\x00" not in value:
            return value
        raise ValueError("must be 'auto', 'docker', 'journald' or 'files:<glob>'")

    @field_validator("since")
    @classmethod
    def _check_since(cls, value: str) -> str:
        if not _SINCE_RE.match(value):
            raise ValueError("must be a number followed by s, m, h or d (for example '10m')")
        return value


class ActionsConfig(BaseModel):
    """The ``[actions]`` section: incident actions that change Postal's database."""

    model_config = _MODEL

    enabled: bool = False
    """Allow incident actions; postaltop is strictly read-only when this is false."""
    operator: str | None = Field(default=None, min_length=1, max_length=100)
    """Name recorded in the audit trail for actions (default: the local user name)."""
    protected_servers: list[str] = Field(default_factory=list, max_length=1000)
    """``org/server`` permalinks (or ids) whose every action needs the name typed to confirm (red frame)."""
    ip_pools: bool = False
    """Postal runs with ``postal.use_ip_pools``: releasing held mail via SQL is refused (not faithful)."""
    max_rows: int = Field(default=10_000, ge=1, le=1_000_000)
    """A bulk action selecting more messages or addresses than this is refused (narrow the filters)."""
