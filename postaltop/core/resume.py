"""Resume positions for log streams, and de-duplication of the overlap a resume replays.

A stream that reconnects must continue exactly after the last line it delivered: no line lost,
none shown twice. Each source offers a different handle on its position:

* ``docker logs --timestamps``: every line starts with the daemon's RFC3339Nano time. Resuming
  with ``--since <last time>`` is *inclusive*, so every line already seen at that exact time comes
  again (several lines can share one time). :class:`DockerResume` remembers the hashes of the lines
  seen at the last time (a multiset: identical lines count separately) and drops exactly those from
  the replay.
* journald: every entry has a cursor; ``--after-cursor`` is exclusive, so the overlap is empty,
  but the first replayed entry is still checked against the last cursor. :class:`JournalResume`
  also turns ``journalctl -o json`` records into ``<RFC3339Nano>Z <message>`` lines, the same
  shape as docker's, so the parser strips one kind of prefix.
* plain files: identity, byte offset and last line (:mod:`postaltop.core.file_resume`): the stream restarts
  on the first byte after the last complete line, in the rotated file when the file was rotated.

The cost on the hot path is per *batch*, not per line: while no resume is pending only the lines
sharing the batch's last timestamp are hashed. Pure: no I/O, no clock.
"""

from __future__ import annotations

import calendar
import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from postaltop.core.file_resume import FileResume
from postaltop.core.linesplit import TRUNCATION_MARKER

__all__ = ["DockerResume", "FileResume", "JournalResume", "ResumeStats", "docker_ts_token", "journal_record"]

_DOCKER_TS_LEN = 30
"""``2026-04-28T09:14:02.123456789Z``: docker's fixed-width ``--timestamps`` form."""


def docker_ts_token(line: bytes) -> bytes | None:
    """The leading ``--timestamps`` stamp of ``line`` (without the space), or None.

    Docker's form is fixed width, so the common case is two byte compares. Other RFC3339 widths
    (fewer fraction digits, an offset instead of ``Z``) are accepted too.
    """
    if line[29:31] == b"Z " and line[10:11] == b"T":
        return line[:_DOCKER_TS_LEN]
    if line[10:11] == b"T" and line[4:5] == b"-":
        end = line.find(b" ", 19, 48)
        if end > 0 and timestamp_ns(line[:end]) is not None:
            return line[:end]
    return None


def timestamp_ns(token: bytes) -> int | None:
    """Nanoseconds since the epoch for an RFC3339 stamp like ``2026-04-28T09:14:02.5+02:00``."""
    try:
        date, _, clock = token.partition(b"T")
        year, month, day = (int(x) for x in date.split(b"-"))
        if clock.endswith(b"Z"):
            clock, offset = clock[:-1], 0
        else:
            sign_pos = max(clock.rfind(b"+"), clock.rfind(b"-"))
            if sign_pos < 0:
                return None
            tz = clock[sign_pos + 1 :].replace(b":", b"")
            offset = (int(tz[:2]) * 3600 + int(tz[2:4]) * 60) * (
                1 if clock[sign_pos : sign_pos + 1] == b"+" else -1
            )
            clock = clock[:sign_pos]
        hms, _, frac = clock.partition(b".")
        hour, minute, second = (int(x) for x in hms.split(b":"))
        if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second <= 60):
            return None
        if frac and not frac.isdigit():
            return None
        secs = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0)) - offset
        return secs * 1_000_000_000 + int((frac or b"0").ljust(9, b"0")[:9])
    except (ValueError, OverflowError):
        return None


def _key(token: bytes) -> int:
    """Comparable time of a stamp token (docker's fixed form compares fast through this path too)."""
    ns = timestamp_ns(token)
    return -1 if ns is None else ns


@dataclass(slots=True)
class ResumeStats:
    """What de-duplication did, for tests and the host status line."""

    replayed_dropped: int = 0
    """Lines dropped because they had been delivered before the reconnect."""
    resumes: int = 0
    """How many times the stream resumed from a position."""


@dataclass(slots=True)
class DockerResume:
    """Position in a ``docker logs --timestamps`` stream and the overlap filter for resuming it."""

    last_token: bytes | None = None
    """The newest timestamp stamp delivered (as docker printed it)."""
    last_ns: int = -1
    seen: Counter[int] = field(default_factory=Counter)
    """Hashes of the lines delivered at ``last_token`` (including untimed lines that followed them)."""
    pending: Counter[int] = field(default_factory=Counter)
    """During a resume: hashes still expected to be replayed (and to be dropped)."""
    resuming: bool = False
    stats: ResumeStats = field(default_factory=ResumeStats)

    def since_arg(self) -> str | None:
        """The ``--since`` value that resumes this stream, or None before the first line."""
        return None if self.last_token is None else self.last_token.decode("ascii")

    def begin_resume(self) -> None:
        """Call before reading a stream restarted with :meth:`since_arg`."""
        if self.last_token is None:
            return
        self.pending = Counter(self.seen)
        self.resuming = True
        self.stats.resumes += 1

    def accept(self, lines: Sequence[bytes]) -> list[bytes]:
        """Filter one batch: return the lines not delivered before, and advance the position.

        Args:
            lines: consecutive lines of the stream, each still carrying docker's stamp.
        """
        start = 0
        out: list[bytes] = []
        if self.resuming:
            start, out = self._accept_replay(lines)
        rest = lines[start:] if start else lines
        if rest:
            self._advance_tail(rest)
            if out:
                out.extend(rest)
            else:
                out = list(rest)
        return out

    def _accept_replay(self, lines: Sequence[bytes]) -> tuple[int, list[bytes]]:
        """Per-line filter while the replayed overlap lasts; return where the overlap ended."""
        out: list[bytes] = []
        for index, line in enumerate(lines):
            token = docker_ts_token(line)
            ns = self.last_ns if token is None else _key(token)
            if ns > self.last_ns:
                # first line after the overlap: anything still pending was not replayed
                self.pending.clear()
                self.resuming = False
                return index, out
            if ns < self.last_ns:
                self.stats.replayed_dropped += 1
                continue
            digest = hash(line)
            if self.pending[digest] > 0:
                self.pending[digest] -= 1
                self.stats.replayed_dropped += 1
                continue
            # same time, but new: a line logged at that instant after we disconnected
            self.seen[digest] += 1
            out.append(line)
        return len(lines), out

    def _advance_tail(self, lines: Sequence[bytes]) -> None:
        """Remember the newest stamp and the lines sharing it (walks back from the end only)."""
        tail_token: bytes | None = None
        group: list[bytes] = []
        for line in reversed(lines):
            token = docker_ts_token(line)
            if token is None:
                group.append(line)
                continue
            if tail_token is None:
                tail_token = token
            elif token != tail_token:
                break
            group.append(line)
        else:
            # the whole batch belongs to one stamp (or has none): it may continue the previous group
            if tail_token is None or tail_token == self.last_token:
                self.seen.update(hash(line) for line in group)
                return
        if tail_token is None:
            return
        if tail_token == self.last_token:
            # e.g. an out-of-order line in between: keep counting the same group
            self.seen.update(hash(line) for line in group)
            return
        ns = _key(tail_token)
        if ns < self.last_ns:
            return  # a late line (stderr/stdout interleaving); the position stays at the newest stamp
        self.last_token = tail_token
        self.last_ns = ns
        self.seen = Counter(hash(line) for line in group)


@dataclass(slots=True)
class JournalResume:
    """Position (cursor) in a ``journalctl -o json`` stream, and the record-to-line conversion."""

    cursor: str | None = None
    resuming: bool = False
    stats: ResumeStats = field(default_factory=ResumeStats)
    bad_records: int = 0
    """Lines that were not journal JSON (passed through unchanged)."""

    def after_cursor_arg(self) -> str | None:
        """The ``--after-cursor`` value that resumes this stream, or None before the first entry."""
        return self.cursor

    def begin_resume(self) -> None:
        """Call before reading a stream restarted with :meth:`after_cursor_arg`."""
        if self.cursor is not None:
            self.resuming = True
            self.stats.resumes += 1

    def accept(self, records: Sequence[bytes]) -> list[bytes]:
        """Turn JSON records into ``<time>Z <message>`` lines, dropping an already delivered entry."""
        out: list[bytes] = []
        for raw in records:
            parsed = journal_record(raw)
            if parsed is None:
                self.bad_records += 1
                out.append(raw)
                continue
            cursor, line = parsed
            if self.resuming:
                self.resuming = False
                if cursor == self.cursor:
                    self.stats.replayed_dropped += 1
                    continue
            self.cursor = cursor
            out.append(line)
        return out


def journal_record(raw: bytes) -> tuple[str, bytes] | None:
    """Parse one ``journalctl -o json`` record into (cursor, ``<RFC3339Nano>Z <MESSAGE>`` line).

    MESSAGE may be a string, a list of byte values (journald's form for binary or non-printable
    text, e.g. ANSI colours) or null (too large without ``--all``); all are kept.
    """
    try:
        entry = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return _salvage_record(raw)
    if not isinstance(entry, dict):
        return None
    cursor = entry.get("__CURSOR")
    if not isinstance(cursor, str):
        return None
    message = entry.get("MESSAGE")
    if isinstance(message, str):
        body = message.encode("utf-8", "surrogateescape")
    elif isinstance(message, list) and all(isinstance(b, int) and 0 <= b < 256 for b in message):
        body = bytes(message)
    else:
        body = b"[message not available]"
    stamp = b""
    realtime = entry.get("__REALTIME_TIMESTAMP")
    if isinstance(realtime, str) and realtime.isdigit():
        stamp = format_rfc3339nano(int(realtime) * 1000) + b" "
    return cursor, stamp + body.replace(b"\n", b" ")


_CURSOR_RE = re.compile(rb'"__CURSOR"\s*:\s*"([^"\\]{1,1000})"')
_REALTIME_RE = re.compile(rb'"__REALTIME_TIMESTAMP"\s*:\s*"(\d{1,20})"')
_MESSAGE_RE = re.compile(rb'"MESSAGE"\s*:\s*([\["])')


def _salvage_record(raw: bytes) -> tuple[str, bytes] | None:
    """Recover cursor and message start from a record cut by the line length limit.

    A journal entry with a message near 1 MiB becomes a JSON line over the splitter's limit and
    arrives truncated; dropping it would lose the line and the cursor, so both are dug out.
    """
    if not raw.startswith(b"{"):
        return None
    raw = raw.removesuffix(TRUNCATION_MARKER)
    cursor = _CURSOR_RE.search(raw)
    message = _MESSAGE_RE.search(raw)
    if cursor is None or message is None:
        return None
    rest = raw[message.end() :]
    if message.group(1) == b"[":
        numbers = re.findall(rb"\d{1,3}", rest.split(b"]", 1)[0])
        if b"]" not in rest:
            numbers = numbers[:-1]  # the last number may be cut mid-digits
        body = bytes(int(n) & 0xFF for n in numbers)
    else:
        body = _decode_json_prefix(rest)
    realtime = _REALTIME_RE.search(raw)
    stamp = format_rfc3339nano(int(realtime.group(1)) * 1000) + b" " if realtime else b""
    body = body.replace(b"\n", b" ") + TRUNCATION_MARKER
    return cursor.group(1).decode("ascii", "replace"), stamp + body


def _decode_json_prefix(rest: bytes) -> bytes:
    """Decode the longest decodable prefix of a JSON string body (its closing quote may be missing)."""
    end = rest.find(b'"')
    while end > 0 and rest[end - 1 : end] == b"\\":
        end = rest.find(b'"', end + 1)
    chunk = rest if end < 0 else rest[:end]
    for cut in range(len(chunk), max(len(chunk) - 8, -1), -1):
        try:
            text = json.loads(b'"' + chunk[:cut] + b'"')
        except ValueError:
            continue
        return str(text).encode("utf-8", "surrogateescape")
    return chunk


def format_rfc3339nano(ns: int) -> bytes:
    """Docker's fixed-width UTC stamp for ``ns`` nanoseconds since the epoch."""
    secs, frac = divmod(ns, 1_000_000_000)
    days, rem = divmod(secs, 86400)
    year, month, day = _civil_from_days(days)
    hour, rem = divmod(rem, 3600)
    minute, second = divmod(rem, 60)
    return b"%04d-%02d-%02dT%02d:%02d:%02d.%09dZ" % (year, month, day, hour, minute, second, frac)


def _civil_from_days(days: int) -> tuple[int, int, int]:
    """Proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's algorithm)."""
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (1 if month <= 2 else 0), month, day
