"""``watch`` logs every change of a source's condition (down, stalled, degraded, back) as a JSON event."""

from __future__ import annotations

from typing import Any

from postaltop.core.source_state import PROBLEMS, change_event, condition
from postaltop.watch.jsonlog import JsonLogger


class SourceStateLog:
    """Compares the engine's host states with the last ones seen; logs ``source_*`` events with the reason."""

    def __init__(self, log: JsonLogger) -> None:
        self.log = log
        self._last: dict[str, str] = {}

    def observe(self, hosts: dict[str, Any]) -> int:
        """Log the changes in ``hosts`` (name → status with a ``state`` text); return how many."""
        logged = 0
        for name, status in sorted(hosts.items()):
            text = str(getattr(status, "state", status))
            now = condition(text)
            previous = self._last.get(name)
            self._last[name] = now
            event = change_event(previous, now)
            if event is None:
                continue
            level = "warning" if now in PROBLEMS else "info"
            self.log.log(event, level, source=name, state=now, previous=previous, reason=text[:500])
            logged += 1
        return logged
