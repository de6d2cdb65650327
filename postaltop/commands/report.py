"""``postaltop report``: the review's evidence without screens (for a nightly cron mail).

Shared with ``postaltop review``: the window options and :func:`gather`, which builds the evidence
input — with ``--demo`` by running the simulator over the window headlessly, otherwise from log files
given with ``--log`` (``docker logs`` output, exports) plus the hosts' versions read over SSH.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from postaltop.cli import Command, load_from_args, register_command
from postaltop.commands.progress import Progress, ProgressSink

if TYPE_CHECKING:
    from postaltop.config import LoadedSettings
    from postaltop.config.sections.detection import DetectionConfig
    from postaltop.core.facts import Fact
    from postaltop.core.logstore import LogStore
    from postaltop.core.review.checklist import Step
    from postaltop.core.review.countries import RecipientMix
    from postaltop.core.review.inputs import AlertRecord, ReviewInput, SendingFigures
    from postaltop.core.review.window import Window


def add_window_options(parser: argparse.ArgumentParser, default_since: str) -> None:
    """The window, host, demo and log-file options shared by ``review`` and ``report``."""
    parser.add_argument("--since", metavar="DURATION", help=f"window ending now (default: {default_since})")
    parser.add_argument("--from", dest="start", metavar="TIME", help="window start, UTC (2026-04-28T09:00)")
    parser.add_argument("--to", dest="end", metavar="TIME", help="window end, UTC (default: now)")
    parser.add_argument(
        "--host", action="append", default=[], metavar="NAME", help="only this host (repeatable)"
    )
    parser.add_argument("--demo", action="store_true", help="review the simulated fleet (no servers needed)")
    parser.add_argument(
        "--scenario", default="brute-force", metavar="NAME", help="demo scenario (default: brute-force)"
    )
    parser.add_argument("--seed", type=int, default=1, metavar="N", help="demo seed (default: 1)")
    parser.add_argument(
        "--log", action="append", default=[], type=Path, metavar="FILE",
        help="a log file to review (docker logs output; host = file name before the first dot); repeatable",
    )  # fmt: skip
    parser.set_defaults(default_since=default_since)


class NothingToReviewError(LookupError):
    """No demo, no ``--log`` file, no configured host (matching ``--host``) and no database: a review
    of nothing would read as "0 failed logins, all quiet"."""


@dataclass(slots=True)
class Gathered:
    """What a review or report is built from."""

    data: ReviewInput
    steps: list[Step]
    source: str
    hosts: list[str]


def demo_window(since: str | None, default_since: str) -> Window:
    """The demo's window: ending a day after the simulator's default start (a Tuesday 09:00 UTC)."""
    from postaltop.core.review.window import Window, parse_duration
    from postaltop.core.sim import DEFAULT_START

    length = parse_duration(since or default_since)
    end = DEFAULT_START + max(length, 86400.0)
    return Window(end - length, end)


def resolve_window(args: argparse.Namespace) -> Window:
    """The window from the options (raises WindowError)."""
    from postaltop.core.review.window import WindowError, make_window

    if args.demo:
        from postaltop.cli import scenario_names

        if args.scenario not in scenario_names():
            raise WindowError(f"unknown scenario {args.scenario!r}; valid: {', '.join(scenario_names())}")
    if args.demo and args.start is None:
        return demo_window(args.since, args.default_since)
    since = args.since if args.since or args.start is not None else args.default_since
    return make_window(now=time.time(), since=since, start=args.start, end=args.end)


def gather(
    args: argparse.Namespace, loaded: LoadedSettings, window: Window, sink: ProgressSink | None = None
) -> Gathered:
    """Build the evidence input for the window (demo simulation, or log files + SSH versions); progress on
    stderr, or handed to ``sink``."""
    from postaltop.core.review.inputs import ReviewInput, figures_from_facts
    from postaltop.core.versions import demo_host_versions
    from postaltop.sources.host_version import load_release_table
    from postaltop.store.reviews import load_checklist

    config = loaded.settings.review
    steps = load_checklist(config)
    table = load_release_table(config.releases_file)
    if args.demo:
        from postaltop.core.review.demo import simulate_window

        alerts = DemoAlerts(loaded.settings.detection)
        progress = Progress(window, "simulating the demo fleet", sink=sink)
        demo = simulate_window(
            window, scenario=args.scenario, seed=args.seed, observer=alerts.observe, progress=progress.at
        )
        progress.done()
        hosts = [h for h in demo.hosts if not args.host or h in args.host]
        data = ReviewInput(
            window, demo.store, demo.facts, hosts=hosts if args.host else (), figures=demo.figures,
            versions=[v for v in demo_host_versions(table, demo.hosts) if v.host in hosts],
            alerts=alerts.records(), top=config.top, sample_lines=config.sample_lines, note=demo.note,
            recipients=demo.recipients,
        )  # fmt: skip
        return Gathered(data, steps, f"demo ({args.scenario}, seed {args.seed})", hosts)
    configured = [h for h in loaded.settings.hosts if not args.host or h.name in args.host]
    if not args.log and not configured and loaded.settings.database is None:
        which = f"no configured host named {', '.join(args.host)}" if args.host else "no [[hosts]]"
        raise NothingToReviewError(
            f"nothing to review: {which}, no [database] in {loaded.searched_path} and no --log FILE "
            "(try --demo for the simulated fleet)"
        )
    store, facts, hosts = _read_logs(args.log, Progress(window, "reading log files", sink=sink))
    fetched = ""
    if not args.log and configured:
        progress = Progress(window, "fetching the hosts' logs", sink=sink)
        store, facts, fetched = _fetch_logs(loaded, configured, window, progress)
        hosts = [h.name for h in configured]
    versions = []
    if configured:
        import asyncio

        from postaltop.sources.host_version import read_versions
        from postaltop.sources.log_runner import ssh_options

        versions = asyncio.run(read_versions(configured, ssh_options(loaded.settings), table))
    names = sorted(set(hosts) | {h.name for h in configured})
    figures, recipients = _db_reads(loaded, window) if loaded.settings.database is not None else (None, None)
    data = ReviewInput(
        window, store, facts, hosts=args.host, figures=figures or figures_from_facts(facts, window),
        versions=versions, top=config.top, sample_lines=config.sample_lines, recipients=recipients,
    )  # fmt: skip
    files = ", ".join(p.name for p in args.log) or "no log files"
    source = fetched or f"logs: {files}"
    return Gathered(data, steps, source, names)


def _db_figures(loaded: LoadedSettings, window: Window) -> SendingFigures | None:
    """Hourly sending figures of the window from Postal's ``stats_hourly`` (None when unavailable)."""
    return _db_reads(loaded, window)[0]


def _db_reads(loaded: LoadedSettings, window: Window) -> tuple[SendingFigures | None, RecipientMix | None]:
    """Hourly sending figures of the window from Postal's ``stats_hourly``, and the recipient country mix
    from the message databases (None for what is unavailable: the review says where its figures come from)."""
    import asyncio
    import math

    from postaltop.core.review.inputs import figures_from_history
    from postaltop.sources.db_connect import connector_for
    from postaltop.sources.postal_db import PostalDbSource
    from postaltop.sources.recipient_mix import read_recipient_mix

    config = loaded.settings.database
    if config is None:
        return None, None

    async def read() -> tuple[SendingFigures | None, RecipientMix | None]:
        connector = connector_for(loaded.settings)
        source = PostalDbSource(config, connector=connector)
        recipients = None
        try:
            await source.connect()
            servers = await source.discover()
            weeks = max(1, math.ceil((time.time() - window.start) / (7 * 86400)))
            points = await source.history(weeks=weeks)
            try:
                recipients = await read_recipient_mix(source, window.start, window.end)
            except Exception as exc:  # the rest of the review stands without the country mix
                print(f"postaltop: warning: recipient country mix unavailable: {exc}", file=sys.stderr)
        finally:
            await source.close()
            await connector.close()
        names = {s.id: s.full_permalink for s in servers}
        return figures_from_history(points, names, window), recipients

    try:
        return asyncio.run(read())
    except Exception as exc:  # the review still works from the logs; it says where figures come from
        print(f"postaltop: warning: database figures unavailable: {exc}", file=sys.stderr)
        return None, None


def _fetch_logs(
    loaded: LoadedSettings, hosts: list[Any], window: Window, progress: Progress
) -> tuple[LogStore, list[Fact], str]:
    """The window's container logs of the configured hosts, over SSH (progress: the stream most behind)."""
    import asyncio

    from postaltop.core.ingest import Ingestor
    from postaltop.core.logstore import LogStore
    from postaltop.sources.log_runner import ssh_options
    from postaltop.sources.review_logs import fetch_window

    store = LogStore(capacity=5_000_000)
    ingest = Ingestor(store)
    facts: list[Fact] = []

    reached: dict[tuple[str, str], float] = {}

    def sink(host: str, component: str, lines: list[bytes]) -> None:
        facts.extend(ingest.feed(host, component, lines, received_at=time.time()).facts)
        if lines:
            reached[(host, component)] = store.event(store.end_seq - 1).ts
            progress.at(min(reached.values()))

    errors = asyncio.run(fetch_window(hosts, ssh_options(loaded.settings), window.start, sink))
    progress.at(window.end)
    progress.done()
    facts.extend(ingest.flush())
    facts.sort(key=lambda f: f.ts)
    for error in errors:
        print(f"postaltop: warning: {error}", file=sys.stderr)
    note = "; ".join(errors)
    return store, facts, "SSH: docker logs" + (f" (incomplete: {note})" if note else "")


class DemoAlerts:
    """Runs the alerting engine (:mod:`postaltop.monitoring`) over a simulated window, minute by minute.

    Fed like the live monitor: every minute's facts and a poll of the simulated databases, with the
    baselines bootstrapped from the simulator's synthetic history. If the alerting engine cannot run,
    :meth:`records` returns None and the review says the deviations were computed without it.
    """

    def __init__(self, settings: DetectionConfig | None = None) -> None:
        self._settings = settings
        self._monitor: Any = None
        self._metrics: Any = None
        self._records: list[AlertRecord] = []
        self.error = ""

    def observe(self, pos: float, facts: list[Fact], fleet: Any) -> None:
        """One simulated minute."""
        if self.error:
            return
        try:
            if self._monitor is None:
                from postaltop.core.sim.metrics import SimMetrics
                from postaltop.runtime import build_monitor
                from postaltop.sources.demo_metrics import attach_simulated_database

                self._monitor = build_monitor(self._settings)
                self._metrics = SimMetrics(fleet)
                attach_simulated_database(self._monitor, fleet)
                self._monitor.on_alert(self._event)
            from postaltop.core.ingest import IngestResult

            self._monitor.on_facts(IngestResult(0, len(facts), facts))
            self._monitor.on_metrics(self._metrics.poll(pos))
        except Exception as exc:  # the review still works without alerts; it says so
            self.error = f"{type(exc).__name__}: {exc}"

    def _event(self, event: Any) -> None:
        from postaltop.core.review.inputs import AlertRecord

        if event.transition.value in ("fired", "escalated"):
            alert = event.alert
            title = f"{alert.kind} {alert.scope} ({event.transition.value})"
            severity = "critical" if alert.severity.value == "critical" else "medium"
            self._records.append(AlertRecord(event.at, severity, title, alert.why, alert.kind))

    def records(self) -> list[AlertRecord] | None:
        """The alerts fired, or None when the engine could not run."""
        return None if self.error or self._monitor is None else list(self._records)


def _read_logs(paths: list[Path], progress: Progress) -> tuple[LogStore, list[Fact], list[str]]:
    """Ingest log files (progress: the share of their bytes read)."""
    from postaltop.core.ingest import Ingestor
    from postaltop.core.logstore import LogStore

    store = LogStore(capacity=5_000_000)
    ingest = Ingestor(store)
    facts: list[Fact] = []
    hosts: list[str] = []
    total = max(1, sum(p.expanduser().stat().st_size for p in paths))
    done = 0

    def feed(host: str, batch: list[bytes], path: Path) -> None:
        nonlocal done
        facts.extend(ingest.feed(host, "", batch, received_at=time.time()).facts)
        done += sum(len(line) + 1 for line in batch)
        share = min(1.0, done / total)
        progress.report(share, f"{progress.what}: {path.name} ({share * 100:.0f}%)")

    for path in paths:
        host = path.name.split(".", 1)[0] or "host"
        hosts.append(host)
        with path.expanduser().open("rb") as fh:
            batch: list[bytes] = []
            for raw in fh:
                batch.append(raw.rstrip(b"\r\n"))
                if len(batch) >= 4096:
                    feed(host, batch, path)
                    batch = []
            if batch:
                feed(host, batch, path)
    if paths:
        progress.done()
    facts.extend(ingest.flush())
    facts.sort(key=lambda f: f.ts)
    return store, facts, hosts


def _configure(parser: argparse.ArgumentParser) -> None:
    add_window_options(parser, "1d")
    parser.add_argument("--format", choices=("md", "html"), default="md", help="report format (default: md)")
    parser.add_argument("--output", type=Path, metavar="FILE", help="write the report here (default: stdout)")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from postaltop.core.review.checklist import ChecklistError
    from postaltop.core.review.evidence import all_evidence
    from postaltop.core.review.report import ReportData, render
    from postaltop.core.review.window import WindowError
    from postaltop.core.versions import ReleaseTableError
    from postaltop.store.reviews import ReviewStore, current_reviewer

    loaded = load_from_args(args)
    try:
        window = resolve_window(args)
        got = gather(args, loaded, window)
    except (WindowError, ChecklistError, ReleaseTableError, OSError, KeyError, NothingToReviewError) as exc:
        print(f"postaltop report: error: {exc}", file=sys.stderr)
        return 2
    evidence = all_evidence(got.data, got.steps)
    previous = None
    try:
        store = ReviewStore()
        previous = store.previous()
        store.close()
    except Exception as exc:  # the comparison is optional: a broken store must not stop the cron mail
        print(f"postaltop report: warning: previous review unavailable: {exc}", file=sys.stderr)
    text = render(
        ReportData(
            window, got.steps, evidence, reviewer=current_reviewer() + " (automatic report)",
            hosts=got.hosts, generated_at=time.time(), source=got.source, previous=previous,
        ),
        args.format,
    )  # fmt: skip
    if args.output is not None:
        from postaltop.private_files import write_private_text

        write_private_text(args.output, text)
        print(f"report written to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


register_command(
    Command("report", "write the log-review evidence as a report (Markdown or HTML)", _configure)
)
