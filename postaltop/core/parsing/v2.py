"""Postal 2.x lines: ``[proc:pid] [YYYY-MM-DDTHH:MM:SS.mmm] SEVERITY -- : message``.

The ``[proc:pid]`` prefix is ANSI-coloured when ``PROC_NAME`` is set, or just ``[pid]``.
Postal 2 wrote its stamps in the process's local time, which is UTC in the official containers;
they are read as UTC.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from postaltop.core.events import Level
from postaltop.core.parsing.prefixes import civil_to_epoch
from postaltop.core.parsing.v3 import SGR_BYTES

_V2 = re.compile(
    rb"(?:\x1b\[[0-9;]*m)*\[([^\]\x00]{1,80})\](?:\x1b\[[0-9;]*m)* "
    rb"\[(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?\] "
    rb"([A-Z]{3,7}) -- [^:]{0,40}: ?"
)
_LEVELS = {
    b"DEBUG": Level.DEBUG,
    b"INFO": Level.INFO,
    b"WARN": Level.WARN,
    b"ERROR": Level.ERROR,
    b"FATAL": Level.FATAL,
}
_PROC_COMPONENTS = {
    b"smtp_server": "smtp",
    b"smtp": "smtp",
    b"worker": "worker",
    b"web": "web",
    b"web_server": "web",
    b"cron": "cron",
    b"requeuer": "requeuer",
}
_BRACKET = re.compile(r"\[([^\]]{0,80})\] *")


class V2Head(NamedTuple):
    """What the head of a v2 line says."""

    ts: float | None
    level: int
    message_start: int
    component: str | None
    """Component from the ``[PROC_NAME:pid]`` prefix (``smtp_server.1`` → ``smtp``), if named."""


def match_v2(line: bytes) -> V2Head | None:
    """Recognise a v2 line.

    Returns:
        Its time, level and the offset of the message, or None if ``line`` is not v2.
    """
    if line[:1] not in (b"[", b"\x1b"):
        return None
    m = _V2.match(line)
    if m is None:
        return None
    proc, y, mo, d, h, mi, s, frac = m.groups()[:8]
    ts = civil_to_epoch(int(y), int(mo), int(d), int(h), int(mi), int(s))
    if ts is not None and frac:
        ts += int(frac) / 10 ** len(frac)
    return V2Head(ts, _LEVELS.get(m.group(9), Level.UNKNOWN), m.end(), _proc_component(proc))


def _proc_component(proc: bytes) -> str | None:
    name = SGR_BYTES.sub(b"", proc).split(b":", 1)[0].split(b".", 1)[0]
    if not name or name.isdigit():
        return None
    return _PROC_COMPONENTS.get(name)


def split_context(message: str) -> tuple[str | None, str]:
    """Split a v2 message's leading ``[context]`` (client id, log id, ``srv::msg qid``) off.

    Returns:
        (context or None, the rest with leading spaces removed).
    """
    m = _BRACKET.match(message)
    if m is None:
        return None, message
    return m.group(1), message[m.end() :]
