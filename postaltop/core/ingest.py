"""The ingest path: raw line batches → the log store, plus the facts every line carries.

Sources hand over batches of physical lines per (host, component) stream; :class:`Ingestor`
scans them (:mod:`postaltop.core.parsing.scan`), appends them to the :class:`LogStore` in one
call, and finds the fact candidates of *every* line, because metrics and detection must see all
of them even when the log panel shows a sample. The facts of well-formed lines are built when a
listener asks for them (:attr:`IngestResult.facts`, or :meth:`IngestResult.facts_of` for some
kinds only), from the same bytes, so the result is the same as building them at once.

Nothing is dropped: a line that is not Postal's is kept as ``LineFormat.RAW``; a line longer
than :data:`~postaltop.core.linesplit.MAX_LINE_BYTES` (1 MiB) is cut to that size with
:data:`~postaltop.core.linesplit.TRUNCATION_MARKER` at its end; a ``\\n`` inside a line becomes a
space.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from postaltop.core import bytescan
from postaltop.core.events import Level, LineFormat
from postaltop.core.fact_batch import FactBatch
from postaltop.core.fact_handlers import FACT_KEYS, HEAD_RULES
from postaltop.core.facts import Fact, extract_fact, may_carry_fact, split_deferred
from postaltop.core.linesplit import MAX_LINE_BYTES, truncate_line
from postaltop.core.logstore import LogStore
from postaltop.core.parsing import vscan
from postaltop.core.parsing.prefixes import split_docker_stamps
from postaltop.core.parsing.scan import Scanner
from postaltop.core.parsing.scan_result import ScanResult, StreamState
from postaltop.core.parsing.v3 import MESSAGE_START
from postaltop.core.session_rows import SESSION_KINDS, SessionRow, rows_of

_V3 = int(LineFormat.V3)
_CONT = int(LineFormat.CONTINUATION)
_ERROR = int(Level.ERROR)


class IngestResult:
    """What one :meth:`Ingestor.feed` call stored and found.

    Args:
        first_seq: sequence number of the first stored line of the batch.
        count: lines stored (always the number fed).
        facts: the facts, when already built; else ``batch`` builds them on first use.
        batch: the batch's fact candidates (see :mod:`postaltop.core.fact_batch`).
    """

    __slots__ = ("_batch", "_facts", "count", "first_seq")

    def __init__(
        self, first_seq: int, count: int, facts: list[Fact] | None = None, *, batch: FactBatch | None = None
    ) -> None:
        self.first_seq = first_seq
        self.count = count
        self._facts = facts if facts is not None or batch is not None else []
        self._batch = batch

    @property
    def facts(self) -> list[Fact]:
        """Facts found, in line order (a fact may refer to a line of an earlier batch; see ``feed``)."""
        facts = self._facts
        if facts is None:
            batch, self._batch = self._batch, None
            facts = self._facts = [] if batch is None else batch.all()
        return facts

    def facts_of(self, *kinds: type[Fact]) -> list[Fact]:
        """The facts that are instances of ``kinds``, in line order; builds no fact of another kind."""
        if self._facts is None and self._batch is not None:
            return self._batch.of(*kinds)
        return [f for f in self.facts if isinstance(f, kinds)]

    def session_rows(self) -> list[SessionRow]:
        """``facts_of(ClientIdentified, CredentialAuthenticated, AuthGranted)`` as tuples, in line order.

        What the compromise signals read from every batch; no fact object is built for it (see
        :mod:`postaltop.core.session_rows`).
        """
        if self._facts is None and self._batch is not None:
            return self._batch.sessions()
        return rows_of(f for f in self.facts if isinstance(f, SESSION_KINDS))

    def __repr__(self) -> str:
        return f"IngestResult(first_seq={self.first_seq}, count={self.count})"


@dataclass(slots=True)
class _Pending:
    """An ERROR record whose tags may follow on the next physical line (Net::SMTP replies)."""

    seq: int
    ts: float
    line: bytes
    msg_start: int


@dataclass(slots=True)
class _Stream:
    scan: StreamState = field(default_factory=StreamState)
    pending: _Pending | None = None


class Ingestor:
    """Feeds line batches into a :class:`LogStore` and extracts facts.

    Args:
        store: where lines are retained.
        facts: extract facts (turned off only to measure the scan alone).
    """

    def __init__(self, store: LogStore, *, facts: bool = True) -> None:
        self.store = store
        self._extract = facts
        self._scanner = Scanner(store.components.id, may_carry_fact, (FACT_KEYS, HEAD_RULES))
        self._docker_seconds: dict[bytes, float] = {}
        self._streams: dict[tuple[str, str], _Stream] = {}

    def feed(self, host: str, component: str, lines: Sequence[bytes], *, received_at: float) -> IngestResult:
        """Store one batch of one stream and return the facts it carried.

        Args:
            host: the host the lines came from.
            component: ``web``/``worker``/``smtp`` when the source knows it (one container), or
                ``""`` to take it from each line's ``component=`` tag or transport prefix.
            lines: physical lines without their newline. Lines over 1 MiB are truncated to 1 MiB
                with a visible marker appended; embedded ``\\n`` become spaces. None is dropped.
            received_at: when the batch arrived (time for lines before the stream showed one).

        Returns:
            The first sequence number, the count, and the facts. A record split over two
            physical lines (an ERROR whose message ended in a newline, its tags on the next
            line) yields its fact once the next line is seen — possibly in the next batch or at
            :meth:`flush`.
        """
        n = len(lines)
        store = self.store
        if n == 0:
            return IngestResult(store.end_seq, 0, [])
        stream = self._streams.get((host, component))
        if stream is None:
            stream = self._streams[(host, component)] = _Stream()
        res = self._scan(lines, stream, component, received_at)
        hosts = array("H", (store.hosts.id(host),)) * n  # array columns extend the store's arrays by memcpy
        if res.joined is not None:
            ts, level = (res.ts, res.level) if res.arrays is None else res.arrays
            first = store.append_joined(res.joined, res.starts, ts, level, hosts, res.component, res.fmt)
        else:
            first = store.append_batch(res.lines, res.ts, res.level, hosts, res.component, res.fmt)
        if not self._extract:
            return IngestResult(first, n, [])
        stored = res.lines
        fmt, ts_col = res.fmt, res.ts
        fast, deferred = split_deferred(stored, res.fast, res.level)
        built: list[Fact] = []
        if stream.pending is not None:
            pending, stream.pending = stream.pending, None
            line = pending.line + stored[0] if fmt[0] == _CONT else pending.line
            found = extract_fact(line, pending.msg_start, ts=pending.ts, host=host, seq=pending.seq)
            if found is not None:
                built.append(found)
        if deferred or res.candidates:
            built.extend(self._other_facts(stream, res, deferred, host, first))
        # the well-formed candidates' facts are built when a listener asks (FactBatch)
        return IngestResult(first, n, batch=FactBatch(stored, fast, ts_col, host, first, built))

    def _scan(
        self, lines: Sequence[bytes], stream: _Stream, component: str, received_at: float
    ) -> ScanResult:
        """Bound the lines, take docker's stamps off, and scan them into the store's columns."""
        lines, joined, breaks = _bounded(lines)
        comp_id = self.store.components.id(component) if component else None
        docker = split_docker_stamps(lines, self._docker_seconds)
        if docker is not None:
            lines, joined, breaks = docker[0], None, None
            if len(self._docker_seconds) > 100_000:
                self._docker_seconds.clear()
        scan = self._scanner.scan
        state = stream.scan
        try:
            res = scan(
                lines, state, component_id=comp_id, received_at=received_at, joined=joined, breaks=breaks
            )
        except TypeError:  # bytearray/memoryview lines: unhashable slices; the scan changed no state
            lines = [bytes(x) for x in lines]
            res = scan(
                lines, state, component_id=comp_id, received_at=received_at, joined=joined, breaks=breaks
            )
        if docker is not None:
            # docker's stamp has the sub-second time Postal's own stamp lacks
            res.ts, res.arrays = docker[1], None
            state.last_ts = res.ts[-1]
        return res

    def _other_facts(
        self, stream: _Stream, res: ScanResult, deferred: list[int], host: str, first: int
    ) -> list[Fact]:
        """Facts of slow-path lines and of ERROR records that may continue on the next line."""
        stored, fmt, ts_col, level = res.lines, res.fmt, res.ts, res.level
        n = len(stored)
        items = [(i, stored[i], MESSAGE_START, _V3) for i in deferred]
        items.extend(res.candidates)
        items.sort(key=_index_of)
        facts: list[Fact] = []
        for i, data, ms, f in items:
            if f == _CONT:
                continue
            if f == _V3 and level[i] == _ERROR and b" component=" not in data and b" log_id=" not in data:
                if i + 1 == n:
                    stream.pending = _Pending(first + i, ts_col[i], data, ms)
                    continue
                if fmt[i + 1] == _CONT:
                    data = data + stored[i + 1]
            found = extract_fact(data, ms, ts=ts_col[i], host=host, seq=first + i, fmt=f)
            if found is not None:
                facts.append(found)
        return facts

    def flush(self) -> list[Fact]:
        """Facts still waiting for a possible continuation line (call at end of stream)."""
        facts: list[Fact] = []
        for key, stream in self._streams.items():
            pending = stream.pending
            if pending is not None:
                stream.pending = None
                found = extract_fact(
                    pending.line, pending.msg_start, ts=pending.ts, host=key[0], seq=pending.seq
                )
                if found is not None:
                    facts.append(found)
        return facts

    def forget(self, host: str, component: str) -> None:
        """Drop a stream's state (its source went away for good)."""
        self._streams.pop((host, component), None)


def _index_of(item: tuple[int, bytes, int, int]) -> int:
    return item[0]


def _bounded(lines: Sequence[bytes]) -> tuple[Sequence[bytes], bytes | None, Any]:
    """Return ``lines`` without ``\\n`` and none over the size limit; with them joined by ``\\n`` and
    the offsets of those newlines (a numpy array, for a batch the scan vectorises), or two Nones when
    a line had to be changed.

    The checks run at C speed over the joined batch; per-line work happens only when needed.
    """
    joined = b"\n".join(lines)
    if len(joined) > MAX_LINE_BYTES and max(map(len, lines)) > MAX_LINE_BYTES:
        lines = [truncate_line(x) for x in lines]
        joined = b"\n".join(lines)
    n = len(lines)
    breaks = vscan.newlines(joined) if n >= vscan.MIN_LINES and bytescan.AVAILABLE else None
    if (joined.count(b"\n") if breaks is None else len(breaks)) != n - 1:
        return [bytes(x).replace(b"\n", b" ") for x in lines], None, None
    return lines, joined, breaks
