"""A review's input from the simulated fleet, generated headlessly over the window (no pacing)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from postaltop.core.facts import Fact
from postaltop.core.ingest import Ingestor
from postaltop.core.logstore import LogStore
from postaltop.core.review.countries import RecipientMix, mix_from_tallies
from postaltop.core.review.inputs import SendingFigures, figures_from_counters
from postaltop.core.review.window import Window
from postaltop.core.sim import Fleet
from postaltop.core.sim.metrics import CredentialDomainCounters
from postaltop.core.sim.model import Counters

DEMO_VOLUME = 0.1
"""Message-rate multiplier of demo reviews: a day renders in seconds and every incident still shows."""
SLICE = 60.0
"""Simulated seconds per step (an observer sees every minute, as a poller would)."""
Observer = Callable[[float, list[Fact], Fleet], None]
"""Called after each slice with its end time, its facts and the fleet (e.g. to run alert detection)."""
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
    recipients: RecipientMix | None = None


def simulate_window(
    window: Window,
    *,
    scenario: str = "brute-force",
    seed: int = 1,
    volume: float = DEMO_VOLUME,
    observer: Observer | None = None,
) -> DemoData:
    """Run the fleet from ``window.start`` to ``window.end`` and ingest every line it writes.

    The scenario's incident starts at its usual offset after the window's start.

    Raises:
        KeyError: for an unknown scenario.
    """
    fleet = Fleet(seed=seed, scenario=scenario, start=window.start, volume=volume)
    recipients = tallied(fleet)
    store = LogStore(capacity=5_000_000)
    ingest = Ingestor(store)
    facts: list[Fact] = []
    pos = window.start
    while pos < window.end:
        pos = min(window.end, pos + SLICE)
        groups: dict[tuple[str, str], list[bytes]] = {}
        for item in fleet.advance(pos):
            groups.setdefault((item.host, item.component), []).append(item.line)
        found: list[Fact] = []
        for (host, component), lines in groups.items():
            found.extend(ingest.feed(host, component, lines, received_at=pos).facts)
        facts.extend(found)
        if observer is not None:
            observer(pos, found, fleet)
    facts.extend(ingest.flush())
    facts.sort(key=lambda f: f.ts)
    figures = figures_from_counters(fleet.counters, fleet.installation, window)
    mix = demo_recipients(fleet, recipients, seed, volume)
    return DemoData(store, facts, figures, list(fleet.hosts), scenario, seed, mix)
