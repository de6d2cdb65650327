"""The filtered view: incremental refresh equals a full re-apply, eviction, row addressing."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postaltop.core.events import Level
from postaltop.core.logstore import LogStore
from postaltop.core.query import parse_query
from postaltop.core.view import FilteredView

NOW = 50_000.0
ROOT = Path(__file__).resolve().parents[2]
WORDS = [b"worker", b"WORKER", b"smtp", b"auth failure", b"trace_id=AB12", b"550 no", b"\x1b[32m<="]


def _append(store: LogStore, n: int, k0: int, host: int = 0) -> None:
    lines = [WORDS[(k0 + k) % len(WORDS)] + b" %d" % (k0 + k) for k in range(n)]
    levels = [(k0 + k) % 6 for k in range(n)]
    store.append_batch(lines, [NOW + k0 + k for k in range(n)], levels, [host] * n, [0] * n, [1] * n)


def _fresh(store: LogStore, text: str) -> list[int]:
    view = FilteredView(store, parse_query(text, now=NOW))
    return view.seqs(0, len(view))


def test_unfiltered_view_lists_every_retained_line() -> None:
    store = LogStore(capacity=100, block_lines=16)
    _append(store, 40, 0)
    view = FilteredView(store)
    assert view.query is None and len(view) == 40 == view.total
    assert view.seqs(0, 3) == [0, 1, 2] and view.seq_at(39) == 39
    assert view.store is store


def test_rows_and_lookups() -> None:
    store = LogStore(capacity=1000, block_lines=16)
    _append(store, 70, 0)
    view = FilteredView(store, parse_query("worker", now=NOW))
    expected = [s for s in range(70) if s % len(WORDS) in (0, 1)]
    assert len(view) == len(expected) and view.total == 70
    assert view.seqs(0, len(view)) == expected
    assert view.seqs(-5, 2) == expected[:2] and view.seqs(5, 1) == [] and view.seqs(0, 10**9) == expected
    assert [view.seq_at(r) for r in range(len(view))] == expected
    assert all(view.row_of(seq) == row for row, seq in enumerate(expected))
    assert view.row_of(2) is None and view.row_of(10**6) is None and view.row_of(-1) is None
    assert view.nearest_row(2) == 2 and view.nearest_row(10**6) == len(view) - 1
    with pytest.raises(IndexError):
        view.seq_at(len(view))
    with pytest.raises(IndexError):
        view.seq_at(-1)


def test_refresh_adds_new_matches_and_reports_how_many() -> None:
    store = LogStore(capacity=1000, block_lines=16)
    view = FilteredView(store, parse_query("smtp", now=NOW))
    assert len(view) == 0 and view.refresh() == 0
    _append(store, 10, 0)
    assert view.refresh() == 2  # seqs 2 and 9
    assert view.refresh() == 0
    store.append(b"more SMTP", NOW, Level.INFO)
    assert view.refresh() == 1 and view.seqs(0, 5) == [2, 9, 10]


def test_eviction_advances_the_start_and_clear_empties() -> None:
    store = LogStore(capacity=32, block_lines=16)
    view = FilteredView(store, parse_query("-smtp", now=NOW))
    for k in range(20):
        _append(store, 7, k * 7)
        view.refresh()
        assert view.seqs(0, len(view)) == _fresh(store, "-smtp")
        assert all(s >= store.start_seq for s in view.seqs(0, len(view)))
        assert len(view._seqs) <= 2 * len(view) + 16  # the evicted prefix is dropped, not kept forever
    store.clear()
    view.refresh()
    assert len(view) == 0 and view.seqs(0, 10) == [] and view.row_of(store.end_seq - 1) is None


def test_set_query_reapplies_and_none_clears() -> None:
    store = LogStore(capacity=1000, block_lines=16)
    _append(store, 50, 0)
    view = FilteredView(store, parse_query("level>=error", now=NOW))
    assert view.seqs(0, 100) == [s for s in range(50) if s % 6 >= 4]
    view.set_query(parse_query("auth", now=NOW))
    assert view.seqs(0, 100) == [s for s in range(50) if s % len(WORDS) == 3]
    view.set_query(None)
    assert len(view) == 50


def test_host_filter_for_unseen_host_starts_matching_when_it_appears() -> None:
    store = LogStore(capacity=1000, block_lines=16)
    _append(store, 20, 0, host=store.hosts.id("mx1"))
    view = FilteredView(store, parse_query("host:mx7", now=NOW))
    assert len(view) == 0
    _append(store, 5, 20, host=store.hosts.id("mx7"))
    assert view.refresh() == 5 and view.seqs(0, 10) == [20, 21, 22, 23, 24]


@settings(max_examples=60, deadline=None)
@given(
    capacity=st.integers(16, 90),
    batches=st.lists(st.integers(1, 30), min_size=1, max_size=12),
    text=st.sampled_from(["", "worker", "-smtp level>=warn", "/\\d5$/", "550 OR auth", "since:20s"]),
)
def test_incremental_refresh_equals_full_reapply(capacity: int, batches: list[int], text: str) -> None:
    store = LogStore(capacity=capacity, block_lines=16)
    view = FilteredView(store, parse_query(text, now=NOW))
    k0 = 0
    for n in batches:
        if n % 3:
            _append(store, n, k0)
        else:
            for k in range(n):
                store.append(WORDS[(k0 + k) % len(WORDS)], NOW + k0 + k, (k0 + k) % 6)
        k0 += n
        view.refresh()
        assert view.seqs(0, len(view)) == _fresh(store, text)
        assert view.total == len(store)


def test_set_query_in_a_thread_while_lines_arrive() -> None:
    store = LogStore(capacity=20_000, block_lines=64)
    _append(store, 5_000, 0)
    view = FilteredView(store)
    query = parse_query("worker -level:error", now=NOW)
    done = threading.Event()

    def reapply() -> None:
        for _ in range(5):
            view.set_query(query)
        done.set()

    worker = threading.Thread(target=reapply)
    worker.start()
    k0 = 5_000
    while not done.is_set():
        _append(store, 37, k0)
        k0 += 37
    worker.join()
    view.refresh()
    assert view.seqs(0, len(view)) == _fresh(store, "worker -level:error")


def test_bench_quick_prints_one_json_line_last() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "filter.py"), "--lines", "3000"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["bench"] == "filter" and result["target"] == 1.0
    assert result["value"] == max(q["cpu"] for q in result["quiet"].values()) > 0
    assert result["live_ingest_value"] == max(q["wall"] for q in result["live"].values()) > 0
    assert result["ceiling"] > 0 and result["live_ingest_ceiling"] > 0 and result["lines"] == 3000
    assert result["grep_c_ms"] > 0 and result["peak_rss_mb"] > 0
    assert {"rare_word", "common_word", "phrase", "level", "regex", "since"} <= set(result["quiet"])
