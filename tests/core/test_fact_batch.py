"""Facts built on request (FactBatch) equal the facts built at ingest, whatever is asked and when."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postaltop.core import facts as F
from postaltop.core.events import LineFormat
from postaltop.core.ingest import Ingestor, IngestResult
from postaltop.core.logstore import LogStore
from postaltop.core.parsing.v3 import TimeCache, parse_stamp
from postaltop.core.session_rows import _KEYS, SESSION_KINDS, rows_of
from tests.core.test_parsing_fuzz import FAST, REAL, batch_st


def _bench_generate() -> Callable[..., dict[str, list[bytes]]]:
    """The ingest benchmark's generator of realistic Postal v3 lines (bench/ is not a package)."""
    path = Path(__file__).resolve().parents[2] / "bench" / "ingest.py"
    spec = importlib.util.spec_from_file_location("bench_ingest", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.generate  # type: ignore[no-any-return]


KINDS: list[type[F.Fact]] = [
    F.AuthFailure,
    F.AuthGranted,
    F.CredentialAuthenticated,
    F.InvalidCredential,
    F.SuspendedRejection,
    F.SmtpRejected,
    F.MessageHeld,
    F.DeliveryAccepted,
    F.DeliveryFailed,
    F.ConnectFailed,
    F.SendingMessage,
    F.QueueLatency,
    F.MessageRequeued,
    F.MessageHardFailed,
    F.SuppressionAdded,
    F.SuppressionRemoved,
    F.WebRequest,
    F.InternalError,
    F.WebhookResult,
]
BENCH_LINES = [line for lines in _bench_generate()(6_000, seed=11).values() for line in lines]


def _feed_all(batches: list[tuple[str, list[bytes]]]) -> list[IngestResult]:
    ing = Ingestor(LogStore(capacity=100_000))
    results = [ing.feed("mx1", comp, lines, received_at=1_777_000_000.0) for comp, lines in batches]
    results.append(IngestResult(0, 0, ing.flush()))
    return results


def _in_batches(lines: list[bytes], size: int) -> list[tuple[str, list[bytes]]]:
    return [("", lines[i : i + size]) for i in range(0, len(lines), size)]


def _check_equivalent(batches: list[tuple[str, list[bytes]]]) -> int:
    """Facts asked for at once, at the end, and by kind are the same facts in the same order."""
    at_once: list[F.Fact] = []
    ing = Ingestor(LogStore(capacity=100_000))
    for comp, lines in batches:
        at_once.extend(ing.feed("mx1", comp, lines, received_at=1_777_000_000.0).facts)
    at_once.extend(ing.flush())
    later = [f for r in _feed_all(batches) for f in r.facts]
    assert later == at_once
    for kind in KINDS:
        by_kind = [f for r in _feed_all(batches) for f in r.facts_of(kind)]
        assert by_kind == [f for f in at_once if isinstance(f, kind)], kind.__name__
    several = [f for r in _feed_all(batches) for f in r.facts_of(F.AuthFailure, F.MessageHeld)]
    assert several == [f for f in at_once if isinstance(f, F.AuthFailure | F.MessageHeld)]
    sessions = [f for f in at_once if isinstance(f, SESSION_KINDS)]
    assert [row for r in _feed_all(batches) for row in r.session_rows()] == rows_of(sessions)
    asked_before = _feed_all(batches)
    for r in asked_before:
        r.facts_of(F.AuthGranted)  # a listener before the signals asked for some kinds
    assert [row for r in asked_before for row in r.session_rows()] == rows_of(sessions)
    built = _feed_all(batches)
    for r in built:
        assert r.facts is not None  # every fact built first (the exporter's listener)
    assert [row for r in built for row in r.session_rows()] == rows_of(sessions)
    return len(at_once)


@pytest.mark.parametrize("size", [1, 7, 500, 4096])
def test_bench_corpus_facts_are_the_same_built_late_or_by_kind(size: int) -> None:
    found = _check_equivalent(_in_batches(BENCH_LINES, size))
    assert found > len(BENCH_LINES) // 10  # the corpus is fact-rich: the comparison covers many kinds


def test_sample_corpus_facts_are_the_same_built_late_or_by_kind() -> None:
    assert _check_equivalent(_in_batches(REAL * 3, 5)) > 0


@FAST
@given(st.lists(batch_st, max_size=6))
def test_random_batches_facts_are_the_same_built_late_or_by_kind(batches: list[list[bytes]]) -> None:
    _check_equivalent([("", b) for b in batches])


_AT = b"2026-04-28 09:14:07 +0000 "
SESSION_EDGES = [
    _AT + b"DEBUG  Client identified as 203.0.113.45 trace_id=Q7RZK2PD component=smtp-server",
    _AT + b"DEBUG  \x1b[35mClient identified as 2001:db8::1\x1b[0m trace_id=PROXY001",
    _AT + b"DEBUG  Client identified as 203.0.113.45",
    _AT + b"DEBUG  Client identified as ",
    _AT + b"DEBUG  Client identified as 1.2.3.4 trace_id=A trace_id=LASTONE1 x=1",
    _AT + b"DEBUG  Client identified as 1.2.3.4 trace_id=" + b"T" * 80,
    _AT + b"DEBUG  Client identified as 1.2.3.4 trace_id= x trace_id=AB\xffCD",
    _AT + b"DEBUG  Client identified as " + b"9" * 70 + b"trace_id=X1 trace_id=" + b"T" * 70 + b" more",
    _AT + b"DEBUG  \x1b[34m=> 235 Granted for a/b trace_id=IN1\x1b[0m trace_id=\x1b[0m",
    _AT + b"DEBUG  \x1b[34m=> 235 Granted for acme/transactional\x1b[0m trace_id=Q7RZK2PD",
    _AT + b"DEBUG  \x1b[34m=> 235 Granted for acme/transactional\x1b[0m",
    _AT + b"DEBUG  \x1b[34m=> 235 Granted for a\xffb/s\xfe\x1b[0m trace_id=BYTES001",
    _AT + b"DEBUG  \x1b[34m=> 235 Granted for acme\x1b[0m trace_id=NOSLASH1",
    _AT + b"DEBUG  \x1b[34m=> 235 Granted for " + b"o" * 600 + b"/" + b"s" * 600,
    _AT + b"DEBUG  \x1b[34m=> 235 Authenticated\x1b[0m trace_id=OTHER001",
    _AT + b"DEBUG  \x1b[34m=> 535 Invalid credential\x1b[0m trace_id=Q7RZK2PD",
    _AT + b"DEBUG  \x1b[34m=> 250 OK\x1b[0m trace_id=Q7RZK2PD",
    _AT + b"DEBUG  => 235 Granted for acme/transactional trace_id=PLAIN001",
    _AT + b"DEBUG  => 235 Granted for acme/transactional",
    _AT + b"DEBUG  Authenticated with with credential 17 trace_id=K4XW8HTA",
    _AT + b"DEBUG  Authenticated with with credential 17",
    _AT + b"DEBUG  Authenticated with with credential x trace_id=K4XW8HTA",
    _AT + b"WARN   Authentication failure for 203.0.113.9 trace_id=K4XW8HTA",
    _AT + b"WARN   Authentication failure for  trace_id=K4XW8HTA",
    b"smtp-1  | 2026-04-28 09:14:07 +0000 DEBUG  Client identified as 198.51.100.7 trace_id=PREFIX01",
]


@pytest.mark.parametrize("size", [1, 3, 50])
def test_session_rows_are_the_session_facts_on_edge_lines(size: int) -> None:
    found = _check_equivalent(_in_batches(SESSION_EDGES * 2, size))
    rows = [row for r in _feed_all(_in_batches(SESSION_EDGES, size)) for row in r.session_rows()]
    assert {row[3] for row in rows} == {0, 1, 2} and found >= len(rows) > 10


def test_session_row_keys_are_the_keys_of_the_session_kinds() -> None:
    assert frozenset(_KEYS) == F.keys_for(SESSION_KINDS)


def test_every_handler_yields_only_the_kinds_it_declares() -> None:
    ing = Ingestor(LogStore(capacity=100_000))
    seen: set[type[F.Fact]] = set()
    for comp, lines in _in_batches(BENCH_LINES + REAL, 300):
        result = ing.feed("mx1", comp, lines, received_at=1_777_000_000.0)
        for fact in result.facts:
            block, i = ing.store.locate(fact.seq)
            line = block.line_bytes(i)
            if block.fmt[i] != LineFormat.V3 or line[33:37] not in F.FACT_KEYS:
                continue  # slow-path lines (prefixes, colours, v2) are built at ingest anyway
            assert type(fact) in F.kinds_of_key(line[33:37])
            seen.add(type(fact))
    assert len(seen) >= 8


def test_keys_for_a_base_class_is_every_key() -> None:
    assert F.keys_for((F.Fact,)) == F.FACT_KEYS
    assert F.keys_for((F.AuthFailure,)) == frozenset({b"Auth"})


@FAST
@given(
    st.builds(
        lambda base, edits: bytes(_edit(bytearray(base), edits)),
        st.sampled_from(
            [b"2026-04-28 09:14:02 +0000", b"2024-02-29 23:59:60 -0130", b"1999-12-31 00:00:00 +1400"]
        ),
        st.lists(st.tuples(st.integers(0, 26), st.sampled_from(b"0123456789:- +Z\xd9a")), max_size=4),
    )
)
def test_time_cache_converts_like_parse_stamp(stamp: bytes) -> None:
    cache = TimeCache()
    assert cache.convert(stamp) == parse_stamp(stamp)
    assert cache.convert(stamp) == parse_stamp(stamp)  # cached


def _edit(buf: bytearray, edits: list[tuple[int, int]]) -> bytearray:
    for pos, byte in edits:
        if pos >= len(buf):
            del buf[len(buf) // 2 :]
        else:
            buf[pos] = byte
    return buf
