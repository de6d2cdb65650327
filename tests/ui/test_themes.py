"""Shipped themes: loadable, complete, severities distinct in 16 colours and for colour-blind users."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest
from rich.color import Color, ColorSystem

from postaltop.ui.themes import SEVERITY_VARIABLES, THEME_ORDER, load_themes, theme_dirs, theme_from_toml

LEVELS = ("sev-debug", "sev-info", "sev-warn", "sev-error", "sev-fatal")
OKABE_ITO = {"#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000"}

# Machado, Oliveira & Fernandes (2009) simulation matrices at full severity, applied in linear RGB.
DEUTERANOPIA = (
    (0.367322, 0.860646, -0.227968),
    (0.280085, 0.672501, 0.047413),
    (-0.011820, 0.042940, 0.968881),
)
PROTANOPIA = (
    (0.152286, 1.052583, -0.204868),
    (0.114503, 0.786281, 0.099216),
    (-0.003882, -0.048116, 1.051998),
)


def _linear(c: float) -> float:
    c /= 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def _srgb(c: float) -> float:
    c = min(1.0, max(0.0, c))
    return 255 * (12.92 * c if c <= 0.0031308 else 1.055 * c ** (1 / 2.4) - 0.055)


def simulate(colour: str, matrix: tuple[tuple[float, float, float], ...]) -> tuple[float, ...]:
    rgb = [_linear(x) for x in Color.parse(colour).get_truecolor()]
    return tuple(_srgb(sum(row[j] * rgb[j] for j in range(3))) for row in matrix)


THEMES = load_themes()


def test_all_shipped_themes_load_from_the_repo_folder() -> None:
    assert set(THEME_ORDER) <= set(THEMES)
    assert any(d.name == "themes" and d.is_dir() for d in theme_dirs())


@pytest.mark.parametrize("name", THEME_ORDER)
def test_theme_defines_every_severity(name: str) -> None:
    theme = THEMES[name]
    for var in SEVERITY_VARIABLES:
        Color.parse(theme.variables[var])  # a valid colour


@pytest.mark.parametrize("name", THEME_ORDER)
def test_severities_stay_distinct_in_16_colours(name: str) -> None:
    """TEXTUAL_COLOR_SYSTEM=standard downgrades each colour to the nearest of 16: none may collide."""
    variables = THEMES[name].variables
    standard = {lvl: Color.parse(variables[lvl]).downgrade(ColorSystem.STANDARD).number for lvl in LEVELS}
    assert len(set(standard.values())) == len(LEVELS), standard
    eight_bit = {lvl: Color.parse(variables[lvl]).downgrade(ColorSystem.EIGHT_BIT).number for lvl in LEVELS}
    assert len(set(eight_bit.values())) == len(LEVELS), eight_bit


def test_colorblind_theme_uses_okabe_ito_and_survives_red_green_blindness() -> None:
    variables = THEMES["colorblind"].variables
    assert {variables[lvl].upper() for lvl in ("sev-info", "sev-warn", "sev-error", "sev-fatal")} <= OKABE_ITO
    for matrix in (DEUTERANOPIA, PROTANOPIA):
        for a, b in itertools.combinations(LEVELS, 2):
            distance = math.dist(simulate(variables[a], matrix), simulate(variables[b], matrix))
            assert distance > 45, (a, b, distance)


def test_theme_file_errors_are_reported(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="primary"):
        theme_from_toml({"name": "x"}, "x")
    with pytest.raises(ValueError, match="variables"):
        theme_from_toml({"primary": "#000000", "variables": {"sev-info": 3}}, "x")
    (tmp_path / "mine.toml").write_text('primary = "#123456"\n', encoding="utf-8")
    loaded = load_themes([tmp_path / "missing", tmp_path])
    assert list(loaded) == ["mine"]
    assert loaded["mine"].variables["sev-error"]  # defaults fill what the file lacks
