"""The review shows how far the reading of its window got: a loading screen with a progress bar, fed by the
command's real preparation; the session is created on the UI thread once the evidence is ready."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import ProgressBar, Static

from postaltop.cli import build_parser
from postaltop.commands.review import open_review, read_window
from postaltop.core.review.demo import DemoData
from postaltop.core.review.evidence import all_evidence
from postaltop.core.review.inputs import ReviewInput
from postaltop.runtime.interfaces import GuidedReview
from postaltop.store.reviews import ReviewSession, ReviewStore, load_checklist
from postaltop.ui.screens.review import ReviewApp, ReviewLoading, ReviewScreen
from tests.review.conftest import WINDOW

ProgressSink = Callable[[float, str], None]


async def _until(pilot: object, check: Callable[[], bool], seconds: float = 60.0) -> None:
    """Pause the pilot until ``check`` holds (a generous bound: the machine may be loaded)."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "condition not reached"
        await pilot.pause(0.05)  # type: ignore[attr-defined]


def _head(app: ReviewApp) -> str:
    heads = app.screen.query("#review-head").results(Static)
    return "".join(str(head.render()) for head in heads)  # empty until the screen has composed


async def test_loading_screen_shows_progress_then_opens_the_review(demo: DemoData, tmp_path: Path) -> None:
    release = threading.Event()
    threads: list[str] = []

    def prepare(sink: ProgressSink) -> Callable[[], GuidedReview]:
        sink(0.4, "simulating the demo fleet: 2026-04-28 09:24 UTC (40%)")
        assert release.wait(60)
        steps = load_checklist()
        evidence = all_evidence(ReviewInput(WINDOW, demo.store, demo.facts, figures=demo.figures), steps)

        def finish() -> GuidedReview:
            threads.append(threading.current_thread().name)
            store = ReviewStore(tmp_path / "reviews.sqlite3")
            review_id = store.create(
                "alice", WINDOW, demo.hosts, "demo (brute-force, seed 1)", [s.id for s in steps]
            )
            return ReviewSession(store, review_id, steps, evidence, tmp_path / "reports")

        return finish

    app = ReviewApp(prepare=prepare)
    async with app.run_test(size=(120, 35)) as pilot:
        await _until(pilot, lambda: isinstance(app.screen, ReviewLoading))
        bar = app.screen.query_one(ProgressBar)
        await _until(pilot, lambda: bar.progress == 40)
        text = str(app.screen.query_one("#review-loading-text", Static).render())
        assert "simulating the demo fleet" in text and "(40%)" in text
        release.set()
        await _until(pilot, lambda: isinstance(app.screen, ReviewScreen))
        await _until(pilot, lambda: "step 1/6: Failed authentication" in _head(app))
    assert threads == [threading.main_thread().name]  # the store is opened on the UI thread
    assert app.failure is None and app.session is not None


async def test_a_failed_preparation_closes_the_app_and_keeps_the_error() -> None:
    def prepare(sink: ProgressSink) -> Callable[[], GuidedReview]:
        sink(0.1, "reading")
        raise LookupError("no unfinished review to resume")

    app = ReviewApp(prepare=prepare)
    async with app.run_test(size=(100, 30)) as pilot:
        await _until(pilot, lambda: app.failure is not None)
    assert isinstance(app.failure, LookupError) and app.session is None


async def test_closing_the_app_while_reading_stops_the_reading() -> None:
    reports = threading.Event()
    stopped = threading.Event()
    raised: list[BaseException] = []

    def prepare(sink: ProgressSink) -> Callable[[], GuidedReview]:
        try:
            while True:  # a reading that would never end by itself
                sink(0.5, "fetching the hosts' logs: 2026-04-28 12:00 UTC (50%)")
                reports.set()
                time.sleep(0.01)
        except BaseException as exc:
            raised.append(exc)
            raise
        finally:
            stopped.set()

    app = ReviewApp(prepare=prepare)
    async with app.run_test(size=(100, 30)) as pilot:
        await _until(pilot, reports.is_set)
        await pilot.press("ctrl+q")
    assert stopped.wait(60), "the reading thread kept running after the app closed"
    assert [type(exc).__name__ for exc in raised] == ["ReadingCancelled"]
    assert app.failure is None and app.session is None


def test_the_command_reports_progress_while_it_reads_a_sampled_window(
    xdg: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = build_parser().parse_args(["review", "--demo", "--since", "8h"])
    seen: list[tuple[float, str]] = []
    finish = read_window(open_review(args), args, lambda share, text: seen.append((share, text)))
    session = finish()
    assert seen and seen[0][0] < 0.5 and seen[-1][0] == 1.0
    assert all(a[0] <= b[0] for a, b in itertools.pairwise(seen))
    assert all(text.startswith("simulating the demo fleet: ") for _, text in seen)
    assert "1-in-60 sample" in session.evidence[0].note  # 8 h is sampled, and the review says so
