"""The shared vocabulary of the core: severities, line formats and retained log events."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class Level(IntEnum):
    """Severity of a log line, ordered so that ``level >= Level.WARN`` reads naturally.

    ``UNKNOWN`` is for lines that carry no severity (raw stderr output, unparsed text).
    """

    UNKNOWN = 0
    DEBUG = 1
    INFO = 2
    WARN = 3
    ERROR = 4
    FATAL = 5

    @classmethod
    def from_name(cls, name: str) -> Level:
        """Map a severity word (any case, ``warning`` and ``err`` accepted) to a level.

        Raises:
            ValueError: if the word names no level.
        """
        key = name.strip().upper()
        aliases = {"WARNING": "WARN", "ERR": "ERROR", "CRIT": "FATAL", "CRITICAL": "FATAL"}
        key = aliases.get(key, key)
        try:
            return cls[key]
        except KeyError:
            valid = ", ".join(m.name.lower() for m in cls if m is not cls.UNKNOWN)
            raise ValueError(f"unknown level {name!r}; valid levels: {valid}") from None


class LineFormat(IntEnum):
    """Which Postal log format a line was recognised as."""

    RAW = 0
    """Not a Postal record: stderr output, Puma start-up text, a truncated line."""
    V3 = 1
    """Postal 3.x Klogger ``go`` format: ``time SEVERITY message key=value ...``."""
    V2 = 2
    """Postal 2.x: ``[proc:pid] [time] SEVERITY -- : message``."""
    CONTINUATION = 3
    """Second physical line of a v3 record whose message ended in a newline (tags only)."""


@dataclass(frozen=True, slots=True)
class LogEvent:
    """One retained log line, materialised on demand from the log store.

    Events are not kept as objects: the store keeps raw bytes and columns, and builds a
    ``LogEvent`` only for rows on screen, the detail view and exports.
    """

    seq: int
    """Position in the stream of everything ingested since start; never reused."""
    ts: float
    """UNIX time in seconds (sub-second when the transport supplied it)."""
    level: Level
    host: str
    component: str
    fmt: LineFormat
    text: str
    """The line as received (transport prefixes removed), decoded with invalid bytes shown as ``\\xNN``."""

    @property
    def raw(self) -> str:
        """The line as Postal wrote it, for copying."""
        return self.text


def decode_line(data: bytes) -> str:
    """Decode a raw line without ever failing: invalid UTF-8 bytes become ``\\xNN`` text."""
    return data.decode("utf-8", "backslashreplace")
