"""Field helpers shared by the fact handlers: tag values, the message part, numbers, times."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from postaltop.core.fact_types import MAX_FIELD
from postaltop.core.parsing.prefixes import civil_to_epoch
from postaltop.core.parsing.v3 import KNOWN_TAG_KEYS, SGR, tag_value

if TYPE_CHECKING:
    from postaltop.core.fact_types import Fact

_KNOWN_KEYS = frozenset(k.encode() for k in KNOWN_TAG_KEYS)

_Base = tuple[float, str, int]
_Handler = Callable[[bytes, int, _Base], "Fact | None"]


def _text(raw: bytes | None) -> str | None:
    return None if raw is None else raw[:MAX_FIELD].decode("utf-8", "backslashreplace")


def _int(raw: bytes | str | None) -> int | None:
    if raw is None or not raw.isdigit() or len(raw) > 18:
        return None
    return int(raw)


def _float(text: str | None) -> float | None:
    try:
        return None if text is None else float(text)
    except ValueError:
        return None


def message_end(line: bytes, ms: int) -> int:
    """Offset where the tags of a v3 line start (its length if it has none).

    Walks the ``=`` signs (few per line) and checks the word before each against the known
    keys; cheaper than a regex alternation of ~40 keys tried at every position.
    """
    j = line.find(b"=", ms)
    while j >= 0:
        sp = line.rfind(b" ", ms - 1 if ms > 0 else 0, j)
        if sp >= 0 and line[sp + 1 : j] in _KNOWN_KEYS:
            return sp
        if sp < 0 and ms == 0 and line[:j] in _KNOWN_KEYS:
            return 0
        j = line.find(b"=", j + 1)
    return len(line)


def _message(line: bytes, ms: int) -> str:
    """The message part (up to the first known tag), SGR-stripped and decoded."""
    end = max(message_end(line, ms), ms)
    text = line[ms : min(end, ms + 4 * MAX_FIELD)].decode("utf-8", "backslashreplace")
    return SGR.sub("", text) if "\x1b" in text else text


def _tag_text(line: bytes, key: bytes) -> str | None:
    """Value of the last `` key=`` tag (``key`` given as ``b" name="``), decoded; for id-like tags."""
    i = line.rfind(key)
    if i < 0:
        return None
    i += len(key)
    j = line.find(b" ", i)
    return line[i : j if j >= 0 else i + 64][:64].decode("utf-8", "backslashreplace")


def _queued(line: bytes) -> int | None:
    """The ``queued_message`` tag (else ``original_queued_message``) as an int."""
    i = line.rfind(b" queued_message=")
    if i < 0:
        i = line.rfind(b"_queued_message=")
        if i < 0:
            return None
    i += 16
    j = line.find(b" ", i)
    raw = line[i:j] if j >= 0 else line[i:]
    return int(raw) if raw.isdigit() and len(raw) < 19 else None


def _d(raw: bytes) -> str:
    return raw[:MAX_FIELD].decode("utf-8", "backslashreplace")


def _b(line: bytes, ms: int, key: bytes) -> bytes | None:
    return tag_value(line, key, ms)


def _qm(line: bytes, ms: int) -> int | None:
    found = tag_value(line, b"queued_message", ms)
    if found is None:
        found = tag_value(line, b"original_queued_message", ms)
    return _int(found)


_TIME = re.compile(r"(\d{4})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)")


def parse_time_text(text: str) -> float | None:
    """UNIX time of ``YYYY-MM-DD HH:MM:SS`` (UTC, as Postal logs ``retry_after``); None if not one."""
    m = _TIME.match(text.strip())
    if m is None:
        return None
    y, mo, d, h, mi, s = (int(x) for x in m.groups())
    return civil_to_epoch(y, mo, d, h, mi, s)
