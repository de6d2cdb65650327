"""``postaltop config init``: a starter configuration from what the operator already has.

Reads the OpenSSH client config (its concrete ``Host`` aliases become ``[[hosts]]``), Postal's ``postal.yml``
on a chosen host over SSH (the ``[database]`` section, tunnelled through that host; the password goes to a
0600 file the config points to, never to the screen), and ``~/.my.cnf`` when there is no ``postal.yml``. It
shows what it found and the file it would write, asks before writing, then validates the result as
``config check`` does.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from postaltop.core.setup_discovery import PostalDatabase, SshHostEntry, StarterConfig

PASSWORD_FILE_NAME = "db-password"
"""Default name of the database password file, next to the configuration."""

HEADER = (
    "postaltop configuration, written by `postaltop config init`.\n"
    "Every setting: `postaltop help configuration` (docs/configuration.md).\n"
    "Check it: `postaltop config check`."
)


def configure(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``postaltop config init``."""
    parser.add_argument(
        "--ssh-config",
        type=Path,
        metavar="FILE",
        help="OpenSSH client config to read hosts from (default: ~/.ssh/config)",
    )
    parser.add_argument(
        "--hosts",
        metavar="A,B",
        help="only these Host aliases become [[hosts]] (default: every concrete alias)",
    )
    parser.add_argument(
        "--postal-host",
        metavar="ALIAS",
        help="read Postal's postal.yml from this host over SSH (asked when interactive; 'none' to skip)",
    )
    parser.add_argument(
        "--postal-config",
        default=None,
        metavar="PATH",
        help="path of postal.yml on that host (default: /opt/postal/config/postal.yml)",
    )
    parser.add_argument(
        "--known-hosts",
        type=Path,
        action="append",
        metavar="FILE",
        help="known_hosts file trusted for host keys (repeatable; default: ~/.ssh/known_hosts)",
    )
    parser.add_argument("--my-cnf", type=Path, metavar="FILE", help="MySQL option file (default: ~/.my.cnf)")
    parser.add_argument(
        "--password-file",
        type=Path,
        metavar="FILE",
        help="where the database password from postal.yml is written, mode 0600 "
        f"(default: {PASSWORD_FILE_NAME} next to the config)",
    )
    parser.add_argument("--yes", "-y", action="store_true", help="write without asking")
    parser.add_argument("--force", action="store_true", help="overwrite an existing configuration")
    parser.set_defaults(handler=run)


def _ask(question: str) -> str:
    try:
        return input(question).strip()
    except EOFError:
        return ""


def _interactive() -> bool:
    return sys.stdin.isatty()


class _Stop(Exception):
    """Stop with this exit status (the message was printed)."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def run(args: argparse.Namespace) -> int:
    """Discover, show, ask, write, check."""
    from postaltop import locations
    from postaltop.cli import _err
    from postaltop.core.setup_discovery import starter_config_text

    target: Path = getattr(args, "config", None) or locations.default_config_path()
    if target.exists() and not args.force:
        _err(f"postaltop config init: {target} already exists; use --force to replace it, or --config FILE")
        return 2
    try:
        ssh_config, usable = _ssh_hosts(args)
        known_hosts = [p.expanduser() for p in args.known_hosts] if args.known_hosts else None
        postal_host, database = _postal_database(args, ssh_config, usable, known_hosts)
        starter = _starter(args, target, ssh_config, usable, known_hosts, postal_host, database)
        text = starter_config_text(starter, header=HEADER)
        return _write(args, target, text, starter, database)
    except _Stop as stop:
        return stop.status


def _ssh_hosts(args: argparse.Namespace) -> tuple[Path, list[SshHostEntry]]:
    """The OpenSSH client config and its Host entries usable (and chosen) as postaltop hosts."""
    from postaltop.cli import _err, _out
    from postaltop.config import HostConfig
    from postaltop.core.setup_discovery import parse_ssh_config_hosts

    ssh_config: Path = (args.ssh_config or Path("~/.ssh/config")).expanduser()
    entries = []
    if ssh_config.is_file():
        try:
            entries = parse_ssh_config_hosts(ssh_config.read_text(encoding="utf-8", errors="replace"))
        except OSError as exc:
            _err(f"postaltop config init: cannot read {ssh_config}: {exc.strerror or exc}")
            raise _Stop(2) from None
    usable = []
    for entry in entries:
        try:
            HostConfig(name=entry.alias, address=entry.alias)
        except ValueError:
            _out(f"  skipped Host {entry.alias!r}: not usable as a host name in postaltop")
            continue
        usable.append(entry)
    if args.hosts:
        wanted = [name.strip() for name in args.hosts.split(",") if name.strip()]
        unknown = [name for name in wanted if name not in {e.alias for e in usable}]
        if unknown:
            _err(f"postaltop config init: not a Host in {ssh_config}: {', '.join(unknown)}")
            raise _Stop(2)
        usable = [e for e in usable if e.alias in wanted]
    _out(f"SSH hosts in {ssh_config}: {len(usable)}" if ssh_config.is_file() else f"no {ssh_config}")
    for entry in usable:
        _out(f"  {entry.alias:<20} {entry.describe()}")
    return ssh_config, usable


def _postal_database(
    args: argparse.Namespace, ssh_config: Path, usable: list[SshHostEntry], known_hosts: list[Path] | None
) -> tuple[str | None, PostalDatabase | None]:
    """The host postal.yml is read from (asked when interactive) and its database values, shown."""
    import asyncio

    from postaltop.cli import _err, _out
    from postaltop.config import HostConfig
    from postaltop.sources.postal_config import (
        DEFAULT_POSTAL_YML,
        PostalConfigUnavailable,
        read_postal_database,
    )
    from postaltop.sources.ssh import SshOptions

    options = SshOptions(known_hosts=known_hosts, ssh_config=[ssh_config] if ssh_config.is_file() else [])
    postal_host: str | None = args.postal_host
    if postal_host is None and usable and _interactive():
        names = ", ".join(e.alias for e in usable)
        postal_host = _ask(f"Read Postal's postal.yml from which host? ({names}, or Enter to skip) ") or None
    if postal_host in ("none", ""):
        postal_host = None
    if postal_host is None:
        return None, None
    if postal_host not in {e.alias for e in usable}:
        _err(f"postaltop config init: --postal-host {postal_host!r} is not a Host in {ssh_config}")
        raise _Stop(2)
    path = args.postal_config or DEFAULT_POSTAL_YML
    try:
        database = asyncio.run(
            read_postal_database(HostConfig(name=postal_host, address=postal_host), options, path)
        )
    except PostalConfigUnavailable as exc:
        _err(f"postaltop config init: {exc}")
        raise _Stop(1) from None
    problem = _unusable(database)
    if problem:
        _err(f"postaltop config init: {path} on {postal_host}: {problem}")
        raise _Stop(2)
    where = "on the Postal host" if database.on_postal_host else database.host
    _out(f"Postal's {path} on {postal_host}:")
    _out(f"  main database  {database.database} at {database.host}:{database.port} ({where})")
    _out(f"  user           {database.username}")
    _out(f"  password       {'set (written to a 0600 file, not shown)' if database.password else 'none'}")
    _out(f"  message DBs    {database.message_db_prefix}-server-<id>")
    for note in database.notes:
        _out(f"  note: {note}")
    return postal_host, database


def _starter(
    args: argparse.Namespace,
    target: Path,
    ssh_config: Path,
    usable: list[SshHostEntry],
    known_hosts: list[Path] | None,
    postal_host: str | None,
    database: PostalDatabase | None,
) -> StarterConfig:
    """What the file will hold: the hosts, postal.yml's database (else ~/.my.cnf's [client], shown)."""
    from postaltop.cli import _err, _out
    from postaltop.config.mycnf import default_path as default_my_cnf
    from postaltop.config.mycnf import read_client_options
    from postaltop.core.setup_discovery import StarterConfig

    my_cnf = (args.my_cnf or default_my_cnf()).expanduser()
    client = read_client_options(my_cnf)
    if client.warning:
        _out(f"{my_cnf}: {client.warning}")
    elif client.user or client.host or client.password is not None:
        found = ", ".join(
            part
            for part in (
                f"user {client.user}" if client.user else "",
                f"host {client.host}" if client.host else "",
                f"port {client.port}" if client.port else "",
                "a password (not shown)" if client.password is not None else "",
            )
            if part
        )
        _out(f"{my_cnf} [client]: {found}" + (" (not used: postal.yml is)" if database else ""))

    password_file: Path | None = None
    if database is not None and database.password:
        password_file = (args.password_file or target.parent / PASSWORD_FILE_NAME).expanduser().absolute()
    default_ssh_config = Path("~/.ssh/config").expanduser()
    starter = StarterConfig(
        hosts=usable,
        postal_host=postal_host if database is not None else None,
        database=database,
        password_file=str(password_file) if password_file else None,
        my_cnf_user=client.user if database is None else None,
        my_cnf_host=client.host if database is None else None,
        my_cnf_port=client.port if database is None else None,
        ssh_config=str(ssh_config) if ssh_config.is_file() and ssh_config != default_ssh_config else None,
        known_hosts=[str(p) for p in known_hosts] if known_hosts else (),
    )
    if not usable and database is None and not (client.user or client.host):
        _err("postaltop config init: found nothing to configure (no SSH hosts, no postal.yml, no ~/.my.cnf)")
        raise _Stop(2)
    return starter


def _write(
    args: argparse.Namespace, target: Path, text: str, starter: StarterConfig, database: PostalDatabase | None
) -> int:
    """Show the file, ask, write it (and the password file, 0600), then check it as ``config check`` does."""
    from postaltop import locations
    from postaltop.cli import _err, _out
    from postaltop.config import ConfigError, load_settings

    password_file = Path(starter.password_file) if starter.password_file else None
    _out("")
    _out(f"--- {target} ---")
    _out(text, end="")
    _out("---")
    if password_file is not None:
        _out(f"The database password from postal.yml goes to {password_file} (mode 0600).")
    if not args.yes and _ask(f"Write {target}? [y/N] ").lower() not in ("y", "yes"):
        _out("nothing written (answer y, or pass --yes)")
        return 1

    locations.ensure_dir(target.parent)
    if password_file is not None and database is not None and database.password is not None:
        locations.ensure_dir(password_file.parent)
        _write_private(password_file, database.password + "\n")
    _write_private(target, text)
    _out(f"wrote {target}")
    try:
        loaded = load_settings(target)
    except ConfigError as exc:
        _err(exc.message)
        return 2
    has_db = "yes" if loaded.settings.database else "no"
    _out(f"config check: valid ({len(loaded.settings.hosts)} hosts, database: {has_db})")
    _out("next: postaltop hosts list (host keys), then postaltop")
    return 0


def _unusable(database: PostalDatabase) -> str | None:
    """Why postal.yml's database values cannot go into ``[database]`` (checked before anything is written)."""
    from pydantic import ValidationError

    from postaltop.config import DatabaseConfig

    try:
        DatabaseConfig(
            host=database.host or "127.0.0.1",
            port=database.port,
            user=database.username,
            database=database.database,
            message_db_prefix=database.message_db_prefix,
        )
    except ValidationError as exc:
        fields = {".".join(str(part) for part in error["loc"]): error["msg"] for error in exc.errors()}
        return "values postaltop cannot use: " + "; ".join(f"{k}: {v}" for k, v in fields.items())
    return None


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` with mode 0600 from the first byte (replacing a previous file)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    tmp.replace(path)
