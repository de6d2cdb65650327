"""Filter history persistence: round trip, atomic writes, corrupt files read as empty."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from postaltop.store.filters import (
    HISTORY_LIMIT,
    MAX_FILTER_CHARS,
    FilterState,
    filters_path,
    load_filter_state,
    save_filter_state,
)


def test_default_path_is_in_the_xdg_state_dir() -> None:
    path = filters_path()
    assert path.name == "filters.json"
    assert path.is_relative_to(Path(os.environ["XDG_STATE_HOME"]))


def test_missing_file_is_an_empty_state() -> None:
    state = load_filter_state()
    assert state == FilterState() and state.last == "" and state.history == []


def test_round_trip_through_the_default_location() -> None:
    state = FilterState()
    for text in ("level>=warn", "host:mx1 auth", "level>=warn", 'to:"jane doe@x" é', "  "):
        state.remember(text)
    assert state.last == ""  # the blank filter cleared it
    state.remember('to:"jane doe@x" é')
    assert save_filter_state(state)
    loaded = load_filter_state()
    assert loaded.last == 'to:"jane doe@x" é'
    assert loaded.history == ['to:"jane doe@x" é', "level>=warn", "host:mx1 auth"]
    assert [p.name for p in filters_path().parent.iterdir()] == ["filters.json"]  # no temp file left


def test_history_is_bounded_and_deduplicated() -> None:
    state = FilterState()
    for k in range(HISTORY_LIMIT + 20):
        state.remember(f"q{k}")
    state.remember("q60")
    assert len(state.history) == HISTORY_LIMIT and state.history[0] == "q60"
    assert state.history.count("q60") == 1
    state.remember("x" * (MAX_FILTER_CHARS + 1))
    assert state.last == "q60"


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{not json",
        b"\xff\xfe\x00garbage",
        b"[1, 2, 3]",
        b'"just a string"',
        b'{"last": 5, "history": "nope"}',
        b"[" * 100_000,
    ],
)
def test_corrupt_files_read_as_empty(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "filters.json"
    path.write_bytes(content)
    assert load_filter_state(path) == FilterState()


def test_bad_entries_are_dropped(tmp_path: Path) -> None:
    path = tmp_path / "filters.json"
    data = {"last": "ok", "history": ["a", 3, None, "a", "", "b", "x" * (MAX_FILTER_CHARS + 1), ["c"]]}
    path.write_text(json.dumps(data))
    assert load_filter_state(path) == FilterState(last="ok", history=["a", "b"])


def test_save_failure_is_reported_not_raised(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    assert save_filter_state(FilterState(last="a"), blocker / "filters.json") is False


def test_save_replaces_atomically(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "filters.json"
    assert save_filter_state(FilterState(last="one", history=["one"]), path)
    before = path.stat().st_ino
    assert save_filter_state(FilterState(last="two", history=["two", "one"]), path)
    assert path.stat().st_ino != before  # a new file was renamed over the old one
    assert json.loads(path.read_text())["history"] == ["two", "one"]
    assert sorted(p.name for p in path.parent.iterdir()) == ["filters.json"]
