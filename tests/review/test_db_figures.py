"""Sending figures of a review from Postal's real ``stats_hourly`` tables (MariaDB)."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from postaltop.cli import main
from tests.support import mysql
from tests.support.postal_builder import Dataset, add_traffic


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


def test_report_reads_the_recipient_country_mix_from_the_message_databases(
    dataset: tuple[mysql.MysqlTarget, Dataset],
    tmp_path: Path,
    xdg: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    target, data = dataset
    if target.password:
        monkeypatch.setenv("POSTALTOP_DB_PASSWORD", target.password)
    cred_id, (server_id, cred_name, _type) = next(
        (c, spec)
        for c, spec in sorted(data.credentials.items())
        if data.servers[spec[0]].id in data.live_ids()
    )
    conn = mysql.connect(target)
    try:  # a burst to Brazil, a country the dataset never mails: in the window, absent from the baseline
        rows = [("outgoing", cred_id, f"u{i}@shop{i % 40}.com.br", "Sent", 0) for i in range(400)]
        add_traffic(conn, data.prefix, server_id, rows, now=time.time() - 60)
        conn.commit()
    finally:
        conn.close()
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        f'[database]\nhost = "{target.host}"\nport = {target.port}\nuser = "{target.user}"\n'
        f'database = "{data.prefix}"\nmessage_db_prefix = "{data.prefix}"\n'
    )
    cfg.chmod(0o600)
    out = tmp_path / "r.html"
    args = ["report", "--config", str(cfg), "--since", "1d", "--format", "html", "--output", str(out)]
    assert main(args) == 0, capsys.readouterr().err
    page = html.unescape(out.read_text())
    assert "Recipient countries by credential (window vs the 7 days before the window)" in page
    assert re.search(r"<td>credential [a-z]+/[a-z0-9-]+ · " + re.escape(cred_name) + "</td>", page), page[
        -3000:
    ]
    assert re.search(
        r"· " + re.escape(cred_name) + r" sent [\d,]+ messages \(\d+%\) to \.br, a country absent", page
    )
