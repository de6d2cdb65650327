"""Report content over simulated data, and escaping of hostile log content."""

from __future__ import annotations

import re

from postaltop.core.ingest import Ingestor
from postaltop.core.logstore import LogStore
from postaltop.core.review.demo import DemoData
from postaltop.core.review.evidence import all_evidence
from postaltop.core.review.inputs import ReviewInput
from postaltop.core.review.model import Finding
from postaltop.core.review.report import PreviousReview, ReportData, render_html, render_markdown
from postaltop.core.review.window import Window
from postaltop.core.versions import demo_host_versions
from postaltop.sources.host_version import load_release_table
from postaltop.store.reviews import load_checklist
from tests.review.conftest import WINDOW


def _data(demo: DemoData) -> ReviewInput:
    versions = demo_host_versions(load_release_table())
    return ReviewInput(WINDOW, demo.store, demo.facts, figures=demo.figures, versions=versions)


def _section(md: str, title: str) -> str:
    start = md.index(f"## {title}")
    end = md.find("\n## ", start + 3)
    return md[start : end if end > 0 else len(md)]


def test_brute_force_attackers_come_first_under_failed_logins(demo: DemoData) -> None:
    steps = load_checklist()
    evidence = all_evidence(_data(demo), steps)
    md = render_markdown(ReportData(WINDOW, steps, evidence, reviewer="alice"))
    auth = _section(md, "Failed authentication")
    rows = re.findall(r"^\| (192\.0\.2\.\d+|198\.51\.100\.\d+|203\.0\.113\.\d+) \| ([\d,]+) \|", auth, re.M)
    assert rows, auth[:500]
    top_ip, top_count = rows[0]
    # the scenario's attackers are 192.0.2.200-249 and out-guess every legitimate client
    assert top_ip.startswith("192.0.2.") and 200 <= int(top_ip.rsplit(".", 1)[1]) < 250
    assert int(top_count.replace(",", "")) > 100
    # problems first: the report opens with the attack and the version that misses security fixes
    problems = _section(md, "Problems first")
    assert md.index("## Problems first") < md.index("## Failed authentication")
    assert f"failed logins from {top_ip}" in problems.splitlines()[4]
    assert "mx3 runs Postal 3.3.5: security fixes missing (3.3.6)" in problems
    # pflogsumm-like tables are present with content
    for title in ("Top recipient domains", "Top envelope senders", "Deferral reasons", "Bounce reasons"):
        assert title in md
    assert "gmail.com" in _section(md, "Unusual sending")


def test_findings_and_comparison_with_previous_review(demo: DemoData) -> None:
    steps = load_checklist()
    evidence = all_evidence(_data(demo), steps)
    findings = {
        "failed-auth": Finding("failed-auth", "high", "brute force from 192.0.2.x", "block at firewall"),
        "errors": Finding("errors", "info", "", nothing_found=True),
    }
    before = {"failed-auth": {"failed_logins": 10.0}, "errors": {"errors": 0.0}}
    prev = PreviousReview(7, Window(WINDOW.start - 3600, WINDOW.start), before, ())
    md = render_markdown(ReportData(WINDOW, steps, evidence, findings, reviewer="alice", previous=prev))
    assert "finding: brute force from 192.0.2.x — follow-up: block at firewall" in md
    assert "- **Errors by component**: nothing found" in md
    assert "- **Held and bounced mail**: not reviewed" in md
    assert "Previous review #7" in md
    assert re.search(r"\| Failed authentication \| failed logins \| 10 \| [\d,]+ \| \+\d+% \|", md)


def test_hostile_log_content_is_escaped_in_html_and_markdown() -> None:
    store = LogStore()
    ingest = Ingestor(store)
    evil = "<script>alert(1)</script>|**x**\x1b]0;pwn\x07"
    line = (
        f"2026-04-28 09:10:00 +0000 WARN   Authentication failure for {evil} "
        "trace_id=AAAAAAAA component=smtp-server"
    )
    facts = ingest.feed("mx1", "smtp", [line.encode()], received_at=WINDOW.start).facts
    data = ReviewInput(WINDOW, store, facts)
    steps = load_checklist()
    evidence = all_evidence(data, steps)
    report = ReportData(WINDOW, steps, evidence, reviewer="<b>eve</b>")
    page = render_html(report)
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<b>eve</b>" not in page
    assert "\x1b" not in page and "\x07" not in page
    md = render_markdown(report)
    assert "\x1b" not in md and "\x07" not in md
    # raw text only inside indented code blocks (shown literally by Markdown); escaped everywhere else
    for text_line in md.splitlines():
        if "<script>" in text_line:
            assert text_line.startswith("    "), text_line
    assert "&lt;script&gt;" in md
    assert "\\|" in md  # a pipe in a cell cannot open a new column


def test_alerting_engine_runs_over_the_simulated_window() -> None:
    from postaltop.commands.report import DemoAlerts
    from postaltop.core.review.demo import simulate_window

    alerts = DemoAlerts()
    window = Window(WINDOW.start, WINDOW.start + 1800)
    demo = simulate_window(window, scenario="brute-force", seed=1, observer=alerts.observe)
    records = alerts.records()
    assert records is not None, alerts.error
    attackers = {r.title.split()[1] for r in records if r.kind == "auth_burst"}
    assert any(a.startswith("ip:192.0.2.") for a in attackers)
    data = ReviewInput(window, demo.store, demo.facts, figures=demo.figures, alerts=records)
    evidence = {e.step_id: e for e in all_evidence(data, load_checklist())}
    titles = [t.title for t in evidence["failed-auth"].tables]
    assert "Alerts raised (SMTP AUTH bursts)" in titles
    assert evidence["unusual-sending"].note == ""  # alerts were available: no caveat
