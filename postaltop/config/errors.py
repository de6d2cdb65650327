"""Configuration error messages that say where the problem is: the file and line, or the environment variable.

:class:`ConfigError` is what every configuration problem becomes; :func:`format_validation_error` turns
pydantic's errors into lines like ``config error in /etc/postaltop.toml, line 3: database.prot: unknown key``.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from postaltop.config.toml import toml_string

# Defined apart so that catching it imports no pydantic; re-exported here, its historical home.
from postaltop.config_error import ConfigError as ConfigError

_HEADER_RE = re.compile(r"^\s*(\[\[?)\s*([^\[\]]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY_PART = r"""(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')"""
_KEY_RE = re.compile(rf"^\s*({_KEY_PART}(?:\s*\.\s*{_KEY_PART})*)\s*=")
_MULTILINE_QUOTES = ('"""', "'''")
_TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)|\(at end of document\)")
SECRET_KEYS = ("password", "webhook_url", "routing_key")
"""Keys whose typed value is never echoed in an error message."""


def toml_error_message(path: Path, text: str, exc: tomllib.TOMLDecodeError) -> str:
    """``config file F, line L, column C: invalid TOML: reason`` for a file tomllib refused."""
    message = str(exc)
    match = _TOML_POSITION.search(message)
    reason = _TOML_POSITION.sub("", message).strip()
    if match and match.group(1):
        where = f"line {match.group(1)}, column {match.group(2)}"
    else:
        where = f"line {text.count(chr(10)) + 1} (end of file)"
    return f"config file {path}, {where}: invalid TOML: {reason}"


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
    """The ``POSTALTOP_*`` variable(s) that supplied the value at ``loc``, if any did.

    ``loc`` may point at a value (``detection.z_warning``) or at a whole section: a section's own
    validator (``z_warning must not exceed z_critical``) reports the section, so every variable set
    under it is named (comma separated).
    """
    node: Any = env_data
    parts: list[str] = []
    for part in loc:
        if not isinstance(node, Mapping) or part not in node:
            return None
        parts.append(str(part))
        node = node[part]
        if not isinstance(node, Mapping):
            return _env_name(parts)
    names = sorted(_leaf_vars(node, parts))
    return ", ".join(names) if names else None


def _env_name(parts: list[str]) -> str:
    return "POSTALTOP_" + "__".join(parts).upper()


def _leaf_vars(node: Mapping[str, Any], parts: list[str]) -> list[str]:
    out: list[str] = []
    for key, value in node.items():
        if isinstance(value, Mapping):
            out.extend(_leaf_vars(value, [*parts, str(key)]))
        else:
            out.append(_env_name([*parts, str(key)]))
    return out


def located(
    loc: tuple[str | int, ...], message: str, source: Path | None, text: str | None, env_var: str | None
) -> str:
    """One error: where (the environment variable, or the file and line), the key and what is wrong."""
    if env_var is not None:
        noun = "environment variables" if "," in env_var else "environment variable"
        where = f"{noun} {env_var}"
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
    secret = any(str(part) in SECRET_KEYS for part in loc)
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
