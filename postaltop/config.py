"""Typed configuration: the models, the TOML + environment loader and the password resolution.

The file is TOML (``locations.default_config_path()`` or ``--config FILE``); environment variables
``POSTALTOP_<SECTION>__<KEY>`` override it. Every problem becomes a :class:`ConfigError` whose message names
the key, the file and the line, so a typo never ends in a traceback. Secrets are ``SecretStr`` and are never
printed; :func:`effective_config_text` masks them.
"""

from __future__ import annotations

import difflib
import os
import re
import shlex
import stat
import tomllib
import unicodedata
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from postaltop import locations
from postaltop.config_sections.detection import DetectionConfig
from postaltop.config_sections.notify import NotifyConfig
from postaltop.config_sections.review import ReviewConfig
from postaltop.config_sections.ssh import SshSection

__all__ = [
    "ActionsConfig",
    "ConfigError",
    "DatabaseConfig",
    "HostConfig",
    "LoadedSettings",
    "ResolvedPassword",
    "Settings",
    "UiConfig",
    "effective_config_text",
    "load_settings",
    "resolve_db_password",
]

DEFAULT_PASSWORD_ENV = "POSTALTOP_DB_PASSWORD"
"""Environment variable read for the DB password when ``database.password_env`` is not set."""

MAX_CONFIG_BYTES = 1_000_000
"""A config file larger than this is refused: it is certainly not a hand-written config."""

_DEFER_CROSS_CHECKS: ContextVar[bool] = ContextVar("_DEFER_CROSS_CHECKS", default=False)

_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
_SINCE_RE = re.compile(r"^[0-9]{1,6}[smhd]$")
_NO_SPACE_OR_CONTROL = re.compile(r"^[^\s\x00-\x1f\x7f-\x9f]+$")


class ConfigError(Exception):
    """A configuration problem; :attr:`message` is for the user (may span lines, never holds a secret)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


_MODEL = ConfigDict(extra="forbid", use_attribute_docstrings=True, validate_default=True)


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
    """Key rebinding: binding id -> keys (comma separated), e.g. ``quit = "ctrl+q"``."""


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
    use_my_cnf: bool = True
    """Read the password from the ``[client]`` group of ``~/.my.cnf`` when no environment variable is set."""
    database: str = Field(default="postal", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    """Name of Postal's main database."""
    message_db_prefix: str = Field(default="postal", pattern=r"^[A-Za-z0-9_]+$", max_length=48)
    """Prefix of the per-server message databases (``<prefix>-server-<id>``); used in SQL identifiers."""
    poll_interval: float = Field(default=5.0, ge=1.0, le=300.0)
    """Seconds between database polls."""
    query_timeout: float = Field(default=4.0, gt=0.0, le=120.0)
    """Seconds after which one query is abandoned (keeps a slow database from stalling the monitor)."""
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


class Settings(BaseSettings):
    """The whole configuration."""

    model_config = SettingsConfigDict(
        env_prefix="POSTALTOP_",
        env_nested_delimiter="__",
        extra="forbid",
        use_attribute_docstrings=True,
        validate_default=True,
    )

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

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # load_settings() reads the file and the environment itself so that it knows where every value came
        # from (errors must name the file line or the variable); constructing Settings directly is pure.
        return (init_settings,)

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


@dataclass(frozen=True)
class ResolvedPassword:
    """A database password and a description of where it came from (safe to print)."""

    value: SecretStr | None
    source: str


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
    text: str | None = _read_config_text(config_path, explicit)
    file_data: dict[str, Any] = {}
    if text is not None:
        try:
            file_data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(_toml_error_message(config_path, text, exc)) from None
    env_data = _environment_data(environ)
    merged = _deep_merge(file_data, env_data)
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
        _check_password_file_mode(source, file_data)
    warnings: list[str] = []
    password_env = settings.database.password_env if settings.database is not None else None
    if password_env and password_env not in (os.environ if environ is None else environ):
        warnings.append(f"database.password_env names {password_env}, which is not set")
    return LoadedSettings(settings, source, config_path, warnings)


def resolve_db_password(
    db: DatabaseConfig, environ: Mapping[str, str] | None = None, my_cnf: Path | None = None
) -> ResolvedPassword:
    """Find the database password.

    Order: the environment variable named by ``password_env`` (or ``POSTALTOP_DB_PASSWORD``), then the
    ``[client]`` password of ``~/.my.cnf`` when ``use_my_cnf``, then ``password`` from the config.

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
    if db.use_my_cnf:
        from postaltop.sources.mycnf import default_path, read_client_options

        cnf = my_cnf if my_cnf is not None else default_path()
        options = read_client_options(cnf)
        if options.password is not None:
            return ResolvedPassword(SecretStr(options.password), f"{cnf} [client]")
    if db.password is not None:
        return ResolvedPassword(db.password, "config file (database.password)")
    return ResolvedPassword(None, "none (no password)")


def _read_config_text(path: Path, explicit: bool) -> str | None:
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


_TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)|\(at end of document\)")


def _toml_error_message(path: Path, text: str, exc: tomllib.TOMLDecodeError) -> str:
    message = str(exc)
    match = _TOML_POSITION.search(message)
    reason = _TOML_POSITION.sub("", message).strip()
    if match and match.group(1):
        where = f"line {match.group(1)}, column {match.group(2)}"
    else:
        where = f"line {text.count(chr(10)) + 1} (end of file)"
    return f"config file {path}, {where}: invalid TOML: {reason}"


def _environment_data(environ: Mapping[str, str] | None) -> dict[str, Any]:
    source = EnvSettingsSource(Settings)
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


def _deep_merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _check_password_file_mode(path: Path, file_data: Mapping[str, Any]) -> None:
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


# --- Error messages that point at the file and the line --------------------------------------------

_HEADER_RE = re.compile(r"^\s*(\[\[?)\s*([^\[\]]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY_PART = r"""(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')"""
_KEY_RE = re.compile(rf"^\s*({_KEY_PART}(?:\s*\.\s*{_KEY_PART})*)\s*=")
_MULTILINE_QUOTES = ('"""', "'''")
_MASKED = "********"


def dotted(loc: tuple[str | int, ...]) -> str:
    """``("hosts", 0, "name")`` -> ``hosts[0].name``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            # User-typed keys may hold anything; quote (and so escape) all but plain ones.
            name = part if re.fullmatch(r"[A-Za-z0-9_-]+", part) else toml_string(part)
            out += f".{name}" if out else name
    return out


def _split_key(key: str) -> list[str]:
    parts = []
    for part in re.findall(_KEY_PART, key):
        if part.startswith('"'):
            try:  # a basic-string key may hold escapes (\u001b): decode them as TOML does
                part = str(tomllib.loads(f"k = {part}")["k"])
            except tomllib.TOMLDecodeError:
                part = part.strip('"')
        elif part.startswith("'"):
            part = part[1:-1]
        parts.append(part)
    return parts


def find_line(text: str, loc: tuple[str | int, ...]) -> int | None:
    """The 1-based line of the TOML key for ``loc`` or, failing that, of its closest enclosing table."""
    target = [str(part) for part in loc]
    arrays: dict[tuple[str, ...], int] = {}
    current: list[str] = []
    best_len, best_line = 0, None
    in_multiline: str | None = None
    for lineno, line in enumerate(text.splitlines(), 1):
        if in_multiline is not None:
            if line.count(in_multiline) % 2 == 1:
                in_multiline = None
            continue
        header = _HEADER_RE.match(line)
        if header:
            parts = _split_key(header.group(2))
            if header.group(1) == "[[":
                arrays[tuple(parts)] = arrays.get(tuple(parts), -1) + 1
            # Array-of-tables elements are addressed by index, like pydantic's error locations.
            current = []
            for i, part in enumerate(parts):
                current.append(part)
                if tuple(parts[: i + 1]) in arrays:
                    current.append(str(arrays[tuple(parts[: i + 1])]))
            path = current
        else:
            key = _KEY_RE.match(line)
            if not key:
                continue
            path = current + _split_key(key.group(1))
            for quote in _MULTILINE_QUOTES:
                if line.count(quote) % 2 == 1:
                    in_multiline = quote
        if path and path == target[: len(path)] and len(path) > best_len:
            best_len, best_line = len(path), lineno
    return best_line


def env_var_for(loc: tuple[str | int, ...], env_data: Mapping[str, Any]) -> str | None:
    """The ``POSTALTOP_*`` variable that supplied the value at ``loc``, if one did."""
    node: Any = env_data
    parts: list[str] = []
    for part in loc:
        if not isinstance(node, Mapping) or part not in node:
            return None
        parts.append(str(part))
        node = node[part]
        if not isinstance(node, Mapping):
            return "POSTALTOP_" + "__".join(parts).upper()
    return None


def located(
    loc: tuple[str | int, ...], message: str, source: Path | None, text: str | None, env_var: str | None
) -> str:
    """One error: where (the environment variable, or the file and line), the key and what is wrong."""
    if env_var is not None:
        where = f"environment variable {env_var}"
    elif source is not None and text is not None:
        line = find_line(text, loc)
        where = f"{source}, line {line}" if line is not None else f"{source}"
    else:
        where = "defaults"
    return f"config error in {where}: {dotted(loc) or '(top level)'}: {message}"


def _model_at(root: type[BaseModel], path: tuple[str | int, ...]) -> type[BaseModel] | None:
    model = root
    for part in path:
        if isinstance(part, int):
            continue
        info = model.model_fields.get(part)
        if info is None:
            return None
        candidates = [info.annotation, *getattr(info.annotation, "__args__", ())]
        nested = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
        if not nested:
            return None
        model = nested[0]
    return model


def _section_label(path: tuple[str | int, ...]) -> str:
    if not path:
        return "the top level"
    if isinstance(path[-1], int):
        return f"[[{dotted(path[:-1])}]] entry {path[-1] + 1}"
    return f"[{dotted(path)}]"


def _describe_error(error: Mapping[str, Any], root: type[BaseModel]) -> str:
    loc: tuple[str | int, ...] = tuple(error["loc"])
    if error["type"] == "extra_forbidden" and loc:
        section = loc[:-1]
        model = _model_at(root, section)
        valid = list(model.model_fields) if model is not None else []
        message = f"unknown key {str(loc[-1])!r} in {_section_label(section)}"
        close = difflib.get_close_matches(str(loc[-1]), valid, n=1)
        if close:
            message += f"; did you mean {close[0]!r}?"
        if valid:
            message += "\n    valid keys: " + ", ".join(valid)
        return message
    message = str(error["msg"]).removeprefix("Value error, ")
    value = error.get("input")
    # Never echo what was typed for a password, even when it is merely of the wrong type.
    secret = any(str(part) in ("password", "webhook_url", "routing_key") for part in loc)
    if not secret and isinstance(value, str | int | float | bool) and error["type"] != "missing":
        shown = repr(value)
        message += f" (got {shown[:60] + '...' if len(shown) > 60 else shown})"
    return message


def format_validation_error(
    exc: ValidationError,
    source: Path | None,
    text: str | None,
    env_data: Mapping[str, Any],
    root: type[BaseModel],
) -> str:
    """A user-facing message for every problem pydantic found (at most 10 are listed)."""
    errors = exc.errors(include_url=False)
    lines = []
    for err in errors[:10]:
        loc = tuple(err["loc"])
        lines.append(located(loc, _describe_error(err, root), source, text, env_var_for(loc, env_data)))
    if len(errors) > 10:
        lines.append(f"... and {len(errors) - 10} more problems")
    return "\n".join(lines)


# --- Effective configuration dump ------------------------------------------------------------------


def toml_string(value: str) -> str:
    """A TOML basic string with every control/format character escaped (safe to print to a terminal)."""
    out = ['"']
    for ch in value:
        code = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif code < 0x20 or 0x7F <= code <= 0x9F or unicodedata.category(ch) in ("Cf", "Zl", "Zp", "Cs"):
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else toml_string(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, SecretStr):
        return toml_string(_MASKED)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return toml_string(str(value))


def _emit_model(out: list[str], header: str, table: str, model: BaseModel) -> None:
    out.append(header)
    subtables: list[tuple[str, dict[str, Any]]] = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        if value is None:
            out.append(f"# {name} is not set")
        elif isinstance(value, dict):
            subtables.append((name, value))
        else:
            out.append(f"{name} = {_toml_value(value)}")
    for name, mapping in subtables:
        out.extend(["", f"[{table}.{name}]"])
        if not mapping:
            out.append("# (empty)")
        out.extend(f"{_toml_key(str(k))} = {_toml_value(v)}" for k, v in mapping.items())


def effective_config_text(settings: Settings) -> str:
    """The settings as TOML, every secret replaced by ``********`` and every string escaped."""
    out: list[str] = []
    _emit_model(out, "[ui]", "ui", settings.ui)
    out.append("")
    if settings.database is None:
        out.append("# [database] is not configured")
    else:
        _emit_model(out, "[database]", "database", settings.database)
    for host in settings.hosts:
        out.append("")
        _emit_model(out, "[[hosts]]", "hosts", host)
    if not settings.hosts:
        out.extend(["", "# no [[hosts]] are configured"])
    out.append("")
    _emit_model(out, "[actions]", "actions", settings.actions)
    out.append("")
    _emit_model(out, "[ssh]", "ssh", settings.ssh)
    out.append("")
    _emit_notify(out, settings.notify)
    return "\n".join(out) + "\n"


def _emit_notify(out: list[str], notify: NotifyConfig) -> None:
    """``[notify]`` and its channel tables (secrets are never in them: only where they are read from)."""
    channels = ("alertmanager", "slack", "pagerduty", "email")
    out.append("[notify]")
    for name in type(notify).model_fields:
        value = getattr(notify, name)
        if name not in channels:
            out.append(f"# {name} is not set" if value is None else f"{name} = {_toml_value(value)}")
    for name in channels:
        channel = getattr(notify, name)
        if channel is None:
            out.append(f"# [notify.{name}] is not configured")
        else:
            out.append("")
            _emit_model(out, f"[notify.{name}]", f"notify.{name}", channel)
