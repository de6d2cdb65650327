"""Root fixtures: isolate every test from the user's real config and data directories."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_dirs(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Point XDG config/data/state/cache dirs at a fresh temporary tree for each test."""
    root: Path = tmp_path_factory.mktemp("xdg")
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        path = root / var.lower()
        path.mkdir()
        monkeypatch.setenv(var, str(path))
    for var in list(__import__("os").environ):
        if var.startswith("POSTALTOP_") and var not in ("POSTALTOP_REQUIRE_SERVICES", "POSTALTOP_TEST_MYSQL"):
            monkeypatch.delenv(var, raising=False)
    yield
