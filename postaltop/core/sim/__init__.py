"""A deterministic simulated Postal fleet: the data behind ``postaltop demo``.

Pure: no I/O, no clock reads, no global random state. ``Fleet(seed, scenario, start)`` renders the
logs of three Postal v3 hosts (web, smtp, worker containers) as ``docker logs`` shows them, and
keeps per-minute counters that stand in for Postal's databases. Same seed, scenario and start give
byte-identical output however ``advance`` calls are split.

The names below load their module on first use, so that ``postaltop.core.sim.scenarios`` (the scenario
names the command line checks before the demo's first frame) can be imported without the whole simulator.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from postaltop.core.sim.fleet import DEFAULT_START, HOST_COMPONENTS, Fleet, SimLine
    from postaltop.core.sim.model import Counters, MinuteCounters, Tally
    from postaltop.core.sim.scenarios import SCENARIOS, Scenario, ScenarioSpec, register

_HOME = {
    **dict.fromkeys(("DEFAULT_START", "HOST_COMPONENTS", "Fleet", "SimLine"), "fleet"),
    **dict.fromkeys(("Counters", "MinuteCounters", "Tally"), "model"),
    **dict.fromkeys(("SCENARIOS", "Scenario", "ScenarioSpec", "register"), "scenarios"),
}

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


def __getattr__(name: str) -> object:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
