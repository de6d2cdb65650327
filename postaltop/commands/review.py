"""``postaltop review``: a guided log review over a time window, one screen per checklist step.

The screen opens at once: the review's store is opened (and a review to resume found) first, the window is
read in a worker thread while a loading screen shows how far it got, and the review is created on the UI
thread once its evidence is ready (SQLite connections stay on the thread that opened them).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from postaltop import locations
from postaltop.cli import Command, load_from_args, register_command
from postaltop.commands.report import add_window_options

if TYPE_CHECKING:
    from postaltop.commands.progress import ProgressSink
    from postaltop.config import LoadedSettings
    from postaltop.core.review.window import Window
    from postaltop.store.reviews import ReviewRecord, ReviewSession, ReviewStore


def _configure(parser: argparse.ArgumentParser) -> None:
    add_window_options(parser, "7d")
    parser.add_argument("--resume", action="store_true", help="continue the last unfinished review")
    parser.set_defaults(handler=_run)


@dataclass(slots=True)
class Opening:
    """A review about to be read: its settings, store, window and (when resumed) its stored record."""

    loaded: LoadedSettings
    store: ReviewStore
    window: Window
    record: ReviewRecord | None


def open_review(args: argparse.Namespace) -> Opening:
    """Load the settings, open the reviews' store and find the window (or the review to resume).

    Raises:
        LookupError: ``--resume`` with no unfinished review; WindowError for a bad window.
    """
    from postaltop.commands.report import resolve_window
    from postaltop.store.reviews import ReviewStore

    loaded = load_from_args(args)
    store = ReviewStore()
    record = store.last_unfinished() if args.resume else None
    if args.resume and record is None and not args.demo:
        # demo reviews are kept apart from real ones: resume the demo's when no real one is open
        with locations.namespace(locations.DEMO_NAMESPACE):
            demo_store = ReviewStore()
        record = demo_store.last_unfinished()
        store = demo_store if record is not None else store
    if args.resume and record is None:
        raise LookupError("no unfinished review to resume")
    if record is None:
        return Opening(loaded, store, resolve_window(args), None)
    # the stored review decides window, hosts and source
    args.demo = record.source.startswith("demo")
    if args.demo:
        inside = record.source.removeprefix("demo (").rstrip(")")
        scenario, _, seed = inside.partition(", seed ")
        args.scenario, args.seed = scenario, int(seed or 1)
    args.host = [] if not record.hosts else args.host
    return Opening(loaded, store, record.window, record)


def read_window(
    opening: Opening, args: argparse.Namespace, sink: ProgressSink | None = None
) -> Callable[[], ReviewSession]:
    """Read the window and compute the evidence (no store access: may run in a worker thread); returns
    what creates the session on the store's thread."""
    from postaltop.commands.report import gather
    from postaltop.core.review.evidence import all_evidence
    from postaltop.store.reviews import ReviewSession, current_reviewer, default_report_dir

    got = gather(args, opening.loaded, opening.window, sink)
    evidence = all_evidence(got.data, got.steps)

    def session() -> ReviewSession:
        store, record = opening.store, opening.record
        if record is not None:
            review_id = record.id
        else:
            steps = [s.id for s in got.steps]
            review_id = store.create(current_reviewer(), opening.window, got.hosts, got.source, steps)
        report_dir = default_report_dir(opening.loaded.settings.review)
        return ReviewSession(
            store, review_id, got.steps, evidence, report_dir, hosts=got.hosts, source=got.source
        )

    return session


def build_session(args: argparse.Namespace) -> ReviewSession:
    """Create (or resume) the review and compute its evidence in this thread (progress on stderr)."""
    return read_window(open_review(args), args)()


def _run(args: argparse.Namespace) -> int:
    from postaltop.core.review.checklist import ChecklistError
    from postaltop.core.review.window import WindowError
    from postaltop.core.versions import ReleaseTableError
    from postaltop.ui.screens.review import ReviewApp

    expected = (WindowError, ChecklistError, ReleaseTableError, OSError, KeyError, LookupError)
    try:
        opening = open_review(args)
    except expected as exc:
        print(f"postaltop review: error: {exc}", file=sys.stderr)
        return 2

    def prepare(sink: ProgressSink) -> Callable[[], Any]:
        return read_window(opening, args, sink)

    app = ReviewApp(prepare=prepare)
    app.run()
    if app.failure is not None:
        if not isinstance(app.failure, expected):
            raise app.failure
        print(f"postaltop review: error: {app.failure}", file=sys.stderr)
        return 2
    session = app.session
    if session is None:
        return 0
    paths = getattr(session, "report_paths", [])
    for path in paths:
        print(f"report written to {path}")
    if not paths:
        print(f"review #{session.review_id} kept: continue with `postaltop review --resume`")
    return 0


register_command(
    Command("review", "a guided log review over a time window, with findings and a report", _configure)
)
