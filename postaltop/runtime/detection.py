"""The detection part of the assembly: one way to build the :class:`Monitor` from settings, and its seeds.

Every front end (TUI, ``watch``, ``replay``, ``report``) builds its monitor with :func:`build_monitor`, so the
same ``[detection]`` settings give the same detectors everywhere. What a monitor reads at first connect (the
statistics its baselines bootstrap from, the recent past, the credentials' history: a ``ConnectState``)
passes through :class:`DetectionSeeds`, which writes it into the recording: a replay hands its monitor exactly
what the live run read, and so raises the same alerts.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from typing import Any

from postaltop.config.sections.detection import DetectionConfig
from postaltop.core.connect_state import ConnectRequest, ConnectState
from postaltop.monitoring import Monitor, StateProvider
from postaltop.recording.records import ConnectStateRecord, Record

RecordSink = Callable[[Record], None]


def build_monitor(settings: DetectionConfig | None, *, persist: bool = False) -> Monitor:
    """The detectors and alert lifecycle for ``settings`` (defaults when None).

    Args:
        settings: the ``[detection]`` section.
        persist: keep baselines, silences and acknowledgements in the state directory (the live monitor;
            the demo, replays and reports keep them in memory).
    """
    if not persist:
        return Monitor(settings)
    from postaltop.store.alert_state import AlertStateStore
    from postaltop.store.baselines import BaselineStore

    return Monitor(settings, baseline_store=BaselineStore(), alert_store=AlertStateStore())


class DetectionSeeds:
    """Stands in front of a :class:`Monitor` for whatever gives it the state at connect, and keeps a copy.

    Fits what providers are handed to (``set_state_provider``, ``has_state_provider``). Records taken before a
    recording is open are kept and written when :meth:`record_to` is called.
    """

    def __init__(self, monitor: Monitor, clock: Callable[[], float] = time.time) -> None:
        self.monitor = monitor
        self._clock = clock
        self._pending: list[Record] = []
        self._sink: RecordSink | None = None

    @property
    def has_state_provider(self) -> bool:
        """True once a state provider is set."""
        return self.monitor.has_state_provider

    def record_to(self, sink: RecordSink) -> None:
        """Write the seeds taken so far, and every later one, to ``sink``."""
        self._sink = sink
        for record in self._pending:
            sink(record)
        self._pending.clear()

    def _keep(self, record: Record) -> None:
        if self._sink is not None:
            self._sink(record)
        else:
            self._pending.append(record)

    def set_state_provider(self, provider: StateProvider) -> None:
        """Give the monitor ``provider``, recording the state it returns."""

        def recorded(request: ConnectRequest) -> Any:
            state = provider(request)
            if inspect.isawaitable(state):
                return self._after(state)
            return self._took(state)

        self.monitor.set_state_provider(recorded)

    async def _after(self, awaitable: Any) -> ConnectState:
        return self._took(await awaitable)

    def _took(self, state: ConnectState) -> ConnectState:
        self._keep(ConnectStateRecord(self._clock(), state))
        return state


def seed_from_recording(monitor: Monitor, record: ConnectStateRecord | None) -> None:
    """Give ``monitor`` the state at connect a recorded run's monitor read (nothing when not recorded)."""
    if record is not None:
        state = record.state
        monitor.set_state_provider(lambda _request: state)
