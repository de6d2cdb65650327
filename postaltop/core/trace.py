"""A message's path through the retained logs: every line of every host and component about it.

A message shows up under several ids: the worker logs ``Sending message <server>::<message>`` with
the delivery's ``log_id`` and the ``queued_message`` id, and the lines around it carry only one of
those. :func:`trace` finds the lines matching the given reference with the filter language's own
``msgid:`` matcher (:class:`~postaltop.core.query.MessageRef`: ``server::message``, a queued message
id, a ``log_id`` or a ``trace_id``), collects the other ids those lines carry (their tags, and the
``Sending message`` text), finds their lines too (one round), and returns all of them in time order.

Pure: reads a :class:`~postaltop.core.logstore.LogStore`, no I/O.
"""

from __future__ import annotations

import re
from array import array
from dataclasses import dataclass, field

from postaltop.core.events import LogEvent
from postaltop.core.logstore import LogStore
from postaltop.core.matcher import compile_query
from postaltop.core.parsing.fields import parse_fields
from postaltop.core.query import MessageRef, Query

REF_RE = re.compile(r"^[A-Za-z0-9_.@-]{1,128}$|^\d{1,10}::\d{1,12}$")
"""What a message reference may look like (also what is safe to pass on to a remote grep)."""
_SENDING = re.compile(r"Sending message (\d{1,10}::\d{1,12}) to ")
_ID_TAGS = ("queued_message", "original_queued_message", "log_id")
"""Tags that name one message (``trace_id`` names an SMTP session, which may carry many)."""
MAX_TRACE_LINES = 10_000
"""Most lines one trace returns (the oldest are kept)."""


class TraceError(ValueError):
    """The reference is not one a trace can follow."""


def check_ref(ref: str) -> str:
    """``ref`` stripped, if it is a valid message reference.

    Raises:
        TraceError: it is empty or holds characters no message id has.
    """
    ref = ref.strip()
    if not REF_RE.match(ref):
        raise TraceError(
            f"{ref!r} is not a message reference: use server::message (3::1204577), a queued message id, "
            "a log_id or a trace_id"
        )
    return ref


def tagged_refs(text: str) -> list[tuple[str, str]]:
    """``(kind, reference)`` pairs one log line carries, most specific first (no duplicates).

    Kinds: ``message`` (``server::message`` from a ``Sending message`` line), the tag names
    ``queued_message`` / ``original_queued_message`` / ``log_id``, then ``trace_id`` (an SMTP session).
    """
    fields = parse_fields(text)
    found: list[tuple[str, str]] = []
    match = _SENDING.search(fields.message)
    if match:
        found.append(("message", match.group(1)))
    for key in (*_ID_TAGS, "trace_id"):
        value = fields.tags.get(key)
        if value and REF_RE.match(value) and all(value != v for _, v in found):
            found.append((key, value))
    return found


def message_refs(text: str) -> list[str]:
    """The message references one log line carries, most specific first (see :func:`tagged_refs`)."""
    return [value for _, value in tagged_refs(text)]


@dataclass(slots=True)
class TraceResult:
    """The lines of one message, and which references led to them."""

    ref: str
    refs: list[str] = field(default_factory=list)
    """Every reference searched: the given one first, then those found on its lines."""
    events: list[LogEvent] = field(default_factory=list)
    """Matching retained lines, oldest first (same time: store order)."""
    truncated: bool = False
    """More than :data:`MAX_TRACE_LINES` matched."""

    @property
    def hosts(self) -> list[str]:
        """Hosts the message was seen on, in order of first appearance."""
        return list(dict.fromkeys(e.host for e in self.events))


def _matching(store: LogStore, ref: str) -> array[int]:
    out: array[int] = array("q")
    compile_query(Query(text=f"msgid:{ref}", terms=(MessageRef(value=ref),))).scan(
        store, store.start_seq, store.end_seq, out
    )
    return out


def trace(store: LogStore, ref: str, *, expand: bool = True, limit: int = MAX_TRACE_LINES) -> TraceResult:
    """Every retained line about message ``ref`` across hosts and components, in time order.

    Args:
        store: the retained lines.
        ref: ``server::message``, a queued message id, a ``log_id`` or a ``trace_id``.
        expand: also follow the message ids found on the matching lines (one round).
        limit: most lines returned.

    Raises:
        TraceError: ``ref`` is not a message reference.
    """
    ref = check_ref(ref)
    result = TraceResult(ref, [ref])
    seqs = set(_matching(store, ref))
    if expand and seqs:
        related: list[str] = []
        for seq in sorted(seqs)[:limit]:
            for kind, found in tagged_refs(store.event(seq).text):
                # a trace_id is a whole SMTP session: followed only when it was asked for
                if kind != "trace_id" and found != ref and found not in related:
                    related.append(found)
        for other in related:
            seqs.update(_matching(store, other))
        result.refs.extend(related)
    ordered = sorted(seqs)
    if len(ordered) > limit:
        ordered = ordered[:limit]
        result.truncated = True
    events = [store.event(seq) for seq in ordered]
    events.sort(key=lambda e: (e.ts, e.seq))
    result.events = events
    return result
