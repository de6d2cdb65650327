"""The parsed form of a filter (:mod:`postaltop.core.query`): ``Query``, its terms and ``QueryError``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from postaltop.core.events import Level


class QueryError(ValueError):
    """A filter that cannot be parsed.

    Attributes:
        message: what is wrong and how to fix it (includes the 1-based column).
        position: 0-based index into the filter text where the problem starts.
    """

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


# -- terms ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Term:
    """Base of every term: whether it is negated and where it sits in the text."""

    negated: bool = False
    span: tuple[int, int] = (0, 0)
    """Start and end (0-based, end exclusive) of the term in the filter text."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Word(Term):
    """Case-insensitive (ASCII) substring."""

    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Phrase(Term):
    """Exact, case-sensitive substring."""

    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Regex(Term):
    """An RE2 pattern matched within single lines."""

    pattern: str
    ignore_case: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class LevelIn(Term):
    """The line's level is one of ``levels``."""

    levels: frozenset[Level]


@dataclass(frozen=True, slots=True, kw_only=True)
class NameIs(Term):
    """The host or component column names one of ``names`` (lower-case; ``x*`` = prefix)."""

    field: Literal["host", "component"]
    names: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class TimeRange(Term):
    """``since <= ts <= until`` on the time column (None = unbounded)."""

    since: float | None = None
    until: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Tag(Term):
    """The v3 tag ``key=value`` as a whole tag (``value`` None = any value; ``prefix`` = value prefix)."""

    key: str
    value: str | None = None
    prefix: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Recipient(Term):
    """A recipient address (``@domain`` = any address at that domain)."""

    address: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Sender(Term):
    """An envelope sender address (``@domain`` = any address at that domain)."""

    address: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Status(Term):
    """A delivery outcome: one of ``STATUS_NAMES``."""

    status: str


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageRef(Term):
    """A message reference: ``server::message``, a queued message id, a log_id or a trace_id."""

    value: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AnyOf(Term):
    """``a OR b OR …``."""

    terms: tuple[Term, ...]


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed filter: the terms that must all match, plus the text and clock it came from."""

    text: str
    terms: tuple[Term, ...] = field(default=())
    now: float = 0.0
    """The time ``since:``/``until:`` durations were resolved against (re-parse to slide the window)."""

    @property
    def is_empty(self) -> bool:
        """True when the query matches every line."""
        return not self.terms


def _col(pos: int) -> str:
    return f"column {pos + 1}"
