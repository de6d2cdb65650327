"""Values inside filter terms (:mod:`postaltop.core.query`): levels, times, ``OR`` groups, RE2 regexes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import re2

from postaltop.core.events import Level
from postaltop.core.query_terms import AnyOf, QueryError, Term, _col

_DURATION_RE = re.compile(r"(?:\d+(?:\.\d+)?[smhdw])+")
_DURATION_PART_RE = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_UNIT_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_CLOCK_RE = re.compile(r"\d{1,2}:\d{2}(?::\d{2})?")


def _levels(op: str, value: str, pos: int) -> frozenset[Level]:
    names = value.split(",") if op in (":", "=") else [value]
    levels: set[Level] = set()
    offset = pos
    for name in names:
        try:
            levels.add(Level.from_name(name))
        except ValueError as exc:
            raise QueryError(f"{exc} (at {_col(offset)})", offset) from None
        offset += len(name) + 1
    if op in (":", "="):
        return frozenset(levels)
    (ref,) = levels
    real = [lv for lv in Level if lv is not Level.UNKNOWN]
    chosen = {
        ">=": [lv for lv in real if lv >= ref],
        ">": [lv for lv in real if lv > ref],
        "<=": [lv for lv in real if lv <= ref],
        "<": [lv for lv in real if lv < ref],
    }[op]
    return frozenset(chosen)


def _time_value(value: str, now: float, key: str, pos: int) -> float:
    """Resolve a duration (before ``now``) or a UTC time to a UNIX time."""
    if _DURATION_RE.fullmatch(value):
        seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in _DURATION_PART_RE.findall(value))
        return now - seconds
    try:
        if _CLOCK_RE.fullmatch(value):
            day = datetime.fromtimestamp(now, tz=UTC).date().isoformat()
            hour, rest = value.split(":", 1)
            parsed = datetime.fromisoformat(f"{day}T{hour.zfill(2)}:{rest}")
        else:
            parsed = datetime.fromisoformat(value)
    except (ValueError, OverflowError, OSError):
        raise QueryError(
            f"invalid time {value!r} for {key}: at {_col(pos)}; use a duration like 15m, 2h, 1d "
            "or a UTC time like 2026-04-28T09:14",
            pos,
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return (parsed - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(seconds=1)


def _or_message(pos: int) -> str:
    return f"OR at {_col(pos)} needs a term on both sides (e.g. error OR warn)"


def _group_or(items: list[Term | int]) -> tuple[Term, ...]:
    out: list[Term] = []
    k = 0
    while k < len(items):
        item = items[k]
        if isinstance(item, int):
            raise QueryError(_or_message(item), item)
        group = [item]
        while k + 1 < len(items) and isinstance(items[k + 1], int):
            or_at = items[k + 1]
            assert isinstance(or_at, int)
            if k + 2 >= len(items) or isinstance(items[k + 2], int):
                raise QueryError(
                    f"OR at {_col(or_at)} needs a term on both sides (e.g. error OR warn)", or_at
                )
            nxt = items[k + 2]
            assert not isinstance(nxt, int)
            group.append(nxt)
            k += 2
        if len(group) == 1:
            out.append(item)
        else:
            out.append(AnyOf(terms=tuple(group), span=(group[0].span[0], group[-1].span[1])))
        k += 1
    return tuple(out)


# -- regex validation ----------------------------------------------------------------


def re2_options(*, ignore_case: bool = False, latin1: bool = False) -> re2.Options:
    """RE2 options for scanning log blocks: no newline matches, no stderr logging."""
    opts = re2.Options()
    opts.log_errors = False  # RE2 would otherwise print parse errors on the terminal
    opts.never_nl = True  # a match never spans two lines
    opts.never_capture = True
    opts.case_sensitive = not ignore_case
    if latin1:
        opts.encoding = re2.Options.Encoding.LATIN1
    return opts


_TURNS_OFF_MULTILINE = re.compile(r"\(\?[a-zA-Z]*-[a-zA-Z]*m")


def check_regex(pattern: str, position: int = 0) -> None:
    """Raise ``QueryError`` unless ``pattern`` is a valid RE2 filter regex."""
    j = 0
    while j < len(pattern):
        if pattern[j] == "\\" and j + 1 < len(pattern):
            if pattern[j + 1] in "Az":
                raise QueryError(
                    f"\\{pattern[j + 1]} is not supported in /{pattern}/; use ^ and $ "
                    "(they match at the start and end of each line)",
                    position + 1 + j,
                )
            j += 2
        else:
            j += 1
    if _TURNS_OFF_MULTILINE.search(pattern):
        raise QueryError(f"/{pattern}/ turns off (?m); ^ and $ always match at line boundaries", position)
    try:
        re2.compile("(?m)" + pattern, re2_options())
    except re2.error as exc:
        reason = exc.args[0] if exc.args else "invalid pattern"
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        reason = str(reason)
        if reason.endswith(": " + pattern) or reason.endswith(": (?m)" + pattern):
            reason = reason.rsplit(": ", 1)[0]
        raise QueryError(f"invalid regex /{pattern}/: {reason}", position) from None
