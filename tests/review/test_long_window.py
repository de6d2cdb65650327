"""A 7-day demo review: sampled lines, volumes from the simulated database's hourly statistics, the alerting
engine over the incident, and every scenario's incident still found in the report."""

from __future__ import annotations

from pathlib import Path

import pytest

from postaltop.cli import main


@pytest.mark.slow
@pytest.mark.parametrize(
    ("scenario", "expected"),
    [
        # the attackers' guesses are rendered whole: the IPs are flagged from the log lines
        ("brute-force", "failed logins from 192.0.2."),
        # the alerting engine watched the incident's hour: new recipient domains, the credential's volume
        ("compromised-credential", "new recipient domains"),
        ("bounce-storm", "alert: bounce rate"),
        # no bounded incident: the trend shows in the hourly statistics against the server's median
        ("slow-ramp", "globex/app sent"),
    ],
)
def test_a_week_review_finds_the_scenario_incident(
    scenario: str, expected: str, tmp_path: Path, xdg: Path
) -> None:
    out = tmp_path / "report.md"
    argv = ["report", "--demo", "--since", "7d", "--scenario", scenario, "--output", str(out)]
    assert main(argv) == 0
    report = out.read_text()
    problems = report.split("\n## ", 2)[1]  # the problems table comes first
    assert expected in problems, problems
    assert "1-in-60 sample" in report
    assert "(source: simulated Postal database (stats\\_hourly))" in report  # Markdown-escaped


@pytest.mark.slow
def test_a_quiet_week_flags_no_incident(tmp_path: Path, xdg: Path) -> None:
    out = tmp_path / "report.md"
    assert main(["report", "--demo", "--since", "7d", "--scenario", "normal-week", "--output", str(out)]) == 0
    problems = out.read_text().split("\n## ", 2)[1]
    for incident in ("failed logins from", "new recipient domains", "alert: bounce rate", "globex/app sent"):
        assert incident not in problems, problems
