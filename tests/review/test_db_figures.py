"""Sending figures of a review from Postal's real ``stats_hourly`` tables (MariaDB)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from postaltop.cli import main
from tests.support import mysql
from tests.support.postal_builder import Dataset


@pytest.fixture(scope="module")
def dataset() -> Iterator[tuple[mysql.MysqlTarget, Dataset]]:
    target = mysql.available_target()
    with mysql.built_dataset(target, weeks=1) as data:
        yield target, data


def test_report_takes_hourly_figures_from_the_database(
    dataset: tuple[mysql.MysqlTarget, Dataset],
    tmp_path: Path,
    xdg: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    target, data = dataset
    if target.password:
        monkeypatch.setenv("POSTALTOP_DB_PASSWORD", target.password)
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        f'[database]\nhost = "{target.host}"\nport = {target.port}\nuser = "{target.user}"\n'
        f'database = "{data.prefix}"\nmessage_db_prefix = "{data.prefix}"\n'
    )
    cfg.chmod(0o600)
    out = tmp_path / "r.md"
    assert main(["report", "--config", str(cfg), "--since", "2d", "--output", str(out)]) == 0, (
        capsys.readouterr().err
    )
    md = out.read_text()
    assert "(source: Postal database (stats\\_hourly))" in md
    section = md.split("**Largest deviations")[0].split("## Unusual sending")[1]
    assert "acme/" in section or "globex/" in section, section
    assert time.time() - data.now < 3600  # the dataset is recent: its hours fall in the window
