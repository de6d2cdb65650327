"""``postaltop report`` end to end: from log files (the non-demo path) and its usage errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from postaltop.cli import main
from postaltop.core.sim import DEFAULT_START, Fleet


def _write_logs(tmp_path: Path) -> Path:
    fleet = Fleet(seed=3, scenario="brute-force", start=DEFAULT_START, volume=0.1)
    lines = [x.line for x in fleet.advance(DEFAULT_START + 900) if x.host == "mx2" and x.component == "smtp"]
    path = tmp_path / "mx2.smtp.log"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_report_from_a_log_file(tmp_path: Path, xdg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = _write_logs(tmp_path)
    out = tmp_path / "report.html"
    code = main(
        ["report", "--log", str(log), "--from", "2026-04-28T09:00", "--to", "2026-04-28T09:15",
         "--format", "html", "--output", str(out)]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert "Failed logins by IP" in page and "192.0.2.2" in page
    assert "logs: mx2.smtp.log" in page
    # text charts keep their line breaks (a sanitised newline would read ``^J``)
    assert "^J" not in page
    charts = [b.split("</pre>")[0] for b in page.split("<pre>")[1:] if " — total " in b.split("</pre>")[0]]
    assert charts and all(len(chart.splitlines()) == 3 for chart in charts), charts[:1]
    # without a database or simulator the sending step says where its figures come from
    assert "log lines (delivery attempts)" in page or "No sending figures" in page
    # reading the file was shown on stderr (not a terminal: every quarter of its bytes)
    err = capsys.readouterr().err
    shown = [line for line in err.splitlines() if line.startswith("reading log files: mx2.smtp.log (")]
    assert shown and shown[-1].endswith("(100%)"), err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["report", "--since", "bogus"], "is not a duration"),
        (["report", "--since", "1d", "--from", "2026-04-01"], "either --since or --from"),
        (["report", "--demo", "--scenario", "nope"], "unknown scenario"),
        (["review", "--resume"], "no unfinished review"),
    ],
)
def test_usage_errors_exit_2(
    argv: list[str], message: str, xdg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_demo_report_shows_its_progress(
    tmp_path: Path, xdg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report.md"
    assert main(["report", "--demo", "--since", "2h", "--output", str(out)]) == 0
    err = capsys.readouterr().err
    steps = [line for line in err.splitlines() if line.startswith("simulating the demo fleet: ")]
    assert [line.rsplit("(", 1)[1] for line in steps] == ["1%)", "25%)", "50%)", "75%)", "100%)"], steps
    assert out.read_text().startswith("# Postal log review")
