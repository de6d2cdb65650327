"""The filter language: text typed by the operator → a ``Query`` (a tuple of terms).

Syntax (terms are separated by spaces and ANDed)::

    level>=warn host:mx1 component:smtp -component:web "Authentication failure" /5\\d\\d /
    since:15m until:5m trace_id:Q7RZK2PD to:jane@example.net status:held msgid:3::1204577

* ``word`` — case-insensitive substring (ASCII letters fold; other characters match exactly, which
  is what Postal's ASCII log text needs and what lets the scanner work on raw bytes).
* ``"a phrase"`` — exact, case-sensitive substring; ``\\"`` and ``\\\\`` escape inside quotes.
* ``/regex/`` or ``/regex/i`` — RE2 syntax (linear time: a typed pattern cannot hang the app),
  matched within one line: ``^``/``$`` are line start/end and a match never spans lines.
* ``-term`` negates any term.
* ``a OR b`` — either term. ``OR`` binds tighter than the implicit AND, as in Gmail:
  ``x a OR b y`` means x AND (a OR b) AND y. There are no parentheses.
* ``level:error`` / ``level:warn,error`` (exactly those), ``level>=warn``, ``level<info`` …
* ``host:mx1`` / ``component:smtp`` — the interned name, case-insensitively; ``mx*`` is a prefix;
  a comma list means any of them.
* ``since:15m`` / ``until:5m`` (units s m h d w, combinable: ``1h30m``) or a UTC time
  (``2026-04-28T09:14``, ``"2026-04-28 09:14"``, or ``09:14`` for today) on the time column.
* Postal fields: ``to:ADDR`` / ``from:ADDR`` (``@domain`` for a whole domain), ``status:held|sent|
  softfail|hardfail|bounced`` (or an HTTP status code), ``msgid:`` (``server::message``, a queued
  message id, a ``log_id`` or a ``trace_id``), ``tag:key`` (the line has that tag) / ``tag:key=value``.
* Any other ``key:value`` matches the v3 tag ``key=value`` as a whole tag; ``key:prefix*`` matches a
  value prefix. ``key=value`` (as copied from a line) is always that tag, even for the keys above:
  ``component=smtp-server`` is the tag, ``component:smtp`` the host/component column.

Errors raise ``QueryError`` with a message that says how to fix it and the 0-based position.
"""

from __future__ import annotations

import re
from typing import Literal

from postaltop.core.query_terms import (
    AnyOf,
    LevelIn,
    MessageRef,
    NameIs,
    Phrase,
    Query,
    QueryError,
    Recipient,
    Regex,
    Sender,
    Status,
    Tag,
    Term,
    TimeRange,
    Word,
    _col,
)
from postaltop.core.query_values import _group_or, _levels, _time_value, check_regex, re2_options

__all__ = [
    "MAX_QUERY_CHARS",
    "MAX_TERMS",
    "STATUS_NAMES",
    "AnyOf",
    "LevelIn",
    "MessageRef",
    "NameIs",
    "Phrase",
    "Query",
    "QueryError",
    "Recipient",
    "Regex",
    "Sender",
    "Status",
    "Tag",
    "Term",
    "TimeRange",
    "Word",
    "check_regex",
    "parse_query",
    "re2_options",
]

MAX_QUERY_CHARS = 4096
MAX_TERMS = 128
STATUS_NAMES = ("held", "sent", "softfail", "hardfail", "bounced")
_STATUS_ALIASES = {
    "soft_fail": "softfail",
    "delayed": "softfail",
    "hard_fail": "hardfail",
    "failed": "hardfail",
}
_KNOWN_KEYS = ("level", "host", "component", "since", "until", "to", "from", "status", "msgid", "tag")
_FIELD_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_.\-]*)(>=|<=|:|=|>|<)")
_TAG_KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")


def parse_query(text: str, *, now: float) -> Query:
    """Parse filter text into a ``Query``.

    Args:
        text: what the operator typed; empty (or blank) matches everything.
        now: the current UNIX time, for ``since:``/``until:`` durations.

    Returns:
        The parsed query.

    Raises:
        QueryError: with a message saying what to fix and the 0-based position.
    """
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(
            f"filter too long ({len(text)} characters; the limit is {MAX_QUERY_CHARS})", MAX_QUERY_CHARS
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate (undecodable bytes from argv or a saved history)
        message = "the filter holds a character that is not valid text; retype it"
        raise QueryError(message, exc.start) from None
    return Query(text=text, terms=_Parser(text, now).parse(), now=now)


class _Parser:
    def __init__(self, text: str, now: float) -> None:
        self.text = text
        self.now = now
        self.i = 0

    def parse(self) -> tuple[Term, ...]:
        items: list[Term | int] = []  # an int marks an OR at that position
        count = 0
        while True:
            self._skip_space()
            if self.i >= len(self.text):
                break
            start = self.i
            if self.text.startswith("OR", start) and self._ends_token(start + 2):
                self.i = start + 2
                items.append(start)
                continue
            count += 1
            if count > MAX_TERMS:
                raise QueryError(f"too many terms (the limit is {MAX_TERMS}) at {_col(start)}", start)
            items.append(self._term())
        return _group_or(items)

    # -- lexing helpers

    def _skip_space(self) -> None:
        text, i = self.text, self.i
        while i < len(text) and text[i].isspace():
            i += 1
        self.i = i

    def _ends_token(self, j: int) -> bool:
        return j >= len(self.text) or self.text[j].isspace()

    def _bare(self) -> str:
        text, i = self.text, self.i
        j = i
        while j < len(text) and not text[j].isspace():
            j += 1
        self.i = j
        return text[i:j]

    def _quoted(self) -> str:
        """Read a double-quoted string starting at ``self.i``; return its unescaped content."""
        text, start = self.text, self.i
        out: list[str] = []
        j = start + 1
        while j < len(text):
            ch = text[j]
            if ch == "\\" and j + 1 < len(text) and text[j + 1] in '"\\':
                out.append(text[j + 1])
                j += 2
                continue
            if ch == '"':
                if not self._ends_token(j + 1):
                    raise QueryError(f"put a space after the closing quote at {_col(j)}", j + 1)
                self.i = j + 1
                return "".join(out)
            out.append(ch)
            j += 1
        raise QueryError(f'unclosed quote at {_col(start)}: add a closing "', start)

    # -- terms

    def _term(self) -> Term:
        text, start = self.text, self.i
        negated = text[start] == "-" and not self._ends_token(start + 1)
        if negated:
            self.i += 1
        body = self.i
        ch = text[body]
        if ch == '"':
            value = self._quoted()
            if not value:
                raise QueryError(f"empty phrase at {_col(body)}: type text between the quotes", body)
            return Phrase(text=value, negated=negated, span=(start, self.i))
        if ch == "/":
            return self._regex(start, negated)
        m = _FIELD_RE.match(text, body)
        if m:
            key, op = m.group(1), m.group(2)
            self.i = m.end()
            quoted = self.i < len(text) and text[self.i] == '"'
            value = self._quoted() if quoted else self._bare()
            term = self._field(key, op, value, quoted, start, body, m.end(), negated)
            if term is not None:
                return term
            self.i = body
        word = self._bare()
        return Word(text=word, negated=negated, span=(start, self.i))

    def _regex(self, start: int, negated: bool) -> Term:
        text = self.text
        open_at = self.i
        j = open_at + 1
        while j < len(text) and text[j] != "/":
            j += 2 if text[j] == "\\" else 1
        if j >= len(text):
            raise QueryError(f"unclosed regex at {_col(open_at)}: end it with /", open_at)
        pattern = text[open_at + 1 : j]
        k = j + 1
        flags = ""
        while k < len(text) and not text[k].isspace():
            if text[k] != "i":
                raise QueryError(
                    f"unknown regex flag {text[k]!r} at {_col(k)}; the only flag is i (ignore case). "
                    f'To search for a path, quote it: "{text[open_at : k + 1]}"',
                    k,
                )
            flags += "i"
            k += 1
        self.i = k
        if not pattern:
            raise QueryError(f"empty regex at {_col(open_at)}: type a pattern between the slashes", open_at)
        check_regex(pattern, open_at)
        return Regex(pattern=pattern, ignore_case=bool(flags), negated=negated, span=(start, k))

    def _field(
        self, key: str, op: str, value: str, quoted: bool, start: int, body: int, vpos: int, negated: bool
    ) -> Term | None:
        """Build a field term, or return None to read the token as a plain word."""
        lkey = key.lower()
        span = (start, self.i)
        if op == "=" and value:
            # ``key=value`` is how a tag appears in the log: copying one finds its siblings.
            return _tag(key, value, negated, span)
        if lkey not in _KNOWN_KEYS:
            # ``Net::SMTPError``, ``http://x``, ``a<b`` and ``error:`` are words, not tags.
            if op in ("<", ">", "<=", ">=") or (not quoted and (not value or value[0] in ":/")):
                return None
            return _tag(key, value, negated, span)
        if op in ("<", ">", "<=", ">=") and lkey != "level":
            raise QueryError(f"{lkey} takes {lkey}:value; only level supports {op} (at {_col(body)})", body)
        if not value:
            example = {"level": "level>=warn", "host": "host:mx1", "component": "component:smtp"}.get(lkey)
            hint = f", e.g. {example}" if example else ""
            raise QueryError(f"{lkey}: needs a value at {_col(vpos)}{hint}", vpos)
        if lkey == "level":
            return LevelIn(levels=_levels(op, value, vpos), negated=negated, span=span)
        if lkey in ("host", "component"):
            names = tuple(n.strip().lower() for n in value.split(","))
            if any(not n for n in names):
                raise QueryError(f"empty name in {lkey}:{value} at {_col(vpos)}", vpos)
            fld: Literal["host", "component"] = "host" if lkey == "host" else "component"
            return NameIs(field=fld, names=names, negated=negated, span=span)
        if lkey in ("since", "until"):
            bound = _time_value(value, self.now, lkey, vpos)
            if lkey == "since":
                return TimeRange(since=bound, negated=negated, span=span)
            return TimeRange(until=bound, negated=negated, span=span)
        if lkey == "to":
            return Recipient(address=value, negated=negated, span=span)
        if lkey == "from":
            return Sender(address=value, negated=negated, span=span)
        if lkey == "status":
            return _status(value, vpos, negated, span)
        if lkey == "msgid":
            return MessageRef(value=value, negated=negated, span=span)
        return _tag_field(value, vpos, negated, span)


def _status(value: str, vpos: int, negated: bool, span: tuple[int, int]) -> Term:
    """``status:held`` (a delivery outcome, or an alias of one) or ``status:500`` (the HTTP tag)."""
    status = _STATUS_ALIASES.get(value.lower(), value.lower())
    if value.isdigit():
        return Tag(key="status", value=value, negated=negated, span=span)
    if status not in STATUS_NAMES:
        raise QueryError(
            f"unknown status {value!r} at {_col(vpos)}; valid: {', '.join(STATUS_NAMES)} "
            "(or an HTTP status code such as status:500)",
            vpos,
        )
    return Status(status=status, negated=negated, span=span)


def _tag_field(value: str, vpos: int, negated: bool, span: tuple[int, int]) -> Tag:
    """``tag:key`` (the line has that tag) or ``tag:key=value``."""
    tkey, eq, tvalue = value.partition("=")
    if not _TAG_KEY_RE.fullmatch(tkey):
        hint = "tag: needs a tag name such as tag:log_id or tag:thread=work0"
        raise QueryError(f"{hint} (at {_col(vpos)})", vpos)
    if not eq:
        return Tag(key=tkey, negated=negated, span=span)
    if not tvalue:
        raise QueryError(f"tag:{tkey}= needs a value at {_col(vpos + len(tkey) + 1)}", vpos + len(tkey) + 1)
    return _tag(tkey, tvalue, negated, span)


def _tag(key: str, value: str, negated: bool, span: tuple[int, int]) -> Tag:
    prefix = value.endswith("*")
    if prefix:
        value = value[:-1]
    return Tag(key=key, value=value, prefix=prefix, negated=negated, span=span)
