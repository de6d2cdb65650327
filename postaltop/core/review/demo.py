"""A review's input from the simulated fleet, generated headlessly over the window (no pacing)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from postaltop.core.facts import Fact
from postaltop.core.ingest import Ingestor
from postaltop.core.logstore import LogStore
from postaltop.core.review.inputs import SendingFigures, figures_from_counters
from postaltop.core.review.window import Window
from postaltop.core.sim import Fleet

DEMO_VOLUME = 0.1
"""Message-rate multiplier of demo reviews: a day renders in seconds and every incident still shows."""
SLICE = 60.0
"""Simulated seconds per step (an observer sees every minute, as a poller would)."""
Observer = Callable[[float, list[Fact], Fleet], None]
"""Called after each slice with its end time, its facts and the fleet (e.g. to run alert detection)."""


@dataclass(slots=True)
class DemoData:
    """The retained lines, facts and figures of a simulated window."""

    store: LogStore
    facts: list[Fact]
    figures: SendingFigures
    hosts: list[str]
    scenario: str
    seed: int


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
    return DemoData(store, facts, figures, list(fleet.hosts), scenario, seed)
