"""SMTP session facts as plain tuples: what the compromise signals read from every batch.

The signals (:mod:`postaltop.signals`) join ``Client identified as <ip>`` with ``235 Granted for
<org>/<server>`` by trace id, and note CRAM-MD5's ``Authenticated with with credential <id>``. About one
SMTP line in six is one of those, and building a frozen fact for each (handler dispatch, keyword
construction) only for the listener to read three fields and drop it cost more than the join itself.
A :data:`SessionRow` carries the same fields in a tuple, built from the same bytes by the same
patterns as the handlers in :mod:`postaltop.core.fact_handlers`; any line the direct path does not
settle goes through the handler itself, so the rows are always exactly the projection of
``facts_of(ClientIdentified, CredentialAuthenticated, AuthGranted)`` (a test checks it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from postaltop.core.fact_handlers import _CLIENT, _DISPATCH, _GRANTED_SGR, _REPLY_CODES
from postaltop.core.fact_types import MAX_FIELD, AuthGranted, ClientIdentified, CredentialAuthenticated, Fact

CLIENT = 0
"""Row kind of ``Client identified as <ip>``: ``text`` is the address."""
CRAM = 1
"""Row kind of ``Authenticated with with credential <id>``: ``number`` is the credential id."""
GRANT = 2
"""Row kind of ``235 Granted for <org>/<server>``: ``text`` is ``org/server``."""

SessionRow = tuple[int, float, str, int, str | None, str, int]
"""``(seq, ts, host, kind, trace_id, text, number)``."""

SESSION_KINDS: tuple[type[Fact], ...] = (ClientIdentified, CredentialAuthenticated, AuthGranted)

_KEYS: dict[bytes, int] = {
    b"Clie": CLIENT, b"\x1b[35": CLIENT, b"Auth": CRAM,
    b"\x1b[34": GRANT, b"=> 2": GRANT, b"=> 4": GRANT, b"=> 5": GRANT,
}  # fmt: skip
"""First 4 message bytes of the v3 lines whose handler can yield one of :data:`SESSION_KINDS`
(``keys_for(SESSION_KINDS)``, a test checks it), with the kind the common case yields."""
_AUTH_FAILURE = b"Authentication failure for "
_UTF8, _BSR = "utf-8", "backslashreplace"
_TRACE_TAIL = rb"(?:.* trace_id=([^ ]{0,64}))?"
"""The value of the last `` trace_id=`` tag, as ``_tag_text`` reads it: up to a space, at most 64 bytes.

After the message patterns below it finds the same tag as a search of the whole line: the first 33
bytes of a well-formed v3 line are its stamp and severity, and neither pattern's text nor groups hold
a space followed by ``trace_id=``."""
_CLIENT_ROW = re.compile(_CLIENT.pattern + _TRACE_TAIL)
_GRANT_ROW = re.compile(_GRANTED_SGR.pattern + _TRACE_TAIL)


def row_of(fact: Fact) -> SessionRow | None:
    """The row of a session fact (None for any other kind)."""
    if isinstance(fact, ClientIdentified):
        return (fact.seq, fact.ts, fact.host, CLIENT, fact.trace_id, fact.ip, 0)
    if isinstance(fact, AuthGranted):
        return (fact.seq, fact.ts, fact.host, GRANT, fact.trace_id, f"{fact.org}/{fact.server}", 0)
    if isinstance(fact, CredentialAuthenticated):
        return (fact.seq, fact.ts, fact.host, CRAM, fact.trace_id, "", fact.credential_id)
    return None


def rows_of(facts: Iterable[Fact]) -> list[SessionRow]:
    """The rows of the session facts among ``facts``, in their order."""
    return [row for row in map(row_of, facts) if row is not None]


def session_rows(
    lines: Sequence[bytes], indexes: Sequence[int], ts: Sequence[float], host: str, first_seq: int
) -> list[SessionRow]:
    """Rows of the well-formed v3 lines at ``indexes`` (ascending; message at byte 33), in line order.

    The common lines (a client line, an SGR-coloured ``235 Granted``) are read here with the
    handlers' own patterns; anything else that may be a session fact goes through its handler.
    """
    rows: list[SessionRow] = []
    add = rows.append
    keys = _KEYS
    for i in [i for i in indexes if lines[i][33:37] in keys]:
        line = lines[i]
        kind = keys[line[33:37]]
        if kind == CLIENT:  # `_client` in full: its pattern, then the trace id
            m = _CLIENT_ROW.match(line, 33)
            if m is not None:
                ip, trace = m.groups()
                add((first_seq + i, ts[i], host, CLIENT, _text(trace), ip[:MAX_FIELD].decode(_UTF8, _BSR), 0))
            continue
        if kind == GRANT and line[33:34] == b"\x1b":
            code = line[41:44]
            if code == b"235":
                g = _GRANT_ROW.match(line, 33)
                if g is not None:  # what `_reply_sgr` returns for it
                    org, server, trace = g.groups()
                    text = f"{org[:MAX_FIELD].decode(_UTF8, _BSR)}/{server[:MAX_FIELD].decode(_UTF8, _BSR)}"
                    add((first_seq + i, ts[i], host, GRANT, _text(trace), text, 0))
                    continue
            elif code not in _REPLY_CODES:
                continue  # `_reply_sgr` returns None
        elif kind == CRAM and line.startswith(_AUTH_FAILURE, 33):
            continue  # `_auth` yields an AuthFailure or nothing
        row = _by_handler(line, ts[i], host, first_seq + i)
        if row is not None:
            add(row)
    return rows


def _text(raw: bytes | None) -> str | None:
    return None if raw is None else raw.decode(_UTF8, _BSR)


def _by_handler(line: bytes, ts: float, host: str, seq: int) -> SessionRow | None:
    handler = _DISPATCH[line[33:37]]
    try:
        fact = handler(line, 33, (ts, host, seq))
    except Exception:  # untrusted input: as `extract_indexes`, a surprise yields nothing
        return None
    return None if fact is None else row_of(fact)
