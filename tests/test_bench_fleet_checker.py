"""The fleet bench's loss check reads the engine's store after the run: it sees a lost and a repeated line."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from postaltop.core.logstore import LogStore
from postaltop.engine import Engine

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _checker_class() -> type:
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location("bench_fleet", BENCH / "fleet.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCH))
    return module.Checker  # type: ignore[no-any-return]


def _line(n: int) -> bytes:
    return b"2026-12-04 03:00:00 +0000 INFO   starting message unqueue component=worker queued_message=%d" % n


def test_store_check_finds_lost_and_duplicated_lines_per_host() -> None:
    engine = Engine(retained_lines=10_000)
    engine.feed("mx01", "worker", [_line(n) for n in range(3_000)])
    engine.feed("mx02", "worker", [_line(n) for n in range(3_000) if n != 1_234])  # one lost
    engine.feed("mx02", "worker", [_line(7)])  # one repeated
    store: LogStore = engine.store
    checker = _checker_class()()
    assert checker.check_store(store) == 6_000
    assert checker.received("mx01") == 3_000
    assert checker.received("mx02") == 2_999
    assert checker.duplicated == 1
    assert checker.unnumbered == 0
