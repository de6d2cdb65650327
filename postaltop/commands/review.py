"""``postaltop review``: a guided log review over a time window, one screen per checklist step."""

from __future__ import annotations

import argparse
import sys

from postaltop import locations
from postaltop.cli import Command, load_from_args, register_command
from postaltop.commands.report import add_window_options


def _configure(parser: argparse.ArgumentParser) -> None:
    add_window_options(parser, "7d")
    parser.add_argument("--resume", action="store_true", help="continue the last unfinished review")
    parser.set_defaults(handler=_run)


def build_session(args: argparse.Namespace) -> object:
    """Create (or resume) the review and compute its evidence; returns a ReviewSession."""
    from postaltop.core.review.evidence import all_evidence
    from postaltop.store.reviews import ReviewSession, ReviewStore, current_reviewer, default_report_dir

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
    if record is not None:
        # the stored review decides window, hosts and source
        args.demo = record.source.startswith("demo")
        if args.demo:
            inside = record.source.removeprefix("demo (").rstrip(")")
            scenario, _, seed = inside.partition(", seed ")
            args.scenario, args.seed = scenario, int(seed or 1)
        args.host = [] if not record.hosts else args.host
        from postaltop.commands.report import gather

        got = gather(args, loaded, record.window)
        review_id = record.id
    else:
        from postaltop.commands.report import gather, resolve_window

        window = resolve_window(args)
        got = gather(args, loaded, window)
        review_id = store.create(current_reviewer(), window, got.hosts, got.source, [s.id for s in got.steps])
    evidence = all_evidence(got.data, got.steps)
    return ReviewSession(
        store, review_id, got.steps, evidence, default_report_dir(loaded.settings.review),
        hosts=got.hosts, source=got.source,
    )  # fmt: skip


def _run(args: argparse.Namespace) -> int:
    from postaltop.core.review.checklist import ChecklistError
    from postaltop.core.review.window import WindowError
    from postaltop.core.versions import ReleaseTableError
    from postaltop.store.reviews import ReviewSession
    from postaltop.ui.screens.review import ReviewApp

    try:
        session = build_session(args)
    except (WindowError, ChecklistError, ReleaseTableError, OSError, KeyError, LookupError) as exc:
        print(f"postaltop review: error: {exc}", file=sys.stderr)
        return 2
    assert isinstance(session, ReviewSession)
    app = ReviewApp(session)
    app.run()
    if session.report_paths:
        for path in session.report_paths:
            print(f"report written to {path}")
    else:
        print(f"review #{session.review_id} kept: continue with `postaltop review --resume`")
    return 0


register_command(
    Command("review", "a guided log review over a time window, with findings and a report", _configure)
)
