"""Transport prefixes that wrap a Postal line on its way to us, and the time arithmetic they need.

Recognised (in the order they can nest):

* ``docker compose logs``: ``smtp-1  | <line>`` (service name padded with spaces, then ``| ``);
* ``docker logs --timestamps``: ``2026-04-28T09:14:02.123456789Z <line>`` (RFC3339Nano, UTC) — the
  only source of sub-second time, since Postal's own stamp has whole seconds;
* ``journalctl -o short-iso`` / ``short-iso-precise``:
  ``2026-04-28T09:14:02+0000 host postal-smtp-1[1234]: <line>`` (offset also as ``+00:00``).

Detection is by fixed byte positions first (a bare Postal line never has ``T`` at offset 10 nor
`` | `` in its first bytes), so a line without a prefix pays two slice compares.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence
from typing import NamedTuple


class Stripped(NamedTuple):
    """A line with its transport prefixes removed."""

    body: bytes
    """The line as Postal wrote it."""
    ts: float | None
    """Time taken from the prefix (docker / journald), if any."""
    component: str | None
    """Component named by the prefix (compose service, journald tag), if any."""


_COMPOSE = re.compile(rb"([A-Za-z0-9][A-Za-z0-9_.-]{0,62}) *\| ")
_ISO_T = re.compile(rb"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:[.,](\d{1,9}))?(Z|[+-]\d\d:?\d\d) ")
_JOURNAL_TAG = re.compile(rb"(\S{1,255}) ([^\s:\[]{1,255})(?:\[\d{1,10}\])?: ")
_REPLICA = re.compile(r"[-_]\d+$")


def civil_to_epoch(year: int, month: int, day: int, hour: int, minute: int, second: int) -> float | None:
    """UNIX time of a UTC wall-clock time, or None if the fields are not a valid time."""
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour <= 23 and minute <= 59 and second <= 60):
        return None
    try:
        return float(calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0)))
    except (ValueError, OverflowError):
        return None


def offset_seconds(text: bytes) -> int | None:
    """Seconds east of UTC for ``Z``, ``+HHMM``, ``-HHMM`` or ``+HH:MM``; None if malformed."""
    if text == b"Z":
        return 0
    digits = text[1:].replace(b":", b"")
    if len(digits) != 4 or not digits.isdigit() or text[:1] not in (b"+", b"-"):
        return None
    secs = int(digits[:2]) * 3600 + int(digits[2:]) * 60
    return -secs if text[:1] == b"-" else secs


def service_component(name: str) -> str:
    """Map a compose service / container name to a component: ``postal-smtp-1`` → ``smtp``."""
    base = _REPLICA.sub("", name.strip())
    for prefix in ("postal-", "postal_"):
        if base.startswith(prefix):
            base = base[len(prefix) :]
    return base


def _iso_prefix(line: bytes) -> tuple[int, float | None, bool] | None:
    """Parse a leading ISO-8601 stamp; return (end offset, time, is docker's ``Z`` form)."""
    m = _ISO_T.match(line)
    if m is None:
        return None
    y, mo, d, h, mi, s, frac, tz = m.groups()
    base = civil_to_epoch(int(y), int(mo), int(d), int(h), int(mi), int(s))
    off = offset_seconds(tz)
    if base is None or off is None:
        return m.end(), None, tz == b"Z"
    ts = base - off
    if frac:
        ts += int(frac) / 10 ** len(frac)
    return m.end(), ts, tz == b"Z"


def strip_prefixes(line: bytes) -> Stripped:
    """Remove any transport prefixes from ``line``.

    Args:
        line: one physical line (no newline).

    Returns:
        The Postal line with the time and component the prefixes carried. A line without a
        prefix comes back unchanged with ``ts`` and ``component`` None.
    """
    ts: float | None = None
    component: str | None = None
    body = line
    # compose prefix first: `docker compose logs --timestamps` writes `svc-1  | 2026-...Z line`
    if body[:1].isalpha() and b"| " in body[:80]:
        m = _COMPOSE.match(body)
        if m is not None:
            component = service_component(m.group(1).decode("ascii", "replace"))
            body = body[m.end() :]
    if body[10:11] == b"T" and body[4:5] == b"-":
        parsed = _iso_prefix(body)
        if parsed is not None:
            end, stamp, docker_form = parsed
            rest = body[end:]
            if not docker_form:
                # journald: `host tag[pid]: ` follows; without it this is not a journald line
                jm = _JOURNAL_TAG.match(rest)
                if jm is None:
                    return Stripped(body, ts, component)
                if component is None:
                    component = service_component(jm.group(2).decode("ascii", "replace"))
                rest = rest[jm.end() :]
            ts = stamp if stamp is not None else ts
            body = rest
    return Stripped(body, ts, component)


_DOCKER_STAMP_LEN = 31  # `2026-04-28T09:14:02.123456789Z ` (docker's fixed-width RFC3339Nano)


def split_docker_stamps(
    lines: Sequence[bytes], seconds_cache: dict[bytes, float]
) -> tuple[list[bytes], list[float]] | None:
    """Batch fast path for ``docker logs --timestamps`` output.

    Docker writes its stamp with a fixed width (nine fraction digits), so when every line of a
    batch has one, the stamps are cut off by slicing and each distinct second is converted once
    (``seconds_cache``, keyed by ``YYYY-MM-DDTHH:MM:SS``); the per-line work is a few slices and an
    ``int`` of the fraction.

    Args:
        lines: one batch of physical lines.
        seconds_cache: shared cache of converted seconds; bounded by the caller.

    Returns:
        (lines without the stamp, times) or None when any line lacks a well-formed stamp, in
        which case the caller uses the general per-line path (:func:`strip_prefixes`).
    """
    if not lines or lines[0][29:31] != b"Z ":
        return None
    if {x[29:31] for x in lines} != {b"Z "} or {x[10:11] + x[19:20] for x in lines} != {b"T."}:
        return None
    seconds = [x[:19] for x in lines]
    for key in set(seconds).difference(seconds_cache):
        if not (key[:4] + key[5:7] + key[8:10] + key[11:13] + key[14:16] + key[17:19]).isdigit():
            return None
        when = civil_to_epoch(
            int(key[:4]), int(key[5:7]), int(key[8:10]), int(key[11:13]), int(key[14:16]), int(key[17:19])
        )
        if when is None:
            return None
        seconds_cache[key] = when
    fractions = [x[20:29] for x in lines]
    if not all(map(bytes.isdigit, fractions)):
        return None
    times = [seconds_cache[s] + int(f) * 1e-9 for s, f in zip(seconds, fractions, strict=True)]
    return [x[_DOCKER_STAMP_LEN:] for x in lines], times
