"""The effective configuration as TOML (``postaltop config check``): every section, secrets masked.

The output is valid TOML that loads back to the same settings (secrets read ``********``): lists are
TOML arrays, mappings (``[ui.keymap]``, ``[detection.static.<metric>]``) and nested models are tables,
lists of models (``[[hosts]]``, ``[[review.steps]]``) are arrays of tables. TOML has no null: an unset
value is a comment. Every string is escaped, so nothing typed in the config can drive the terminal.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from enum import Enum
from pathlib import PurePath
from typing import Any

from pydantic import BaseModel, SecretStr

from postaltop.core.sanitize import CONTROL_CATEGORIES

MASKED = "********"
"""What a secret is printed as."""

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def toml_string(value: str) -> str:
    """A TOML basic string with every control/format character escaped (safe to print to a terminal)."""
    out = ['"']
    for ch in value:
        code = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif unicodedata.category(ch) in CONTROL_CATEGORIES:
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def toml_key(key: str) -> str:
    """A bare key when it can be one, else a quoted key (``"app.quit"``)."""
    return key if _BARE_KEY.fullmatch(key) else toml_string(key)


class _NotConfigured:
    """An optional section (a model-typed field) that is unset: written ``# [a.b] is not configured``."""


NOT_CONFIGURED = _NotConfigured()


def _holds_model(annotation: Any) -> bool:
    candidates = [annotation, *getattr(annotation, "__args__", ())]
    return any(isinstance(c, type) and issubclass(c, BaseModel) for c in candidates)


def plain(value: Any) -> Any:
    """``value`` as TOML-ready data: models -> dicts (field order), secrets masked, paths -> strings.

    None stays None (the emitter writes it as a comment), or :data:`NOT_CONFIGURED` for an unset optional
    section; in a list, Nones are dropped (TOML has no null).
    """
    if isinstance(value, SecretStr):
        return MASKED
    if isinstance(value, BaseModel):
        out: dict[str, Any] = {}
        for name, info in type(value).model_fields.items():
            item = getattr(value, name)
            out[name] = NOT_CONFIGURED if item is None and _holds_model(info.annotation) else plain(item)
        return out
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value if v is not None]
    if isinstance(value, Enum):
        return plain(value.value)
    if isinstance(value, PurePath):
        return str(value)
    return value


def toml_value(value: Any) -> str:
    """An inline TOML value (strings escaped, arrays and inline tables for nested data)."""
    if isinstance(value, SecretStr):
        return toml_string(MASKED)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return "nan"
        if value in (float("inf"), float("-inf")):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, Mapping):
        items = ", ".join(f"{toml_key(str(k))} = {toml_value(v)}" for k, v in value.items() if v is not None)
        return "{" + items + "}" if items else "{}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value if v is not None) + "]"
    return toml_string(str(value))


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def emit_table(out: list[str], path: list[str], table: Mapping[str, Any], *, array: bool = False) -> None:
    """Append ``[path]`` (``[[path]]`` when ``array``) with its keys, then its sub-tables."""
    name = ".".join(toml_key(p) for p in path)
    out.append(f"[[{name}]]" if array else f"[{name}]")
    nested: list[tuple[str, Any]] = []
    written = 0
    for key, value in table.items():
        if value is None:
            out.append(f"# {toml_key(key)} is not set")
        elif value is NOT_CONFIGURED:
            out.append(f"# [{name}.{toml_key(key)}] is not configured")
        elif isinstance(value, dict) or _is_table_array(value):
            nested.append((key, value))
        else:
            out.append(f"{toml_key(key)} = {toml_value(value)}")
            written += 1
    if not written and not nested and not table:
        out.append("# (empty)")
    for key, value in nested:
        out.append("")
        if isinstance(value, dict):
            emit_table(out, [*path, key], value)
        else:
            for index, item in enumerate(value):
                if index:
                    out.append("")
                emit_table(out, [*path, key], item, array=True)


def effective_config_text(settings: BaseModel) -> str:
    """The settings (``postaltop.config.Settings``) as TOML: every section, every secret replaced by
    ``********``, every string escaped."""
    out: list[str] = []
    values = {name: plain(getattr(settings, name)) for name in type(settings).model_fields}
    tables = {k: v for k, v in values.items() if v in (None, NOT_CONFIGURED) or isinstance(v, dict | list)}
    # top-level plain keys first: after a [table] header they would belong to that table
    out.extend(f"{toml_key(k)} = {toml_value(v)}" for k, v in values.items() if k not in tables)
    for name, value in tables.items():
        if out:
            out.append("")
        if value is None or value is NOT_CONFIGURED:
            out.append(f"# [{toml_key(name)}] is not configured")
        elif isinstance(value, dict):
            emit_table(out, [name], value)
        elif isinstance(value, list) and not value:
            out.append(f"# no [[{toml_key(name)}]] are configured")
        elif _is_table_array(value):
            for index, item in enumerate(value):
                if index:
                    out.append("")
                emit_table(out, [name], item, array=True)
        else:  # a list of plain values, before any table would be wrong too: keep it inline at the top
            out.insert(0, f"{toml_key(name)} = {toml_value(value)}")
    return "\n".join(out) + "\n"
