"""Multi-line records: physical lines that belong to the record before them in the same stream.

Postal writes a few records over several physical lines (facts §4.1b):

* a Net::SMTP error message ends in a newline and Klogger escapes newlines only inside tag values,
  so the tags land on a second line that starts with a space (scanned as ``LineFormat.CONTINUATION``);
* ``docker logs`` mixes in Ruby's raw thread-crash reports: ``#<Thread:…> terminated with exception``,
  then the exception's own line, then tab-indented ``from …`` frames (and any backtrace printed the
  same way: lines starting with white space).

The store keeps physical lines (counts and filters are per line); the detail view shows the whole
record. Lines of other hosts or components may sit between the parts (the time-order merge), so the
parts are found by walking the same ``(host, component)`` stream.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from postaltop.core.events import LineFormat, LogEvent
from postaltop.core.logstore import LogStore

SCAN_LINES = 256
"""Most physical lines (of every stream) looked at on each side of a line to assemble its record."""
MAX_PARTS = 200
"""Most physical lines in one record (a runaway backtrace is cut here)."""

_CRASH_HEAD = re.compile(r"#<Thread:[^>]*> terminated with exception")


def is_crash_head(event: LogEvent) -> bool:
    """True for Ruby's ``#<Thread:…> terminated with exception …`` report line."""
    return event.fmt == LineFormat.RAW and _CRASH_HEAD.match(event.text) is not None


def continues(event: LogEvent, previous: LogEvent) -> bool:
    """True when ``event`` is a later physical line of the record ``previous`` belongs to.

    Args:
        event: a line of the same stream as ``previous``, right after it.
        previous: the line before it in that stream.
    """
    if event.fmt == LineFormat.CONTINUATION:
        return True
    if event.fmt != LineFormat.RAW:
        return False
    if event.text[:1] in ("\t", " "):
        return True  # an indented frame (``\tfrom …``) or wrapped text
    return is_crash_head(previous)  # the exception's own line follows the crash report unindented


@dataclass(frozen=True, slots=True)
class Record:
    """One logical record: its first physical line and every line that continues it."""

    parts: tuple[LogEvent, ...]

    @property
    def head(self) -> LogEvent:
        """The first physical line (time, level, host and component come from it)."""
        return self.parts[0]

    @property
    def seqs(self) -> tuple[int, ...]:
        """Sequence numbers of the physical lines, in order."""
        return tuple(p.seq for p in self.parts)

    @property
    def text(self) -> str:
        """The record as Postal wrote it: its physical lines joined by newlines."""
        return "\n".join(p.text for p in self.parts)


def _same_stream(store: LogStore, seq: int, host: str, component: str) -> LogEvent | None:
    event = store.event(seq)
    return event if event.host == host and event.component == component else None


def record_at(store: LogStore, seq: int) -> Record:
    """The whole record line ``seq`` belongs to (just that line when it stands alone).

    Raises:
        IndexError: if ``seq`` is not retained.
    """
    event = store.event(seq)
    host, component = event.host, event.component
    start = max(store.start_seq, seq - SCAN_LINES)
    # walk back to the head: the nearest line of the stream that the line after it does not continue
    head = event
    s = seq - 1
    while s >= start:
        before = _same_stream(store, s, host, component)
        s -= 1
        if before is None:
            continue
        if not continues(head, before):
            break
        head = before
    parts = [head]
    end = min(store.end_seq, max(seq, head.seq) + SCAN_LINES)
    s = head.seq + 1
    while s < end and len(parts) < MAX_PARTS:
        after = _same_stream(store, s, host, component)
        s += 1
        if after is None:
            continue
        if not continues(after, parts[-1]):
            break
        parts.append(after)
    return Record(tuple(parts))
