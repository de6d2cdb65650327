"""Postal 3.x lines: Klogger's ``go`` format.

``2026-04-28 09:14:02 +0000 INFO   message key=value key=value``

* the time is ``%Y-%m-%d %H:%M:%S %z`` (25 bytes), then one space;
* the severity is upper-case and left-justified to 7 characters (bytes 26-32), immediately
  followed by the message (byte 33 on);
* tags follow as `` key=value`` with **unquoted** values that may contain spaces, so the
  message ends at the first `` key=`` whose key is one Postal is known to emit
  (:data:`KNOWN_TAG_KEYS`); a hash-only record has no message and starts with ``key=``.

Everything here is positional or a dictionary lookup: the ingest path applies no regex to a
well-formed v3 line.
"""

from __future__ import annotations

import re

from postaltop.core import sgr
from postaltop.core.events import Level
from postaltop.core.parsing.prefixes import civil_to_epoch, offset_seconds

KNOWN_TAG_KEYS: tuple[str, ...] = (
    "trace_id",
    "component",
    "thread",
    "original_queued_message",
    "queued_message",
    "log_id",
    "task",
    "webhook",
    "webhook_request",
    "id",
    "event",
    "transaction",
    "controller",
    "action",
    "format",
    "method",
    "path",
    "request_id",
    "ip_address",
    "status",
    "view_runtime",
    "db_runtime",
    "batch_key",
    "send_limit",
    "retry_after",
    "spam",
    "spam_score",
    "server_threshold",
    "exception_class",
    "exception_message",
    "exception_backtrace",
    "message_id",
    "subject",
    "from",
    "to",
    "locked_by",
    "locked_at",
    "server",
    "server_id",
    "domain",
    "error",
    "duration",
    "worker",
    "role",
)
"""Tag keys Postal 3.x writes (explicit tags, tagged-logger tags and group tags)."""

_KEY_ALT = "|".join(sorted(KNOWN_TAG_KEYS, key=len, reverse=True))
TAG_START = re.compile(rf"(?:^| )({_KEY_ALT})=")
"""Finds the start of a known tag in text (the message ends at the first match)."""
TAG_START_BYTES = re.compile(rf"(?:^| )({_KEY_ALT})=".encode())
"""Bytes twin of :data:`TAG_START`."""
# Postal's colour codes: defined apart so that the display sanitiser does not load the whole parser.
SGR = sgr.SGR
SGR_BYTES = sgr.SGR_BYTES

MESSAGE_START = 33
"""Offset of the message in a well-formed v3 line."""

SEVERITY_FIELD: dict[bytes, int] = {
    b"DEBUG  ": Level.DEBUG,
    b"INFO   ": Level.INFO,
    b"WARN   ": Level.WARN,
    b"ERROR  ": Level.ERROR,
    b"FATAL  ": Level.FATAL,
    b"ANY    ": Level.UNKNOWN,
    b"UNKNOWN": Level.UNKNOWN,
}
"""The 7-byte severity field (bytes 26-32) to a level."""

_SEVERITY_WORDS = {k.strip(): v for k, v in SEVERITY_FIELD.items()}


def looks_v3(line: bytes) -> bool:
    """Fixed-position test for a v3 time stamp at the start of ``line``."""
    return line[4:5] == b"-" and line[10:11] == b" " and line[19:21] in (b" +", b" -")


class TimeCache:
    """Converts v3 time stamps to UNIX time, remembering recent ones.

    Lines are mostly in time order and many share a second, so a dict keyed on the 25-byte
    stamp turns almost every conversion into one lookup.
    """

    __slots__ = ("_days", "_max", "_minutes", "map")

    def __init__(self, max_entries: int = 8192) -> None:
        self.map: dict[bytes, float] = {}
        """Stamp bytes to UNIX time; the scan reads it directly for speed."""
        self._max = max_entries
        self._days: dict[bytes, float | None] = {}
        """``YYYY-MM-DD `` plus `` +ZZZZ`` to the UNIX time of that day's midnight (None: invalid)."""
        self._minutes: dict[bytes, float | None] = {}
        """``YYYY-MM-DD HH:MM:`` plus `` +ZZZZ`` to the UNIX time of that minute (None: invalid)."""

    def convert(self, stamp: bytes) -> float | None:
        """Convert ``YYYY-MM-DD HH:MM:SS +ZZZZ`` (bytes) to UNIX time; None if malformed."""
        found = self.map.get(stamp)
        if found is not None:
            return found
        ts = self._parse(stamp)
        if ts is not None:
            if len(self.map) >= self._max:
                self.map.clear()
            self.map[stamp] = ts
        return ts

    def minute_base(self, stamp: bytes) -> float | None:
        """UNIX time of the start of ``stamp``'s minute (its seconds ignored); None if malformed."""
        minute = stamp[:17] + stamp[19:]
        base = self._minutes.get(minute, _UNSEEN)
        if base is _UNSEEN:
            if len(self._minutes) >= 1024:
                self._minutes.clear()
            base = self._minutes[minute] = self._parse_second(stamp[:17] + b"00" + stamp[19:])
        return base

    def _parse(self, stamp: bytes) -> float | None:
        """:func:`parse_stamp`, with all but the seconds converted once per minute (the same result).

        Ordered logs show a new second every few lines; its stamp then costs a slice, one look-up
        and the seconds' two digits instead of a full conversion.
        """
        base = self.minute_base(stamp)
        if base is None:
            return None  # anything but the seconds is malformed
        second = stamp[17:19]
        if len(second) != 2 or not second.isdigit() or second > b"60":
            return None
        return base + int(second)

    def _parse_second(self, stamp: bytes) -> float | None:
        """:func:`parse_stamp`, with the date and offset converted once per day (the same result)."""
        day = stamp[:11] + stamp[19:]
        if len(day) != 17:
            return None
        midnight = self._days.get(day, _UNSEEN)
        if midnight is _UNSEEN:
            if len(self._days) >= 64:
                self._days.clear()
            midnight = self._days[day] = parse_stamp(day[:11] + b"00:00:00" + day[11:])
        if midnight is None:
            return None  # the date or the offset is malformed, whatever the time of day
        hms = stamp[11:19]
        digits = hms[:2] + hms[3:5] + hms[6:]
        if hms[2:3] != b":" or hms[5:6] != b":" or not digits.isdigit():
            return None
        hour, minute, second = int(digits[:2]), int(digits[2:4]), int(digits[4:])
        if hour > 23 or minute > 59 or second > 60:
            return None
        return midnight + (hour * 3600 + minute * 60 + second)


_UNSEEN = -1.0
"""Marks a day not converted yet (no midnight converts to it: the cache holds whole days only)."""


def parse_stamp(stamp: bytes) -> float | None:
    """Parse a v3 time stamp without a cache; None if it is not one."""
    if len(stamp) != 25 or stamp[4:5] != b"-" or stamp[7:8] != b"-" or stamp[10:11] != b" ":
        return None
    if stamp[13:14] != b":" or stamp[16:17] != b":" or stamp[19:20] != b" ":
        return None
    digits = stamp[0:4] + stamp[5:7] + stamp[8:10] + stamp[11:13] + stamp[14:16] + stamp[17:19]
    if not digits.isdigit() or not digits.isascii():
        return None
    off = offset_seconds(stamp[20:25])
    if off is None:
        return None
    base = civil_to_epoch(
        int(stamp[0:4]),
        int(stamp[5:7]),
        int(stamp[8:10]),
        int(stamp[11:13]),
        int(stamp[14:16]),
        int(stamp[17:19]),
    )
    return None if base is None else base - off


def severity_and_message_start(line: bytes) -> tuple[int, int] | None:
    """Slow path for a v3 line whose severity field is not one of the padded forms.

    Returns:
        (level, offset of the message), or None when no severity word follows the stamp.
    """
    rest = line[26:]
    word = rest.split(b" ", 1)[0]
    level = _SEVERITY_WORDS.get(word)
    if level is None:
        return None
    start = 26 + len(word)
    while line[start : start + 1] == b" " and start < MESSAGE_START:
        start += 1
    return level, start


def split_message(text: str) -> tuple[str, dict[str, str]]:
    """Split the part after the severity into message and tags (in order).

    Args:
        text: everything from the message start (byte 33) to the end of the line.

    Returns:
        The message (SGR sequences kept, trailing space removed) and the tag values. A value runs
        to the next known key; a repeated key keeps its first value under the key and later ones
        under ``key#2``, ``key#3``... so nothing is lost.
    """
    matches = list(TAG_START.finditer(text))
    if not matches:
        return text.rstrip(" "), {}
    message = text[: matches[0].start()].rstrip(" ")
    tags: dict[str, str] = {}
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        key = m.group(1)
        name, n = key, 1
        while name in tags:
            n += 1
            name = f"{key}#{n}"
        tags[name] = text[m.end() : end]
    return message, tags


def tag_value(line: bytes, key: bytes, start: int = 0) -> bytes | None:
    """Value of the last `` key=`` tag in ``line`` up to the next space (for id-like tags).

    The last occurrence wins because client-controlled text sits in the message, before tags.
    """
    i = line.rfind(b" " + key + b"=", start)
    if i < 0:
        return None
    i += len(key) + 2
    j = line.find(b" ", i)
    return line[i:] if j < 0 else line[i:j]
