"""The wheel users install carries the themes and the typing marker, and declares the console script."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        text=True,
    )
    wheels = list(out.glob("postaltop-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_wheel_ships_every_theme(wheel: Path) -> None:
    themes_in_repo = sorted(p.name for p in (ROOT / "themes").glob("*.toml"))
    assert themes_in_repo, "no themes in themes/"
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    for theme in themes_in_repo:
        assert f"postaltop/themes/{theme}" in names


def test_wheel_is_typed_and_has_console_script(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        assert "postaltop/py.typed" in names
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        text = zf.read(entry_points).decode()
    assert "postaltop = postaltop.cli:main" in text


def test_wheel_ships_the_review_data(wheel: Path) -> None:
    data_in_repo = sorted(p.name for p in (ROOT / "postaltop" / "data").glob("*.toml"))
    assert {"releases.toml", "checklist.toml"} <= set(data_in_repo)
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    for name in data_in_repo:
        assert f"postaltop/data/{name}" in names


def test_wheel_ships_the_docs_and_help_reads_them_after_a_plain_install(wheel: Path, tmp_path: Path) -> None:
    docs_in_repo = sorted(
        p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*") if p.is_file()
    )
    assert {"configuration.md", "scaling.md", "prometheus/postaltop-rules.yml"} <= set(docs_in_repo)
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    for name in docs_in_repo:
        assert f"postaltop/docs/{name}" in names, name
    # installed from the wheel alone (no checkout next to it), `postaltop help` finds the pages
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
         "--target", str(target), str(wheel)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(target), "HOME": str(tmp_path)}
    page = subprocess.run(
        [sys.executable, "-m", "postaltop", "help", "configuration"],
        capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert page.returncode == 0, page.stderr
    assert page.stdout == (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    folder = subprocess.run(
        [sys.executable, "-m", "postaltop", "help", "--path"],
        capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert folder.stdout.strip() == str(target / "postaltop" / "docs")
    unknown = subprocess.run(
        [sys.executable, "-m", "postaltop", "help", "nope"],
        capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert unknown.returncode == 2 and "configuration" in unknown.stderr
