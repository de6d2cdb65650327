"""Structured logs of ``postaltop watch``: one JSON object per line on stderr (journald and Loki read them).

Callers pass plain fields; nothing secret is ever passed (channels report errors without URLs or keys).
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}
WARNING_EVENTS = frozenset({"delivery_failed", "dead_letter", "dead_letter_write_failed"})


class JsonLogger:
    """Writes ``{"ts": ..., "level": ..., "event": ..., **fields}`` lines.

    Args:
        stream: where to write (default: stderr at call time).
        level: lowest level written.
        clock: wall clock.
    """

    def __init__(
        self, stream: TextIO | None = None, level: str = "info", clock: Callable[[], float] = time.time
    ) -> None:
        self._stream = stream
        self._min = LEVELS.get(level, 20)
        self._clock = clock
        self._lock = threading.Lock()

    def log(self, event: str, level: str = "info", **fields: Any) -> None:
        """Write one event."""
        if LEVELS.get(level, 20) < self._min:
            return
        now = self._clock()
        record: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z",
            "level": level,
            "event": event,
        }
        record.update(fields)
        text = json.dumps(record, default=str, ensure_ascii=True)
        stream = self._stream or sys.stderr
        with self._lock, contextlib.suppress(OSError, ValueError):
            stream.write(text + "\n")
            stream.flush()

    def __call__(self, event: str, **fields: Any) -> None:
        """The dispatcher's ``log(event, **fields)`` shape; failures are logged as warnings."""
        level = "warning" if event in WARNING_EVENTS else "info"
        self.log(event, level, **fields)
