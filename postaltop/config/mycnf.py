"""Read the ``[client]`` group of a MySQL option file (``~/.my.cnf``) without ever failing.

Only ``user``, ``password``, ``host`` and ``port`` are taken. Like the MySQL clients, a world-writable
file is ignored (anyone could have planted credentials in it). Garbage, missing files, ``!include``
lines and odd quoting give ``None`` fields, never an exception. The password is kept out of ``repr``.
"""

from __future__ import annotations

import configparser
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

MAX_BYTES = 256 * 1024
"""A larger option file is not a hand-written client config; it is ignored."""

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "s": " ", "\\": "\\", "'": "'", '"': '"'}


@dataclass(frozen=True, slots=True)
class ClientOptions:
    """The connection settings found in an option file; ``None`` where absent or unusable."""

    user: str | None = None
    password: str | None = field(default=None, repr=False)
    host: str | None = None
    port: int | None = None
    warning: str | None = None
    """Why the file was ignored, when it was (safe to show: never contains the password)."""


def default_path() -> Path:
    """``~/.my.cnf``."""
    return Path.home() / ".my.cnf"


def read_client_options(path: Path | None = None) -> ClientOptions:
    """Parse the ``[client]`` group of ``path`` (default ``~/.my.cnf``).

    Args:
        path: the option file.

    Returns:
        The options; all fields None (with ``warning`` set when worth telling) if the file is unusable.
    """
    path = path if path is not None else default_path()
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            return ClientOptions(warning=f"{path} is not a regular file; ignored")
        if info.st_mode & stat.S_IWOTH:
            return ClientOptions(warning=f"{path} is world-writable; ignored (as the MySQL clients do)")
        if info.st_size > MAX_BYTES:
            return ClientOptions(warning=f"{path} is larger than {MAX_BYTES} bytes; ignored")
        raw = path.read_bytes()
    except FileNotFoundError:
        return ClientOptions()
    except OSError as exc:
        return ClientOptions(warning=f"cannot read {path}: {exc.strerror or type(exc).__name__}")
    text = raw.decode("utf-8", "replace").replace("\x00", "")
    values = _client_group(text)
    if values is None:
        return ClientOptions(warning=f"{path} could not be parsed; ignored")
    port: int | None = None
    port_text = values.get("port")
    if port_text is not None and port_text.isdigit() and 0 < int(port_text) < 65536:
        port = int(port_text)
    return ClientOptions(
        user=values.get("user") or None,
        password=values.get("password"),
        host=values.get("host") or None,
        port=port,
    )


def _client_group(text: str) -> dict[str, str] | None:
    """Values of ``[client]`` (later lines win, as in MySQL), unquoted; None on a parse failure."""
    parser = configparser.RawConfigParser(
        allow_no_value=True, strict=False, comment_prefixes=("#", ";"), inline_comment_prefixes=None
    )
    parser.optionxform = lambda optionstr: optionstr.strip().lower().replace("-", "_")  # type: ignore[method-assign]
    # `!include`/`!includedir` lines and keys before the first group are legal in option files but not
    # in configparser; drop the former and park the latter in a dummy group.
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("!")]
    try:
        parser.read_string("[__top__]\n" + "\n".join(lines))
    except configparser.Error:
        return None
    if not parser.has_section("client"):
        return {}
    out: dict[str, str] = {}
    for key in ("user", "password", "host", "port"):
        value = parser.get("client", key, fallback=None)
        if value is not None:
            out[key] = unquote(value)
    return out


def unquote(value: str) -> str:
    """Undo option-file quoting: quoted values take escapes; unquoted ones end at `` #`` comments."""
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), value[1:-1])
    return re.split(r"\s+#", value, maxsplit=1)[0].strip()
