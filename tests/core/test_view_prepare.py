"""Preparing a filter off the view (a worker thread) and installing it later."""

from __future__ import annotations

import threading

from postaltop.core.events import Level
from postaltop.core.logstore import LogStore
from postaltop.core.query import parse_query
from postaltop.core.view import FilteredView

NOW = 10_000.0


def _store(n: int, capacity: int = 100_000) -> LogStore:
    store = LogStore(capacity=capacity, block_lines=64)
    for i in range(n):
        store.append(b"%d %s" % (i, b"Unqueue" if i % 3 == 0 else b"other"), NOW + i, Level.INFO)
    return store


def test_prepare_leaves_the_view_alone_until_install() -> None:
    store = _store(1_000)
    view = FilteredView(store, parse_query("other", now=NOW))
    before = len(view)
    prepared = view.prepare(parse_query("unqueue", now=NOW))
    assert len(view) == before and view.query is not None and view.query.text == "other"
    view.install(prepared)
    assert [view.seq_at(r) for r in range(len(view))] == list(range(0, 1_000, 3))


def test_lines_appended_while_preparing_in_a_thread_are_picked_up_by_refresh() -> None:
    store = _store(5_000)
    view = FilteredView(store, None)
    result = {}

    def work() -> None:
        result["prepared"] = view.prepare(parse_query("unqueue", now=NOW))

    thread = threading.Thread(target=work)
    thread.start()
    for i in range(5_000, 6_000):  # the "event loop" keeps appending and refreshing meanwhile
        store.append(b"%d %s" % (i, b"UNQUEUE" if i % 3 == 0 else b"other"), NOW + i)
        if i % 100 == 0:
            view.refresh()
    thread.join()
    view.install(result["prepared"])
    view.refresh()
    assert [view.seq_at(r) for r in range(len(view))] == list(range(0, 6_000, 3))


def test_install_after_eviction_drops_the_evicted_matches_on_refresh() -> None:
    store = _store(2_000, capacity=2_000)
    view = FilteredView(store, None)
    prepared = view.prepare(parse_query("unqueue", now=NOW))
    for i in range(2_000, 2_500):
        store.append(b"%d other" % i, NOW + i)
    view.install(prepared)
    view.refresh()
    seqs = [view.seq_at(r) for r in range(len(view))]
    assert seqs == [s for s in range(store.start_seq, 2_000) if s % 3 == 0]
