"""A full guided review driven with Pilot over simulated data, and a snapshot of the review screen."""

from __future__ import annotations

import stat
from pathlib import Path

from textual.widgets import Static

from postaltop.core.review.demo import DemoData
from postaltop.core.review.evidence import all_evidence
from postaltop.core.review.inputs import ReviewInput
from postaltop.core.versions import demo_host_versions
from postaltop.sources.host_version import load_release_table
from postaltop.store.reviews import ReviewSession, ReviewStore, load_checklist
from postaltop.ui.screens.review import ReviewApp, ReviewScreen
from tests.review.conftest import WINDOW


def _session(demo: DemoData, root: Path) -> ReviewSession:
    steps = load_checklist()
    data = ReviewInput(
        WINDOW,
        demo.store,
        demo.facts,
        figures=demo.figures,
        versions=demo_host_versions(load_release_table()),
    )
    store = ReviewStore(root / "reviews.sqlite3")
    review_id = store.create("alice", WINDOW, demo.hosts, "demo (brute-force, seed 1)", [s.id for s in steps])
    return ReviewSession(store, review_id, steps, all_evidence(data, steps), root / "reports")


def _head(app: ReviewApp) -> str:
    return str(app.screen.query_one("#review-head", Static).render())


async def test_walk_all_steps_record_a_finding_and_write_the_report(demo: DemoData, tmp_path: Path) -> None:
    session = _session(demo, tmp_path)
    app = ReviewApp(session)
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen)
        assert "step 1/6: Failed authentication" in _head(app)
        evidence = str(app.screen.query_one("#review-evidence", Static).render())
        assert "Failed logins by IP" in evidence and "192.0.2.2" in evidence
        await pilot.press("s", "s")  # medium -> high -> critical
        await pilot.press("f")
        await pilot.press(*"brute force from 3 IPs")
        await pilot.press("enter")
        await pilot.press(*"block 192.0.2.200/26")
        await pilot.press("enter")
        await pilot.pause()
        assert session.findings["failed-auth"].severity == "critical"
        seen = []
        for _ in range(5):
            await pilot.press("n")
            await pilot.pause()
            seen.append(_head(app))
            await pilot.press("0")
        assert "step 6/6: Configuration and version state" in seen[-1]
        assert [h.split(": ", 1)[1] for h in seen] == [s.title for s in session.steps[1:]]
        await pilot.press("p")
        await pilot.pause()
        assert "step 5/6" in _head(app)
        await pilot.press("n", "w")
        await pilot.pause()
        await pilot.press("q")
    assert len(session.findings) == 6
    md_path, html_path = session.report_paths
    assert stat.S_IMODE(md_path.stat().st_mode) == 0o600
    md = md_path.read_text()
    expected = "finding: brute force from 3 IPs — follow-up: block 192.0.2.200/26"
    assert f"| CRITICAL | Failed authentication | {expected} |" in md
    assert "- **Unusual sending**: nothing found" in md
    page = html_path.read_text()
    assert page.startswith("<!DOCTYPE html>") and "brute force from 3 IPs" in page
    record = session.store.get(session.review_id)
    assert record is not None and record.finished
    # the next review compares with this one
    nxt = _session(demo, tmp_path)
    prev = nxt.report_data().previous
    assert prev is not None and prev.id == session.review_id
    assert prev.metrics["failed-auth"]["failed_logins"] > 100


async def test_resume_returns_to_the_step_and_findings(demo: DemoData, tmp_path: Path) -> None:
    session = _session(demo, tmp_path)
    session.move(1)
    session.move(1)
    session.record("low", "slight deferrals at yahoo")
    store = session.store
    unfinished = store.last_unfinished()
    assert unfinished is not None and unfinished.id == session.review_id and unfinished.position == 2
    steps = session.steps
    again = ReviewSession(store, unfinished.id, steps, session.evidence, tmp_path / "reports")
    app = ReviewApp(again)
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.pause()
        assert "step 3/6: Errors by component" in _head(app)
        assert "Recorded: LOW slight deferrals at yahoo" in str(
            app.screen.query_one("#review-finding", Static).render()
        )


def test_review_screen_snapshot(snap_compare, demo: DemoData, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    session = _session(demo, tmp_path)
    assert snap_compare(ReviewApp(session), terminal_size=(130, 40))
