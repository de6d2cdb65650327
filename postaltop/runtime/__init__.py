"""The one assembly: from the settings and a mode (live, demo, replay), the parts of a run, in one object.

:func:`build_runtime` builds a :class:`Runtime` (engine, monitor, sources, stores, actions, recording); the
TUI, ``watch``, ``replay``, ``report``, ``review``, ``trace`` and ``act`` all get their parts from here. Front
ends depend on :mod:`postaltop.runtime.interfaces` for what they call back.

The names below load on first use (:func:`__getattr__`): the UI imports :mod:`postaltop.runtime.interfaces`
for its protocols before the first frame, and importing a submodule runs this file first; loading the builder
here would pull the engine, the sources and the database driver in front of that frame (~250 ms).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_HOMES = {
    "DEMO_BACKFILL_S": "build",
    "RuntimeOptions": "build",
    "build_runtime": "build",
    "database_lookup": "build",
    "build_monitor": "detection",
    "Mode": "runtime",
    "NamedSource": "runtime",
    "Reload": "runtime",
    "Runtime": "runtime",
}
"""Where each exported name is defined (a submodule of this package)."""


def __getattr__(name: str) -> Any:
    """Load an exported name's submodule when the name is first read (``from postaltop.runtime import X``)."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value
