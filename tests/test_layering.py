"""The layers, enforced with import-linter: the contracts in pyproject.toml hold for the code, and break for
code that crosses them (so this test can fail)."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"
LINT = "from importlinter.cli import lint_imports_command; lint_imports_command()"


def lint(config: Path, pythonpath: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    return subprocess.run(
        [sys.executable, "-c", LINT, "--config", str(config), "--no-cache"],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=240,
    )


def contracts() -> list[dict[str, object]]:
    data = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    found: list[dict[str, object]] = data["tool"]["importlinter"]["contracts"]
    return found


def test_the_code_keeps_every_layering_contract() -> None:
    out = lint(PYPROJECT, ROOT, ROOT)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert f"Contracts: {len(contracts())} kept, 0 broken." in out.stdout


def _module(root: Path, name: str, body: str = "") -> None:
    """Package ``name`` (and its parents) under ``root``, its ``__init__`` holding ``body``."""
    parts = name.split(".")
    for depth in range(1, len(parts) + 1):
        init = root.joinpath(*parts[:depth], "__init__.py")
        init.parent.mkdir(parents=True, exist_ok=True)
        if not init.exists():
            init.write_text("", encoding="utf-8")
    if body:
        root.joinpath(*parts, "__init__.py").write_text(body, encoding="utf-8")


def test_a_crossing_import_breaks_each_contract(tmp_path: Path) -> None:
    """A stand-in ``postaltop`` with one forbidden import per forbidden contract, and one cycle."""
    forbidden = [c for c in contracts() if c["type"] == "forbidden"]
    for contract in forbidden:
        for name in [*contract["source_modules"], *contract["forbidden_modules"]]:  # type: ignore[misc]
            if str(name).startswith("postaltop"):
                _module(tmp_path, str(name))
    for contract in forbidden:
        source = str(contract["source_modules"][0])  # type: ignore[index]
        target = next(str(m) for m in contract["forbidden_modules"] if str(m) != source)  # type: ignore[attr-defined]
        _module(tmp_path, f"{source}.crossing", f"import {target}\n")
    _module(tmp_path, "postaltop.cycle_a", "import postaltop.cycle_b\n")
    _module(tmp_path, "postaltop.cycle_b", "import postaltop.cycle_a\n")
    out = lint(PYPROJECT, tmp_path, tmp_path)
    assert out.returncode != 0
    assert f"Contracts: 0 kept, {len(contracts())} broken." in out.stdout, out.stdout[-4000:] + out.stderr
