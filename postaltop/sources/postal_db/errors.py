"""Database errors as the poll shows them: error numbers, one clean line of text, the statement timeout."""

from __future__ import annotations

import re

import pymysql

LOST_CONNECTION = {0, 2006, 2013, 2014, 2055}
UNREACHABLE = {2002, 2003, 2005, 2026}
DENIED = {1044, 1142, 1143}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class QueryTimeout(Exception):
    """A statement did not finish before the cycle's deadline."""


def clean_error(exc: BaseException, limit: int = 300) -> str:
    """A one-line, control-character-free description of an error (DB text is untrusted)."""
    if isinstance(exc, pymysql.err.MySQLError) and len(exc.args) >= 2:
        text = f"({exc.args[0]}) {exc.args[1]}"
        cause = exc.__cause__
        if isinstance(cause, OSError) and str(cause) and str(cause) not in text:
            text += f" ({cause})"  # e.g. [Errno 111] for a refused connection
    else:
        text = str(exc) or type(exc).__name__
    text = _CONTROL.sub(" ", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def error_code(exc: BaseException) -> int | None:
    """The MySQL error number of ``exc``, if it carries one."""
    if isinstance(exc, pymysql.err.MySQLError) and exc.args and isinstance(exc.args[0], int):
        return exc.args[0]
    return None
