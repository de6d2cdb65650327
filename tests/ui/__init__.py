"""UI tests: shared helpers to build a deterministic app (fixed seed, frozen clock, no live sources)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import groupby
from typing import TYPE_CHECKING

from postaltop.core.sim import Fleet, SimLine
from postaltop.engine import Engine

if TYPE_CHECKING:
    from postaltop.ui.app import PostaltopApp

EPOCH = 1777366800.0
"""2026-04-28 09:00:00 UTC: the frozen clock of every UI test."""


def frozen_clock() -> float:
    """The clock of every UI test: it never moves."""
    return EPOCH


def sim_lines(
    seconds: float, *, seed: int = 1, scenario: str = "normal", volume: float = 1.0
) -> list[SimLine]:
    """``seconds`` of simulated fleet output from EPOCH (deterministic for a seed)."""
    fleet = Fleet(seed=seed, scenario=scenario, start=EPOCH, volume=volume)
    return fleet.advance(EPOCH + seconds)


def make_engine(retained_lines: int = 100_000) -> Engine:
    """An engine on the frozen clock."""
    return Engine(retained_lines=retained_lines, refresh_hz=15, clock=frozen_clock)


def feed(engine: Engine, lines: Iterable[SimLine]) -> int:
    """Ingest simulated lines synchronously, grouped per (host, component) run as a source would."""
    total = 0
    for (host, component), group in groupby(lines, key=lambda s: (s.host, s.component)):
        batch = [s.line for s in group]
        total += engine.feed(host, component, batch, received_at=EPOCH).count
    return total


def feed_raw(engine: Engine, host: str, component: str, lines: Sequence[bytes]) -> int:
    """Ingest raw lines for one host/component."""
    return engine.feed(host, component, lines, received_at=EPOCH).count


def make_app(engine: Engine, **kwargs: object) -> PostaltopApp:
    """The app without its engine loop or sources (tests feed the engine and call ``sync``).

    With a monitor attached to ``engine`` unless one is given.
    """
    from postaltop.ui.app import PostaltopApp

    kwargs.setdefault("run_engine", False)
    kwargs.setdefault("persist_filters", False)
    kwargs.setdefault("mode", "test")
    if "monitor" not in kwargs:  # as the runtime builds it: the detectors attached to the engine
        from postaltop.runtime import build_monitor

        monitor = build_monitor(None)
        monitor.attach(engine)
        kwargs["monitor"] = monitor
    return PostaltopApp(engine, **kwargs)  # type: ignore[arg-type]
