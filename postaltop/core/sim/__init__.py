"""A deterministic simulated Postal fleet: the data behind ``postaltop demo``.

Pure: no I/O, no clock reads, no global random state. ``Fleet(seed, scenario, start)`` renders the
logs of three Postal v3 hosts (web, smtp, worker containers) as ``docker logs`` shows them, and
keeps per-minute counters that stand in for Postal's databases. Same seed, scenario and start give
byte-identical output however ``advance`` calls are split.
"""

from __future__ import annotations

from postaltop.core.sim.fleet import DEFAULT_START, HOST_COMPONENTS, Fleet, SimLine
from postaltop.core.sim.model import Counters, MinuteCounters, Tally
from postaltop.core.sim.scenarios import SCENARIOS, Scenario, ScenarioSpec, register

__all__ = [
    "DEFAULT_START",
    "HOST_COMPONENTS",
    "SCENARIOS",
    "Counters",
    "Fleet",
    "MinuteCounters",
    "Scenario",
    "ScenarioSpec",
    "SimLine",
    "Tally",
    "register",
]
