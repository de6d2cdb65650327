"""The vectorised recogniser gives exactly what the per-line scan gives: the same stored rows, the same facts.

Each case is ingested twice, once with every batch taking the per-line path and once with every batch
(down to one line) taking the vectorised one, and the two stores and fact lists are compared whole.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postaltop.core.fact_handlers import _DISPATCH, FACT_KEYS, HEAD_RULES, may_carry_fact
from postaltop.core.ingest import Ingestor
from postaltop.core.logstore import LogStore
from postaltop.core.parsing import vscan
from postaltop.core.parsing.v3 import TimeCache
from tests.core import SAMPLES, sample_lines
from tests.core.test_fact_batch import BENCH_LINES
from tests.core.test_parsing_fuzz import FAST, REAL, batch_st

Row = tuple[bytes, float, int, int, int, int]


@contextmanager
def _path(vector: bool) -> Iterator[None]:
    saved = vscan.MIN_LINES
    vscan.MIN_LINES = 1 if vector else 10**9
    try:
        yield
    finally:
        vscan.MIN_LINES = saved


def _ingest(batches: list[list[bytes]], component: str, *, vector: bool) -> tuple[list[Row], list[str]]:
    store = LogStore(capacity=10**6, block_lines=64)
    ing = Ingestor(store)
    facts: list[str] = []
    with _path(vector):
        for batch in batches:
            facts.extend(map(repr, ing.feed("h", component, batch, received_at=100.0).facts))
        facts.extend(map(repr, ing.flush()))
    rows: list[Row] = []
    for block, skip in store.iter_blocks():
        for i in range(skip, len(block)):
            rows.append(
                (
                    block.line_bytes(i),
                    block.ts[i],
                    block.level[i],
                    block.host[i],
                    block.component[i],
                    block.fmt[i],
                )
            )
    return rows, facts


def _same(batches: list[list[bytes]], component: str = "") -> int:
    per_line = _ingest(batches, component, vector=False)
    vector = _ingest(batches, component, vector=True)
    assert vector[0] == per_line[0]
    assert vector[1] == per_line[1]
    assert len(per_line[0]) == sum(map(len, batches))
    return len(per_line[1])


def _cut(lines: list[bytes], size: int) -> list[list[bytes]]:
    return [lines[i : i + size] for i in range(0, len(lines), size)]


@pytest.mark.parametrize("size", [1, 7, 300, 2000])
def test_bench_corpus_is_stored_and_read_the_same(size: int) -> None:
    facts = _same(_cut(BENCH_LINES, size), "smtp")
    assert facts > 1000  # the corpus carries facts of many kinds: the comparison is not of empty lists


@pytest.mark.parametrize("name", sorted(p.name for p in SAMPLES.iterdir()))
@pytest.mark.parametrize("component", ["", "smtp"])
def test_each_sample_is_stored_and_read_the_same(name: str, component: str) -> None:
    lines = sample_lines(name)
    _same([lines], component)
    _same(_cut(lines, 5), component)


STAMP_EDGES = [
    b"2026-04-28 09:14:59 +0000 INFO   Sending message 3::1 to a@b.example log_id=X queued_message=1",
    b"2026-04-28 09:15:00 +0000 INFO   Sending message 3::2 to a@b.example log_id=X queued_message=1",
    b"2026-04-28 09:15:60 +0000 INFO   Sending message 3::3 to a@b.example (a leap second) queued_message=1",
    b"2026-04-28 09:15:61 +0000 INFO   Sending message 3::4 to a@b.example (no such second) queued_message=1",
    b"2026-04-28 09:15:6a +0000 INFO   Sending message 3::5 to a@b.example (not a digit) queued_message=1",
    b"2026-04-28 09:15:/9 +0000 INFO   Sending message 3::5 to a@b.example (below digits) queued_message=1",
    b"2026-04-28 09:60:01 +0000 INFO   Sending message 3::6 to a@b.example (no such minute) queued_message=1",
    b"2026-13-28 09:15:01 +0000 INFO   Sending message 3::7 to a@b.example (no such month) queued_message=1",
    b"2026-04-28 11:15:01 +0200 INFO   Sending message 3::8 to a@b.example (an offset) queued_message=1",
    b"2026-04-28 09:15:01 +0000XINFO   Sending message 3::9 to a@b.example (no space) queued_message=1",
    b"2026-04-28 09:15:01 +0000 INFOX  Sending message 3::9 to a@b.example (bad severity) queued_message=1",
    b"2026-04-28 09:15:01 +0000 ERROR  Net::SMTPServerBusy: 421 Try again later",
    b" log_id=ABC queued_message=12",
    b"2026-04-28 09:15:01 +0000 INFO   short",
    b"2026-04-28 09:15:01 +0000 INFO   ",
    b"2026-04-28 09:15:01 +0000 INFO",
    b"",
    b"2026-04-28 09:15:02 +0000 DEBUG  \x1b[34m=> 235 Granted for acme/mail\x1b[0m trace_id=T1",
    b"2026-04-28 09:15:02 +0000 DEBUG  \x1b[34m=> 250 OK\x1b[0m trace_id=T1",
    b"2026-04-28 09:15:02 +0000 INFO   message requeued for trying later retry_after=2026-04-28 09:21:32 UTC",
    b"2026-04-28 09:15:02 +0000 INFO   message processing complete queued_message=1",
    b"2026-04-28 09:15:02 +0000 DEBUG  Added external address 'a@b.example' trace_id=T1",
    b"2026-04-28 09:15:02 +0000 INFO   Added to suppression list reason=x",
    b"2026-04-28 09:15:02 +0000 ERROR  stamp then a newline\nin the line",
    b"2026-04-28T09:15:02.123456789Z 2026-04-28 09:15:02 +0000 INFO   a docker stamp first queued_message=1",
]


def test_stamp_severity_and_head_edges_are_read_the_same() -> None:
    for perm in itertools.islice(itertools.permutations(range(len(STAMP_EDGES)), len(STAMP_EDGES)), 0, 40, 7):
        _same([[STAMP_EDGES[i] for i in perm]], "worker")
    _same([STAMP_EDGES], "")
    _same([[line] for line in STAMP_EDGES], "")


@FAST
@given(st.lists(batch_st, min_size=1, max_size=4), st.sampled_from(["", "smtp"]))
def test_hostile_batches_are_stored_and_read_the_same(batches: list[list[bytes]], component: str) -> None:
    _same(batches, component)


@FAST
@given(st.lists(st.sampled_from(REAL + STAMP_EDGES), min_size=1, max_size=300), st.integers(1, 300))
def test_shuffled_real_lines_are_stored_and_read_the_same(lines: list[bytes], size: int) -> None:
    _same(_cut(lines, size), "")


def test_fact_heads_answer_as_may_carry_fact() -> None:
    """Every fact key with every tail its rules know, and tails they don't, decided as the per-line path."""
    keys = [*_DISPATCH, b"Zzzz", b"\x1b[32"]
    middles = [b"m=> ", b"d ex", b"age ", b"____"]
    tails = [b"235", b"250", b"421", b"req", b"has", b"is ", b"ter", b"xyz"]
    heads = {key + middle + tail for key in keys for middle in middles for tail in tails}
    times = TimeCache()
    facts = vscan.FactHeads(FACT_KEYS, HEAD_RULES)
    ordered = sorted(heads)
    lines = [b"2026-04-28 09:15:02 +0000 INFO   " + h + b" trace_id=T1" for h in ordered]
    found = vscan.columns(b"\n".join(lines), len(lines), times, facts)
    assert found is not None and bool(found.plain.all())
    want = [may_carry_fact(h) for h in ordered]
    assert found.fact.tolist() == want
    assert any(want) and not all(want)


def test_a_rule_it_cannot_read_is_refused() -> None:
    with pytest.raises(ValueError):
        vscan.FactHeads(FACT_KEYS, {b"Send": (2, True, frozenset({b"nd mess"}))})
