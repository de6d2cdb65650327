"""What ``postaltop config init`` learns from files the operator already has (pure: text in, values out).

* OpenSSH client config: the concrete ``Host`` aliases (patterns with ``*``, ``?`` or ``!`` are defaults, not
  hosts) with the HostName, User, Port, IdentityFile and ProxyJump their block sets. This is only for showing
  what was found: connections resolve the alias through the same file with asyncssh's own OpenSSH config
  reader, so ``Match`` blocks, ``Include`` and wildcard defaults apply as in ``ssh``.
* Postal's ``postal.yml`` (already parsed from YAML): the main database (host, port, username, password,
  database) and the message-database prefix, read the way Postal reads it. Version 2 files (Postal v3) name
  the prefix ``message_db.database_name_prefix``; legacy files (no ``version``) ``message_db.prefix``; a
  ``prefix`` key in a version 2 file is ignored by Postal, so it is ignored here too, with a note.
* The starter configuration text (TOML) built from those, which never holds a secret.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

LOCAL_DB_HOSTS = ("localhost", "127.0.0.1", "::1", "")
"""postal.yml database hosts that mean "on the Postal host itself"."""

DEFAULT_PREFIX = "postal"


@dataclass(frozen=True, slots=True)
class SshHostEntry:
    """One concrete ``Host`` alias of an OpenSSH client config."""

    alias: str
    hostname: str | None = None
    user: str | None = None
    port: int | None = None
    identity_file: str | None = None
    proxy_jump: str | None = None

    def describe(self) -> str:
        """``user@hostname:port via jump`` (what is known of it)."""
        where = self.hostname or self.alias
        if self.user:
            where = f"{self.user}@{where}"
        if self.port and self.port != 22:
            where = f"{where}:{self.port}"
        if self.proxy_jump:
            where = f"{where} via {self.proxy_jump}"
        return where


def _is_pattern(name: str) -> bool:
    return any(ch in name for ch in "*?!") or not name


def _split_directive(line: str) -> tuple[str, str] | None:
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    if "=" in text.split(None, 1)[0]:
        key, _, value = text.partition("=")
    else:
        parts = text.split(None, 1)
        key, value = parts[0], parts[1] if len(parts) > 1 else ""
    value = value.strip().strip("=").strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return key.strip().lower(), value


def parse_ssh_config_hosts(text: str) -> list[SshHostEntry]:
    """The concrete host aliases of an OpenSSH client config, in file order (first value of a key wins,
    as in ``ssh``); ``Match`` blocks are skipped."""
    entries: dict[str, dict[str, str]] = {}
    current: list[str] = []
    for line in text.splitlines():
        directive = _split_directive(line)
        if directive is None:
            continue
        key, value = directive
        if key == "host":
            current = [name for name in value.split() if not _is_pattern(name)]
            for name in current:
                entries.setdefault(name, {})
            continue
        if key == "match":
            current = []
            continue
        for name in current:
            entries[name].setdefault(key, value)
    out: list[SshHostEntry] = []
    for alias, values in entries.items():
        port_text = values.get("port", "")
        out.append(
            SshHostEntry(
                alias=alias,
                hostname=values.get("hostname") or None,
                user=values.get("user") or None,
                port=int(port_text) if port_text.isdigit() and 0 < int(port_text) < 65536 else None,
                identity_file=values.get("identityfile") or None,
                proxy_jump=values.get("proxyjump") or None,
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class PostalDatabase:
    """Postal's database settings from its ``postal.yml``."""

    host: str
    port: int
    username: str
    database: str
    message_db_prefix: str
    password: str | None = field(default=None, repr=False)
    notes: tuple[str, ...] = ()
    """Things worth telling the operator (never the password)."""

    @property
    def on_postal_host(self) -> bool:
        """True when the database runs on the Postal host itself (reached through an SSH tunnel)."""
        return self.host.strip().lower() in LOCAL_DB_HOSTS


class PostalConfigError(ValueError):
    """postal.yml does not have the shape Postal reads."""


def _group(data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = data.get(name)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise PostalConfigError(f"postal.yml: {name} is not a group of keys")
    return value


def _text(value: Any, default: str) -> str:
    if value is None:
        return default
    return str(value).strip()


def _port(value: Any, where: str) -> int:
    if value is None:
        return 3306
    try:
        port = int(value)
    except (TypeError, ValueError):
        raise PostalConfigError(f"postal.yml: {where}.port is not a number") from None
    if not 0 < port < 65536:
        raise PostalConfigError(f"postal.yml: {where}.port is out of range")
    return port


def parse_postal_config(data: Any) -> PostalDatabase:
    """The database settings of a parsed ``postal.yml`` (Postal's defaults where a key is absent).

    Raises:
        PostalConfigError: when the document is not a mapping or a value has the wrong type.
    """
    if not isinstance(data, Mapping):
        raise PostalConfigError("postal.yml is not a YAML mapping of groups")
    version = data.get("version")
    main = _group(data, "main_db")
    message = _group(data, "message_db")
    notes: list[str] = []
    legacy = version != 2
    if legacy:
        prefix = _text(message.get("prefix"), DEFAULT_PREFIX)
        notes.append("legacy postal.yml (no 'version: 2'): Postal v2 layout")
    else:
        prefix = _text(message.get("database_name_prefix"), DEFAULT_PREFIX)
        if "prefix" in message and "database_name_prefix" not in message:
            notes.append(
                "message_db.prefix is not read by Postal v3 (its key is database_name_prefix): "
                f"the default prefix {DEFAULT_PREFIX!r} applies"
            )
    host = _text(main.get("host"), "localhost")
    port = _port(main.get("port"), "main_db")
    username = _text(main.get("username"), "postal")
    password_value = main.get("password")
    password = None if password_value in (None, "") else str(password_value)
    database = _text(main.get("database"), "postal")
    message_host = _text(message.get("host"), "localhost")
    message_port = _port(message.get("port"), "message_db")
    if (message_host.lower(), message_port) != (host.lower(), port) and not (
        message_host.lower() in LOCAL_DB_HOSTS and host.lower() in LOCAL_DB_HOSTS and message_port == port
    ):
        notes.append(
            f"the message databases are on {message_host}:{message_port}, not on the main database's server: "
            "postaltop reads both through one connection, so per-server figures need them on one server"
        )
    if username == "root":
        notes.append(
            "postal.yml connects as MariaDB root: for postaltop, create a SELECT-only user "
            "(docs/actions.md, database grants) and put it in [database] user"
        )
    return PostalDatabase(host, port, username, database, prefix, password, tuple(notes))


@dataclass(frozen=True, slots=True)
class StarterConfig:
    """What goes into the starter configuration."""

    hosts: Sequence[SshHostEntry] = ()
    postal_host: str | None = None
    """The alias whose postal.yml was read (the database is tunnelled through it when local to it)."""
    database: PostalDatabase | None = None
    password_file: str | None = None
    """Where the database password was written (None: no password, or it comes from ~/.my.cnf)."""
    my_cnf_user: str | None = None
    my_cnf_host: str | None = None
    my_cnf_port: int | None = None
    ssh_config: str | None = None
    """A non-default OpenSSH config file to name in ``[ssh]``."""
    known_hosts: Sequence[str] = ()
    """known_hosts files to name in ``[ssh]`` (empty: the defaults)."""


def _toml(value: str | int | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def starter_config_text(starter: StarterConfig, *, header: str) -> str:
    """The TOML text of the starter configuration (no secret is ever in it)."""
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    lines.append("")
    if starter.ssh_config or starter.known_hosts:
        lines.append("[ssh]")
        if starter.ssh_config:
            lines.append(f"ssh_config = [{_toml(starter.ssh_config)}]")
        if starter.known_hosts:
            lines.append("known_hosts = [" + ", ".join(_toml(p) for p in starter.known_hosts) + "]")
        lines.append("")
    db = starter.database
    if db is not None:
        tunnelled = starter.postal_host is not None
        lines.append("[database]")
        host = "127.0.0.1" if db.on_postal_host else db.host
        comment = f"  # as seen from {starter.postal_host}, through the tunnel" if tunnelled else ""
        lines.append(f"host = {_toml(host)}{comment}")
        if db.port != 3306:
            lines.append(f"port = {db.port}")
        lines.append(f"user = {_toml(db.username)}")
        if starter.password_file:
            lines.append(f"password_file = {_toml(starter.password_file)}  # mode 0600")
        lines.append(f"database = {_toml(db.database)}")
        lines.append(f"message_db_prefix = {_toml(db.message_db_prefix)}")
        if tunnelled and starter.postal_host is not None:
            lines.append(f"ssh_tunnel = {_toml(starter.postal_host)}")
        lines.append("")
    elif starter.my_cnf_user or starter.my_cnf_host:
        lines.append("[database]  # from ~/.my.cnf [client]; the password stays there")
        if starter.my_cnf_host:
            lines.append(f"host = {_toml(starter.my_cnf_host)}")
        if starter.my_cnf_port:
            lines.append(f"port = {starter.my_cnf_port}")
        if starter.my_cnf_user:
            lines.append(f"user = {_toml(starter.my_cnf_user)}")
        lines.append("use_my_cnf = true")
        lines.append("")
    for entry in starter.hosts:
        lines.append("[[hosts]]")
        lines.append(f"name = {_toml(entry.alias)}")
        lines.append(f"address = {_toml(entry.alias)}  # resolved through the SSH config: {entry.describe()}")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"
