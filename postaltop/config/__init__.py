"""Typed configuration: the ``Settings`` model and the TOML + environment loader.

The file is TOML (``locations.default_config_path()`` or ``--config FILE``); environment variables
``POSTALTOP_<SECTION>__<KEY>`` override it. Every problem becomes a :class:`ConfigError` whose message names
the key, the file and the line (or the environment variable), so a typo never ends in a traceback. Secrets
are ``SecretStr`` and are never printed; :func:`effective_config_text` masks them.

The parts live in small modules, re-exported here so callers import everything from ``postaltop.config``:
:mod:`~postaltop.config.models` (the core sections), :mod:`~postaltop.config.file` (reading the file and the
environment), :mod:`~postaltop.config.errors` (messages with locations), :mod:`~postaltop.config.toml`
(the effective configuration as TOML) and :mod:`~postaltop.config.password` (the database password).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from postaltop import locations
from postaltop.config.errors import (
    ConfigError,
    dotted,
    env_var_for,
    find_line,
    format_validation_error,
    located,
    toml_error_message,
)
from postaltop.config.file import (
    DEFAULT_PASSWORD_ENV,
    MAX_CONFIG_BYTES,
    check_password_file_mode,
    deep_merge,
    environment_data,
    read_config_text,
)
from postaltop.config.models import ActionsConfig, DatabaseConfig, HostConfig, UiConfig
from postaltop.config.password import ResolvedPassword, resolve_db_password
from postaltop.config.sections.detection import DetectionConfig
from postaltop.config.sections.notify import NotifyConfig
from postaltop.config.sections.respond import RespondControlConfig, RespondPolicyConfig, check_unique_names
from postaltop.config.sections.review import ReviewConfig
from postaltop.config.sections.ssh import SshSection
from postaltop.config.toml import effective_config_text, toml_string

__all__ = [
    "DEFAULT_PASSWORD_ENV",
    "MAX_CONFIG_BYTES",
    "ActionsConfig",
    "ConfigError",
    "DatabaseConfig",
    "HostConfig",
    "LoadedSettings",
    "ResolvedPassword",
    "Settings",
    "UiConfig",
    "cross_field_problems",
    "dotted",
    "effective_config_text",
    "env_var_for",
    "find_line",
    "format_validation_error",
    "load_settings",
    "located",
    "resolve_db_password",
    "toml_string",
]

_DEFER_CROSS_CHECKS: ContextVar[bool] = ContextVar("_DEFER_CROSS_CHECKS", default=False)


def cross_field_problems(settings: Settings) -> list[tuple[tuple[str | int, ...], str]]:
    """Checks that span sections: unique host names and references to hosts; (location, message) pairs."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    first_index: dict[str, int] = {}
    for index, host in enumerate(settings.hosts):
        if host.name in first_index:
            problems.append(
                (
                    ("hosts", index, "name"),
                    f"duplicate host name {host.name!r} (already used by [[hosts]] "
                    f"entry {first_index[host.name] + 1})",
                )
            )
        else:
            first_index[host.name] = index
    tunnel = settings.database.ssh_tunnel if settings.database is not None else None
    if tunnel is not None and tunnel not in first_index:
        known = ", ".join(sorted(first_index)) or "none are configured"
        message = f"no [[hosts]] entry is named {tunnel!r} (hosts: {known})"
        problems.append((("database", "ssh_tunnel"), message))
    return problems


class Settings(BaseModel):
    """The whole configuration.

    Constructing it is pure; :func:`load_settings` reads the file and the environment itself, so that it
    knows where every value came from (errors name the file line or the variable).
    """

    model_config = ConfigDict(extra="forbid", validate_default=True)

    ui: UiConfig = Field(default_factory=UiConfig)
    """Terminal UI options."""
    database: DatabaseConfig | None = None
    """Postal's database; when absent, only logs and SSH metrics are monitored."""
    hosts: list[HostConfig] = Field(default_factory=list)
    """Postal machines reached over SSH."""
    actions: ActionsConfig = Field(default_factory=ActionsConfig)
    """Incident actions (off by default)."""
    detection: DetectionConfig = Field(default_factory=DetectionConfig)
    """Baselines, anomaly detectors and alert timings."""
    review: ReviewConfig = Field(default_factory=ReviewConfig)
    """Guided log reviews, reports and the Postal release table."""
    notify: NotifyConfig = Field(default_factory=NotifyConfig)
    """Alert notifications sent by ``postaltop watch`` (Alertmanager, Slack, PagerDuty, e-mail)."""
    ssh: SshSection = Field(default_factory=SshSection)
    """How hosts are reached over SSH (known_hosts, ssh config, timeouts, merge window)."""
    respond: list[RespondPolicyConfig] = Field(default_factory=list)
    """Automatic response policies run by ``watch`` (notify-only unless a policy says ``mode = "act"``)."""
    respond_control: RespondControlConfig = Field(default_factory=RespondControlConfig)
    """The kill switch and the fleet-wide rate limit of automatic actions."""

    @field_validator("respond")
    @classmethod
    def _unique_policies(cls, value: list[RespondPolicyConfig]) -> list[RespondPolicyConfig]:
        return check_unique_names(value)

    @model_validator(mode="after")
    def _check_cross_fields(self) -> Settings:
        # load_settings() defers these to report them with a file line; direct construction still gets them.
        if _DEFER_CROSS_CHECKS.get():
            return self
        problems = cross_field_problems(self)
        if problems:
            raise ValueError("; ".join(f"{dotted(loc)}: {message}" for loc, message in problems))
        return self

    @property
    def is_configured(self) -> bool:
        """True when there is something to monitor (a database or at least one host)."""
        return self.database is not None or bool(self.hosts)


@dataclass
class LoadedSettings:
    """The outcome of :func:`load_settings`."""

    settings: Settings
    """The validated settings (defaults + file + environment)."""
    settings_source: Path | None
    """The config file that was read, or None when there was none (defaults and environment only)."""
    searched_path: Path
    """Where the config file was looked for."""
    warnings: list[str] = field(default_factory=list)
    """Problems that did not stop loading, worth showing to the user."""

    @property
    def path(self) -> Path | None:
        """Alias of :attr:`settings_source`."""
        return self.settings_source


def load_settings(path: Path | None, environ: Mapping[str, str] | None = None) -> LoadedSettings:
    """Load and validate the configuration.

    Args:
        path: the file given with ``--config`` (must exist), or None for the default location (may be absent).
        environ: environment to read ``POSTALTOP_*`` overrides from (default: ``os.environ``).

    Returns:
        The settings, the file used (None when there is none) and warnings.

    Raises:
        ConfigError: for any problem, with a message that names the key, the file and the line.
    """
    explicit = path is not None
    config_path = path if path is not None else locations.default_config_path()
    text: str | None = read_config_text(config_path, explicit)
    file_data: dict[str, Any] = {}
    if text is not None:
        try:
            file_data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(toml_error_message(config_path, text, exc)) from None
    env_data = environment_data(Settings, environ)
    merged = deep_merge(file_data, env_data)
    source = config_path if text is not None else None
    token = _DEFER_CROSS_CHECKS.set(True)
    try:
        settings = Settings.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source, text, env_data, Settings)) from None
    finally:
        _DEFER_CROSS_CHECKS.reset(token)
    problems = cross_field_problems(settings)
    if problems:
        loc, message = problems[0]
        raise ConfigError(located(loc, message, source, text, env_var_for(loc, env_data)))
    if text is not None and source is not None:
        check_password_file_mode(source, file_data)
    if settings.database is not None and settings.database.password_file is not None:
        from postaltop.config.secrets import SecretError, read_secret

        try:
            read_secret("database.password_file", None, settings.database.password_file)
        except SecretError as exc:
            raise ConfigError(f"{source or config_path}: {exc}") from None
    warnings: list[str] = []
    password_env = settings.database.password_env if settings.database is not None else None
    if password_env and password_env not in (os.environ if environ is None else environ):
        warnings.append(f"database.password_env names {password_env}, which is not set")
    return LoadedSettings(settings, source, config_path, warnings)
