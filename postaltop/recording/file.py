"""Write and read recording files (gzip JSON Lines, flushed often so a crash leaves a readable file)."""

from __future__ import annotations

import gzip
import json
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from postaltop.core.dbmetrics import PollResult
from postaltop.core.notification import NotificationEvent
from postaltop.private_files import open_private_binary
from postaltop.recording.records import (
    FORMAT_VERSION,
    AlertRecord,
    AuthHistoryRecord,
    LinesRecord,
    MetricsRecord,
    Record,
    decode,
    encode,
)

FLUSH_SECONDS = 1.0
"""Longest time a written record may sit in the compressor before it is flushed to the file."""


class RecordingError(Exception):
    """A recording cannot be opened or is not a postaltop recording."""


class Recorder:
    """Appends records to a new recording file (mode 0600: logs may hold addresses).

    Args:
        path: the file to create (replaced if it exists).
        meta: free-form header fields (mode, scenario, seed...).
        clock: wall clock, for the header and flush pacing.
    """

    def __init__(
        self, path: Path, meta: dict[str, Any] | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.path = path
        self.clock = clock
        self._raw: BinaryIO = open_private_binary(path, "wb")
        self._gz = gzip.GzipFile(fileobj=self._raw, mode="wb", compresslevel=6)
        self.records = 0
        self._last_flush = clock()
        header = {"k": "header", "format": "postaltop-recording", "version": FORMAT_VERSION}
        header.update({"created_at": clock(), "meta": meta or {}})
        self._write(header)

    def _write(self, data: dict[str, Any]) -> None:
        if self._gz.closed:
            return
        self._gz.write(json.dumps(data, ensure_ascii=True, separators=(",", ":")).encode() + b"\n")
        now = self.clock()
        if now - self._last_flush >= FLUSH_SECONDS:
            self.flush()

    def write(self, record: Record) -> None:
        """Append one record."""
        self.records += 1
        self._write(encode(record))

    def lines(
        self, host: str, component: str, lines: Sequence[bytes], at: float, sim_time: float | None = None
    ) -> None:
        """Record a group of raw lines."""
        self.write(LinesRecord(at, host, component, tuple(lines), sim_time))

    def metrics(self, result: PollResult) -> None:
        """Record a poll result (an ``Engine.on_metrics`` listener)."""
        self.write(MetricsRecord(self.clock(), result))

    def alert(self, event: NotificationEvent) -> None:
        """Record an alert transition."""
        self.write(AlertRecord(self.clock(), event))

    def auth_history(self, groups: Sequence[tuple[str, str, Sequence[bytes]]]) -> None:
        """Record the authentication lines read back at connect, as the detector learnt them."""
        self.write(AuthHistoryRecord(self.clock(), tuple((h, c, tuple(lines)) for h, c, lines in groups)))

    def attach(self, engine: Any) -> None:
        """Record every group ``engine`` ingests (with its ``received_at`` and the demo's simulated time)
        and every poll result it publishes."""

        def on_lines(host: str, component: str, lines: Sequence[bytes], at: float) -> None:
            sim_time = getattr(engine, "sim_time", None)
            self.lines(host, component, lines, at, None if sim_time is None else float(sim_time))

        engine.on_lines(on_lines)
        engine.on_metrics(self.metrics)

    def flush(self) -> None:
        """Push everything written so far to the file (a sync flush: the file is readable up to here)."""
        if self._gz.closed:
            return
        self._gz.flush(zlib.Z_SYNC_FLUSH)
        self._raw.flush()
        self._last_flush = self.clock()

    def close(self) -> None:
        """Finish the file."""
        if not self._gz.closed:
            self._gz.close()
        if not self._raw.closed:
            self._raw.close()


def read_header(path: Path) -> dict[str, Any]:
    """The header of a recording.

    Raises:
        RecordingError: when the file is missing or not a recording.
    """
    for data in _objects(path):
        if data.get("k") != "header" or data.get("format") != "postaltop-recording":
            break
        return data
    raise RecordingError(f"{path} is not a postaltop recording")


def read_records(path: Path) -> Iterator[Record]:
    """Every record of a recording, in order (a truncated tail, after a crash, ends the iteration).

    Raises:
        RecordingError: when the file is missing or not a recording.
    """
    read_header(path)
    for data in _objects(path):
        record = decode(data)
        if record is not None:
            yield record


def _objects(path: Path) -> Iterator[dict[str, Any]]:
    try:
        raw_file = path.open("rb")
    except OSError as exc:
        raise RecordingError(f"cannot open {path}: {exc.strerror or exc}") from None
    with raw_file, gzip.GzipFile(fileobj=raw_file, mode="rb") as handle:
        try:
            for raw in handle:
                try:
                    data = json.loads(raw)
                except ValueError:
                    return  # a line cut by a crash
                if isinstance(data, dict):
                    yield data
        except gzip.BadGzipFile:
            raise RecordingError(f"{path} is not a postaltop recording (not gzip)") from None
        except (EOFError, zlib.error):
            return  # a truncated tail
        except OSError as exc:
            raise RecordingError(f"cannot read {path}: {exc.strerror or exc}") from None


class NullRecorder:
    """Stands in for a :class:`Recorder` when nothing is recorded."""

    records = 0

    def close(self) -> None:
        """Nothing to close."""


def open_recorder(
    path: Path | None, engine: Any, meta: dict[str, Any], monitor: Any = None
) -> Recorder | NullRecorder:
    """A recorder on ``path`` listening to ``engine``'s poll results, or a :class:`NullRecorder`.

    Args:
        path: the file, or None to record nothing.
        engine: whose ingested lines and poll results are recorded.
        meta: header fields.
        monitor: a ``postaltop.monitoring.Monitor`` whose notifiable alert transitions are recorded too.
    """
    if path is None:
        return NullRecorder()
    recorder = Recorder(path, meta=meta)
    recorder.attach(engine)
    if monitor is not None:
        from postaltop.notify.from_alert import notification_for

        def on_alert(event: Any) -> None:
            note = notification_for(event)
            if note is not None:
                recorder.alert(note)

        monitor.on_alert(on_alert)
    return recorder
