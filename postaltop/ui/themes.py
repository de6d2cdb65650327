"""Shipped colour themes: ``themes/*.toml`` loaded into Textual ``Theme`` objects.

The theme files live in the repository's top-level ``themes/`` folder; the wheel packages them
as ``postaltop/themes`` (see ``pyproject.toml``), so both places are searched.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from textual.theme import Theme

import postaltop

SEVERITY_VARIABLES = ("sev-debug", "sev-info", "sev-warn", "sev-error", "sev-fatal", "sev-unknown")
"""Theme variables the log panel colours severities with; every theme must define them."""

LOG_VARIABLES = ("log-time", "log-host", "log-component")
"""Theme variables for the other log columns."""

DEFAULT_VARIABLES: dict[str, str] = {
    "sev-debug": "#7a7a7a",
    "sev-info": "#3fa9f5",
    "sev-warn": "#f0c020",
    "sev-error": "#ff5555",
    "sev-fatal": "#ff55ff",
    "sev-unknown": "#8a8a8a",
    "log-time": "#8a93a3",
    "log-host": "#c9a0ff",
    "log-component": "#6fb8b0",
}
"""Fallbacks so that Textual's built-in themes (no severity variables) still render the panel."""

THEME_ORDER = ("dark", "light", "colorblind")
"""The order ``t`` cycles through."""

_COLOUR_KEYS = (
    "primary",
    "secondary",
    "warning",
    "error",
    "success",
    "accent",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
)


def theme_dirs() -> list[Path]:
    """Folders that may hold the shipped themes, in search order (wheel first, then the repo)."""
    package_dir = Path(postaltop.__file__).resolve().parent
    return [package_dir / "themes", package_dir.parent / "themes"]


def theme_from_toml(data: dict[str, Any], default_name: str) -> Theme:
    """Build a ``Theme`` from a parsed theme file.

    Args:
        data: the TOML document (top-level colour keys, ``dark``, a ``[variables]`` table).
        default_name: the name to use when the file has no ``name`` key (its file stem).

    Raises:
        ValueError: if the document misses ``primary`` or holds a value of the wrong type.
    """
    if not isinstance(data.get("primary"), str):
        raise ValueError("a theme needs a 'primary' colour")
    colours: dict[str, str] = {}
    for key in _COLOUR_KEYS:
        value = data.get(key)
        if value is not None:
            if not isinstance(value, str):
                raise ValueError(f"theme key {key!r} must be a colour string")
            colours[key] = value
    raw_vars = data.get("variables", {})
    if not isinstance(raw_vars, dict) or not all(isinstance(v, str) for v in raw_vars.values()):
        raise ValueError("theme 'variables' must be a table of strings")
    variables = {**DEFAULT_VARIABLES, **raw_vars}
    name = data.get("name", default_name)
    return Theme(
        name=str(name),
        primary=colours["primary"],
        secondary=colours.get("secondary"),
        warning=colours.get("warning"),
        error=colours.get("error"),
        success=colours.get("success"),
        accent=colours.get("accent"),
        foreground=colours.get("foreground"),
        background=colours.get("background"),
        surface=colours.get("surface"),
        panel=colours.get("panel"),
        boost=colours.get("boost"),
        dark=bool(data.get("dark", True)),
        variables=variables,
    )


def load_themes(dirs: list[Path] | None = None) -> dict[str, Theme]:
    """Load every ``*.toml`` theme from the first folder that has any.

    Args:
        dirs: folders to search; defaults to :func:`theme_dirs`.

    Returns:
        Themes by name. Empty if no folder holds a theme file.
    """
    for folder in dirs if dirs is not None else theme_dirs():
        files = sorted(folder.glob("*.toml")) if folder.is_dir() else []
        if files:
            themes: dict[str, Theme] = {}
            for path in files:
                with path.open("rb") as fh:
                    theme = theme_from_toml(tomllib.load(fh), path.stem)
                themes[theme.name] = theme
            return themes
    return {}
