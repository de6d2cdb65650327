"""Full parse of one line, on demand: for the detail view, field filters and exports.

The ingest scan keeps only columns; this module splits a single retained line into its parts
(time text, severity, message, tags in order) when someone looks at it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from postaltop.core.events import Level, LineFormat
from postaltop.core.parsing.prefixes import strip_prefixes
from postaltop.core.parsing.v2 import match_v2
from postaltop.core.parsing.v3 import (
    KNOWN_TAG_KEYS,
    MESSAGE_START,
    SEVERITY_FIELD,
    SGR,
    looks_v3,
    parse_stamp,
    severity_and_message_start,
    split_message,
)

_KNOWN = frozenset(KNOWN_TAG_KEYS)


@dataclass(frozen=True, slots=True)
class ParsedLine:
    """One line split into its parts. Text fields are not display-safe: use ``display_text``."""

    fmt: LineFormat
    message: str
    """The message, SGR colour sequences removed (the whole body for raw lines)."""
    tags: dict[str, str] = field(default_factory=dict)
    """``key=value`` tags in the order written (v3 and continuation lines)."""
    timestamp: str | None = None
    """The time stamp as written by Postal (or the transport prefix when Postal gave none)."""
    ts: float | None = None
    """The time as UNIX seconds (the transport's time when it has sub-second precision)."""
    severity: str | None = None
    level: Level = Level.UNKNOWN
    prefix: str | None = None
    """Transport prefix that was removed (``smtp-1  | ``, docker/journald time stamps)."""
    ansi_stripped: bool = False
    """SGR colour sequences were removed from the message."""
    has_controls: bool = False
    """The line holds control, escape or format characters (shown visibly by ``display_text``)."""


def _has_controls(text: str) -> bool:
    if text.isprintable():
        return False
    return any(
        (ord(c) < 0x20 and c != "\t") or 0x7F <= ord(c) <= 0x9F or (not c.isprintable() and not c.isspace())
        for c in text
    )


def _decode(data: bytes) -> str:
    return data.decode("utf-8", "backslashreplace")


def _parse_v3(
    data: bytes, prefix_ts: float | None, prefix: str | None, ansi: bool, controls: bool
) -> ParsedLine | None:
    """A v3 (Klogger) line's fields; None when its stamp or severity does not read."""
    ts = parse_stamp(data[:25])
    sev = SEVERITY_FIELD.get(data[26:33])
    start = MESSAGE_START
    if sev is None:
        found = severity_and_message_start(data)
        if found is not None:
            sev, start = found
    if ts is not None and sev is not None:
        message, tags = split_message(_decode(data[start:]))
        return ParsedLine(
            fmt=LineFormat.V3,
            message=message,
            tags=tags,
            timestamp=_decode(data[:25]),
            ts=prefix_ts if prefix_ts is not None else ts,
            severity=_decode(data[26:start]).strip(),
            level=Level(sev),
            prefix=prefix,
            ansi_stripped=ansi,
            has_controls=controls,
        )
    return None


def parse_fields(text: str) -> ParsedLine:
    """Split one line (as stored or as received) into its fields. Never raises.

    Args:
        text: one line of text (transport prefixes are recognised and removed).

    Returns:
        The parsed line; unrecognised text comes back as ``LineFormat.RAW`` with the whole
        text as the message.
    """
    controls = _has_controls(text)
    raw = text.encode("utf-8", "backslashreplace")
    stripped = strip_prefixes(raw)
    body = stripped.body
    prefix = _decode(raw[: len(raw) - len(body)]) if len(body) != len(raw) else None
    ansi = b"\x1b[" in body
    plain = _decode(body)
    if ansi:
        plain = SGR.sub("", plain)
    data = plain.encode("utf-8", "backslashreplace")

    if looks_v3(data):
        v3 = _parse_v3(data, stripped.ts, prefix, ansi, controls)
        if v3 is not None:
            return v3
    head = match_v2(data)
    if head is not None:
        close = data.find(b"] [")
        stamp = _decode(data[close + 3 : data.find(b"]", close + 3)]) if close >= 0 else None
        return ParsedLine(
            fmt=LineFormat.V2,
            message=_decode(data[head.message_start :]).rstrip(" "),
            timestamp=stamp,
            ts=stripped.ts if stripped.ts is not None else head.ts,
            severity=Level(head.level).name if head.level else None,
            level=Level(head.level),
            prefix=prefix,
            ansi_stripped=ansi,
            has_controls=controls,
        )
    stamp_text = prefix.strip() if prefix and stripped.ts is not None else None
    if data[:1] == b" ":
        eq = data.find(b"=", 1, 40)
        if eq > 1 and _decode(data[1:eq]) in _KNOWN:
            message, tags = split_message(_decode(data[1:]))
            return ParsedLine(
                fmt=LineFormat.CONTINUATION, message=message, tags=tags, timestamp=stamp_text, ts=stripped.ts,
                prefix=prefix, ansi_stripped=ansi, has_controls=controls,
            )  # fmt: skip
    return ParsedLine(
        fmt=LineFormat.RAW,
        message=plain,
        timestamp=stamp_text,
        ts=stripped.ts,
        prefix=prefix,
        ansi_stripped=ansi,
        has_controls=controls,
    )
