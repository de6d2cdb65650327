"""The one assembly: from the settings and a mode (live, demo, replay), the parts of a run, in one object.

:func:`build_runtime` builds a :class:`Runtime` (engine, monitor, sources, stores, actions, recording); the
TUI, ``watch``, ``replay``, ``report``, ``review``, ``trace`` and ``act`` all get their parts from here. Front
ends depend on :mod:`postaltop.runtime.interfaces` for what they call back.
"""

from postaltop.runtime.build import DEMO_BACKFILL_S, RuntimeOptions, build_runtime, database_lookup
from postaltop.runtime.detection import build_monitor
from postaltop.runtime.runtime import Mode, NamedSource, Reload, Runtime

__all__ = [
    "DEMO_BACKFILL_S",
    "Mode",
    "NamedSource",
    "Reload",
    "Runtime",
    "RuntimeOptions",
    "build_monitor",
    "build_runtime",
    "database_lookup",
]
