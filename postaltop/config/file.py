"""Reading the configuration's inputs: the TOML file (with its safety checks) and the environment.

The file must be a regular, UTF-8, reasonably small file; a file holding the database password must not be
readable by others. Environment variables ``POSTALTOP_<SECTION>__<KEY>`` become nested data merged over the
file's.
"""

from __future__ import annotations

import os
import re
import shlex
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from postaltop.config.errors import ConfigError

if TYPE_CHECKING:
    from pydantic_settings import BaseSettings

ENV_PREFIX = "POSTALTOP_"
ENV_NESTED_DELIMITER = "__"

DEFAULT_PASSWORD_ENV = "POSTALTOP_DB_PASSWORD"
"""Environment variable read for the DB password when ``database.password_env`` is not set."""

MAX_CONFIG_BYTES = 1_000_000
"""A config file larger than this is refused: it is certainly not a hand-written config."""


def read_config_text(path: Path, explicit: bool) -> str | None:
    """The file's text; None when the default file does not exist."""
    try:
        info = path.stat()
    except FileNotFoundError:
        if explicit:
            raise ConfigError(f"config file not found: {path}\n  (given with --config)") from None
        return None
    except OSError as exc:
        raise ConfigError(f"cannot access config file {path}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise ConfigError(f"config path is a directory, not a file: {path}")
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"config path is not a regular file: {path}")
    if info.st_size > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"config file is too large ({info.st_size} bytes, limit {MAX_CONFIG_BYTES}): {path}"
        )
    try:
        data = path.read_bytes()
    except PermissionError:
        raise ConfigError(f"cannot read config file {path}: permission denied") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError(
            f"config file {path}, line {line}, column {column}: not valid UTF-8 "
            f"(byte 0x{data[exc.start]:02x})"
        ) from None


def environment_data(settings_cls: type[BaseModel], environ: Mapping[str, str] | None) -> dict[str, Any]:
    """The ``POSTALTOP_<FIELD>[__<KEY>...]`` variables of ``environ`` (default ``os.environ``) as nested data.

    pydantic-settings parses them (JSON for lists and tables, the nested delimiter); it is imported only when
    such a variable is set, which keeps it off every start that has none.
    """
    env = os.environ if environ is None else environ
    names = [ENV_PREFIX.lower() + name for name in settings_cls.model_fields]
    keys = [key.lower() for key in env]
    if not any(key == name or key.startswith(name + ENV_NESTED_DELIMITER) for key in keys for name in names):
        return {}
    from pydantic_settings import EnvSettingsSource, SettingsError

    source = EnvSettingsSource(_env_model(settings_cls))
    if environ is not None:
        # The source reads os.environ at construction; point it at the given mapping instead.
        source.env_vars = {key.lower(): value for key, value in environ.items()}
    try:
        return dict(source())
    except SettingsError as exc:
        # pydantic-settings names the field, not the variable: 'error parsing value for field "hosts" ...'.
        match = re.search(r'field "([^"]+)"', str(exc))
        var = f"POSTALTOP_{match.group(1).upper()}" if match else "a POSTALTOP_* variable"
        raise ConfigError(
            f"config error in environment variable {var}: not valid JSON for this setting"
        ) from None


def _env_model(settings_cls: type[BaseModel]) -> type[BaseSettings]:
    """A pydantic-settings class with ``settings_cls``'s fields, for reading them from the environment."""
    from pydantic import create_model
    from pydantic_settings import BaseSettings, SettingsConfigDict

    class EnvBase(BaseSettings):
        model_config = SettingsConfigDict(
            env_prefix=ENV_PREFIX, env_nested_delimiter=ENV_NESTED_DELIMITER, extra="forbid"
        )

    fields: dict[str, Any] = {name: (f.annotation, f) for name, f in settings_cls.model_fields.items()}
    model: type[BaseSettings] = create_model(
        f"{settings_cls.__name__}Environment", __base__=EnvBase, **fields
    )
    return model


def deep_merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``override`` merged in, table by table (``override`` wins)."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def check_password_file_mode(path: Path, file_data: Mapping[str, Any]) -> None:
    """Refuse a config file that holds the database password and is readable by group or others."""
    database = file_data.get("database")
    if not isinstance(database, Mapping) or database.get("password") in (None, ""):
        return
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise ConfigError(
            f"config file {path} holds a database password but is readable by others "
            f"(mode {mode:04o}).\n"
            f"  Restrict it with:  chmod 600 {shlex.quote(str(path))}\n"
            f"  or move the password to ~/.my.cnf or the {DEFAULT_PASSWORD_ENV} environment variable."
        )
