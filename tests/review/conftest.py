"""Shared fixtures: a short simulated window (brute-force scenario), computed once per module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from postaltop.core.review.demo import DemoData, simulate_window
from postaltop.core.review.window import Window
from postaltop.core.sim import DEFAULT_START

WINDOW = Window(DEFAULT_START, DEFAULT_START + 3600)


@pytest.fixture(scope="module")
def demo() -> DemoData:
    return simulate_window(WINDOW, scenario="brute-force", seed=1)


@pytest.fixture
def xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Private XDG directories (the reviews database and reports go there)."""
    for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    yield tmp_path
