"""Where the database password comes from: an environment variable, ``~/.my.cnf`` or the config file."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pydantic import SecretStr

from postaltop.config.file import DEFAULT_PASSWORD_ENV


class PasswordSettings(Protocol):
    """The keys of the ``[database]`` section (``postaltop.config.models.DatabaseConfig``) read here."""

    @property
    def password_env(self) -> str | None: ...

    @property
    def use_my_cnf(self) -> bool: ...

    @property
    def password(self) -> SecretStr | None: ...

    @property
    def password_file(self) -> Path | None: ...


PASSWORD_OVERRIDE_ENV = "POSTALTOP_DATABASE__PASSWORD"
"""The environment override of ``database.password`` (the loader's ``POSTALTOP_<SECTION>__<KEY>`` form)."""


@dataclass(frozen=True)
class ResolvedPassword:
    """A database password and a description of where it came from (safe to print)."""

    value: SecretStr | None
    source: str


def resolve_db_password(
    db: PasswordSettings, environ: Mapping[str, str] | None = None, my_cnf: Path | None = None
) -> ResolvedPassword:
    """Find the database password.

    Order: the environment variable named by ``password_env`` (or ``POSTALTOP_DB_PASSWORD``), then the
    ``password_file``, then the ``[client]`` password of ``~/.my.cnf`` when ``use_my_cnf``, then ``password``
    from the config. An unreadable or too open ``password_file`` gives no password, and says why.

    Args:
        db: the database section.
        environ: environment to read (default: ``os.environ``).
        my_cnf: option file to read (default: ``~/.my.cnf``).

    Returns:
        The password (None when none is configured) and where it came from.
    """
    env = os.environ if environ is None else environ
    var = db.password_env or DEFAULT_PASSWORD_ENV
    if var in env:
        return ResolvedPassword(SecretStr(env[var]), f"environment variable {var}")
    if db.password_file is not None:
        from postaltop.config.secrets import SecretError, read_secret

        try:
            secret = read_secret("database.password_file", None, db.password_file)
        except SecretError as exc:
            return ResolvedPassword(None, f"none ({exc})")
        return ResolvedPassword(SecretStr(secret), f"file {db.password_file}")
    if db.use_my_cnf:
        from postaltop.config.mycnf import default_path, read_client_options

        cnf = my_cnf if my_cnf is not None else default_path()
        options = read_client_options(cnf)
        if options.password is not None:
            return ResolvedPassword(SecretStr(options.password), f"{cnf} [client]")
    if db.password is not None:
        override = next((k for k in env if k.upper() == PASSWORD_OVERRIDE_ENV), None)
        if override is not None:
            return ResolvedPassword(db.password, f"environment variable {override} (database.password)")
        return ResolvedPassword(db.password, "config file (database.password)")
    return ResolvedPassword(None, "none (no password)")
