"""Lint and type checks run with the tests, so CI catches them too."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=False)


def test_ruff_lint_is_clean() -> None:
    result = _run([sys.executable, "-m", "ruff", "check", "postaltop", "tests", "bench"])
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_clean() -> None:
    result = _run([sys.executable, "-m", "ruff", "format", "--check", "postaltop", "tests", "bench"])
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_clean() -> None:
    result = _run([sys.executable, "-m", "mypy", "postaltop"])
    assert result.returncode == 0, result.stdout + result.stderr
