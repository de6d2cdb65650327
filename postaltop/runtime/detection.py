"""The detection part of the assembly: one way to build the :class:`Monitor` from settings, and its seeds.

Every front end (TUI, ``watch``, ``replay``, ``report``) builds its monitor with :func:`build_monitor`, so the
same ``[detection]`` settings give the same detectors everywhere. What a monitor is seeded with at start (the
statistics its baselines bootstrap from, the credentials' usual recipient domains) passes through
:class:`DetectionSeeds`, which writes it into the recording: a replay seeds its monitor with exactly what the
live run had, and so raises the same alerts.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from postaltop.config.sections.detection import DetectionConfig
from postaltop.core.dbmetrics import HistoryPoint
from postaltop.monitoring import HistoryProvider, Monitor
from postaltop.recording.records import HistoryRecord, KnownDomainsRecord, Record

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
    """Stands in front of a :class:`Monitor` for whatever seeds it, and keeps a copy for the recording.

    Fits what seeders call (``set_history_provider``, ``learn_credential_domains``, ``has_history_provider``).
    Records taken before a recording is open are kept and written when :meth:`record_to` is called.
    """

    def __init__(self, monitor: Monitor, clock: Callable[[], float] = time.time) -> None:
        self.monitor = monitor
        self._clock = clock
        self._pending: list[Record] = []
        self._sink: RecordSink | None = None

    @property
    def has_history_provider(self) -> bool:
        """True once a history provider is set."""
        return self.monitor.has_history_provider

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

    def set_history_provider(self, provider: HistoryProvider) -> None:
        """Give the monitor ``provider``, recording the points it returns."""

        def recorded() -> Any:
            points = provider()
            if inspect.isawaitable(points):
                return self._after(points)
            return self._took(points)

        self.monitor.set_history_provider(recorded)

    async def _after(self, awaitable: Any) -> list[HistoryPoint]:
        return self._took(await awaitable)

    def _took(self, points: Iterable[HistoryPoint]) -> list[HistoryPoint]:
        kept = list(points)
        self._keep(HistoryRecord(self._clock(), tuple(kept)))
        return kept

    def learn_credential_domains(self, known: Mapping[tuple[int, str], Iterable[str]], since: float) -> None:
        """Seed the novelty detector, recording what it was seeded with."""
        entries = tuple((cred_id, name, tuple(domains)) for (cred_id, name), domains in known.items())
        self.monitor.learn_credential_domains({(c, n): d for c, n, d in entries}, since)
        self._keep(KnownDomainsRecord(self._clock(), since, entries))


def seed_from_recording(
    monitor: Monitor, history: HistoryRecord | None, known: Iterable[KnownDomainsRecord]
) -> None:
    """Seed ``monitor`` with what a recorded run's monitor was seeded with."""
    if history is not None:
        points = list(history.points)
        monitor.set_history_provider(lambda: points)
    for record in known:
        monitor.learn_credential_domains({(c, n): d for c, n, d in record.known}, record.since)
