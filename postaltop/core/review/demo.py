"""A review's input from the simulated fleet, generated headlessly over the window (no pacing).

Windows up to :data:`FULL_WINDOW` are rendered in full. A longer one is rendered with a
:class:`~postaltop.core.sim.sampling.Sampling` plan: the scenario's incident (and the hour after it) in
full, a thin sample of the normal traffic elsewhere, and the sending volumes read from the simulated
database's hourly statistics, as a review of a real installation reads ``stats_hourly``. The lines are
ingested slice by slice as they are rendered; only the (sampled) lines and their facts are kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from postaltop.core.facts import Fact
from postaltop.core.ingest import Ingestor
from postaltop.core.logstore import LogStore
from postaltop.core.review.countries import RecipientMix, mix_from_tallies
from postaltop.core.review.inputs import SendingFigures, figures_from_counters, figures_from_history
from postaltop.core.review.window import Window, fmt_time
from postaltop.core.sim import Fleet
from postaltop.core.sim.history import window_history
from postaltop.core.sim.metrics import CredentialDomainCounters
from postaltop.core.sim.model import Counters
from postaltop.core.sim.sampling import Sampling, plan

DEMO_VOLUME = 0.1
"""Message-rate multiplier of demo reviews: a day renders in seconds and every incident still shows."""
SLICE = 60.0
"""Simulated seconds per step where the window is rendered in full (an observer sees every minute, as a
poller would)."""
COARSE_SLICE = 3600.0
"""Simulated seconds per step where the window is sampled (nothing observes those minutes)."""
FULL_WINDOW = 6 * 3600.0
"""Windows up to this long are rendered in full; longer ones are sampled."""
Observer = Callable[[float, list[Fact], Fleet], None]
"""Called after each slice rendered in full with its end time, its facts and the fleet (e.g. to run
alert detection)."""
Progress = Callable[[float], None]
"""Called after every slice with the simulated time reached."""
BASELINE_S = 6 * 3600.0
"""The demo's recipient baseline: the fleet's usual traffic over the hours before the window."""


class RecipientTally(CredentialDomainCounters):
    """The fleet's counters, also keeping every outgoing message's (server, credential, recipient domain)
    for the whole run (what the message databases' ``messages`` rows would give a query)."""

    __slots__ = ("recipients",)

    def __init__(self, base: Counters) -> None:
        super().__init__(base)
        self.recipients: dict[tuple[int, int | None, str], int] = {}

    def add(
        self, ts: float, metric: str, server_id: int, credential_id: int | None, domain: str | None
    ) -> None:
        """Count as the fleet's counters do; outgoing messages also by (server, credential, domain)."""
        super().add(ts, metric, server_id, credential_id, domain)
        if metric == "outgoing" and domain:
            key = (server_id, credential_id, domain.lower())
            self.recipients[key] = self.recipients.get(key, 0) + 1


def tallied(fleet: Fleet) -> RecipientTally:
    """Swap a :class:`RecipientTally` in for ``fleet``'s counters (before it runs)."""
    tally = RecipientTally(fleet.counters)
    fleet.counters = tally
    return tally


def demo_recipients(fleet: Fleet, window_tally: RecipientTally, seed: int, volume: float) -> RecipientMix:
    """The window's recipients beside the usual traffic's over the :data:`BASELINE_S` before it.

    The baseline is the same installation's normal traffic (the scenario's incident is in the window only),
    as the message databases of a real install hold the days before a review.
    """
    start = fleet.start - BASELINE_S
    before = Fleet(seed=seed, scenario="normal", start=start, volume=volume)
    tally = tallied(before)
    before.advance(fleet.start)
    servers = {srv.id: srv.full_permalink for srv in fleet.installation.servers}
    credentials = {c.id: c.name for c in fleet.installation.credentials}
    label = f"the {BASELINE_S / 3600:.0f} hours before (normal traffic)"
    return mix_from_tallies(window_tally.recipients, tally.recipients, servers, credentials, label)


@dataclass(slots=True)
class DemoData:
    """The retained lines, facts and figures of a simulated window."""

    store: LogStore
    facts: list[Fact]
    figures: SendingFigures
    hosts: list[str]
    scenario: str
    seed: int
    note: str = ""
    """How the window was sampled (empty when rendered in full): the review says it with its evidence."""
    recipients: RecipientMix | None = None
    """The recipient country mix (windows rendered in full only: a sample would skew it)."""


def sampling_for(window: Window, fleet: Fleet) -> Sampling | None:
    """The plan of ``window`` for ``fleet``'s scenario: None (render everything) for a short window."""
    if window.seconds <= FULL_WINDOW:
        return None
    return plan(window.start, window.end, fleet.scenario.incident())


def sampling_note(sampling: Sampling) -> str:
    """What a sampled window's evidence is made of, said in every step."""
    spans = ", ".join(f"{fmt_time(a)}-{fmt_time(b)[-5:]}" for a, b in sampling.full)
    where = f"Outside {spans} UTC (rendered in full" if spans else "Across the whole window (no incident span"
    alerts = "; the alerting engine ran there)" if spans else ", so the alerting engine did not run)"
    return (
        f"Sampled demo window. {where}{alerts} the log lines are a 1-in-{sampling.one_in} sample of the "
        "normal traffic and admin requests, while incident, scheduled-task and Internet password-guess "
        "lines are whole: counts taken from log lines cover that sample. Sending volumes are the "
        "simulated database's hourly statistics."
    )


def simulate_window(
    window: Window,
    *,
    scenario: str = "brute-force",
    seed: int = 1,
    volume: float = DEMO_VOLUME,
    observer: Observer | None = None,
    progress: Progress | None = None,
) -> DemoData:
    """Run the fleet from ``window.start`` to ``window.end`` and ingest every line it renders.

    The scenario's incident starts at its usual offset after the window's start.

    Raises:
        KeyError: for an unknown scenario.
    """
    fleet = Fleet(seed=seed, scenario=scenario, start=window.start, volume=volume)
    sampling = fleet.sampling = sampling_for(window, fleet)
    recipients = tallied(fleet) if sampling is None else None
    store = LogStore(capacity=5_000_000)
    ingest = Ingestor(store)
    facts: list[Fact] = []
    pos = window.start
    while pos < window.end:
        full = sampling is None or sampling.in_full(pos)
        until = slice_end(pos, window.end, sampling, full)
        found = _ingest_slice(fleet, ingest, until)
        facts.extend(found)
        if observer is not None and full:
            observer(until, found, fleet)
        if progress is not None:
            progress(until)
        pos = until
    facts.extend(ingest.flush())
    facts.sort(key=lambda f: f.ts)
    if sampling is None:
        assert recipients is not None
        figures = figures_from_counters(fleet.counters, fleet.installation, window)
        mix = demo_recipients(fleet, recipients, seed, volume)
        return DemoData(store, facts, figures, list(fleet.hosts), scenario, seed, recipients=mix)
    names = {s.id: s.full_permalink for s in fleet.installation.servers}
    points = window_history(fleet, window.start, window.end, sampling)
    history = figures_from_history(points, names, window)
    assert history is not None  # every hour of the window has its rows
    history.source = "simulated Postal database (stats_hourly)"
    return DemoData(store, facts, history, list(fleet.hosts), scenario, seed, sampling_note(sampling))


def slice_end(pos: float, end: float, sampling: Sampling | None, full: bool) -> float:
    """Where the slice starting at ``pos`` ends: a minute where rendered in full, else up to an hour (never
    past the start of a span rendered in full)."""
    if full:
        return min(end, pos + SLICE)
    assert sampling is not None
    until = min(end, pos + COARSE_SLICE)
    for start, _ in sampling.full:
        if pos < start < until:
            until = start
    return until


def _ingest_slice(fleet: Fleet, ingest: Ingestor, until: float) -> list[Fact]:
    """Render the fleet up to ``until`` and ingest its lines, grouped by host and container."""
    groups: dict[tuple[str, str], list[bytes]] = {}
    for item in fleet.advance(until):
        groups.setdefault((item.host, item.component), []).append(item.line)
    found: list[Fact] = []
    for (host, component), lines in groups.items():
        found.extend(ingest.feed(host, component, lines, received_at=until).facts)
    return found
