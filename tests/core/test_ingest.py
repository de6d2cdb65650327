from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from postaltop.core import facts as F
from postaltop.core.events import Level, LineFormat
from postaltop.core.ingest import Ingestor
from postaltop.core.linesplit import MAX_LINE_BYTES, TRUNCATION_MARKER, LineSplitter
from postaltop.core.logstore import LogStore
from tests.core import SAMPLES, sample_lines

ROOT = Path(__file__).resolve().parents[2]


def test_every_line_of_every_sample_is_retained_in_order() -> None:
    store = LogStore()
    ing = Ingestor(store)
    total = 0
    for path in sorted(SAMPLES.iterdir()):
        lines = sample_lines(path.name)
        res = ing.feed("mx1", "", lines, received_at=10.0)
        assert res.count == len(lines) and res.first_seq == total
        total += len(lines)
    assert len(store) == total
    assert store.raw(0) == sample_lines("compose.log")[0].split(b"| ", 1)[1]


def test_feed_columns_in_store() -> None:
    store = LogStore()
    ing = Ingestor(store)
    ing.feed("mx1", "worker", sample_lines("v3_worker.log"), received_at=10.0)
    ev = store.event(11)
    assert (
        ev.level is Level.ERROR and ev.fmt is LineFormat.V3 and ev.host == "mx1" and ev.component == "worker"
    )
    cont = store.event(12)
    assert cont.fmt is LineFormat.CONTINUATION and cont.ts == ev.ts and cont.level is Level.ERROR
    assert store.event(len(store) - 1).fmt is LineFormat.RAW


def test_split_record_across_batches_and_flush() -> None:
    lines = sample_lines("v3_worker.log")
    ing = Ingestor(LogStore())
    first = ing.feed("mx1", "worker", lines[:12], received_at=0.0)
    assert not any(isinstance(f, F.DeliveryFailed) for f in first.facts)  # waits for the next line
    second = ing.feed("mx1", "worker", lines[12:14], received_at=0.0)
    failed = [f for f in second.facts if isinstance(f, F.DeliveryFailed)]
    assert len(failed) == 1 and failed[0].log_id == "B8QP4ZNE" and failed[0].seq == 11
    # a record that is never continued comes out at flush, without tags
    ing.feed("mx2", "worker", lines[11:12], received_at=0.0)
    flushed = ing.flush()
    assert len(flushed) == 1 and flushed[0].host == "mx2" and flushed[0].log_id is None  # type: ignore[attr-defined]
    assert ing.flush() == []


def test_streams_are_independent() -> None:
    lines = sample_lines("v3_worker.log")
    ing = Ingestor(LogStore())
    ing.feed("mx1", "worker", lines[11:12], received_at=0.0)
    other = ing.feed("mx2", "worker", [b" log_id=ZZZZZZZZ component=worker"], received_at=0.0)
    assert other.facts == []  # mx2's continuation does not complete mx1's record
    done = ing.feed("mx1", "worker", lines[12:13], received_at=0.0)
    assert [f.log_id for f in done.facts] == ["B8QP4ZNE"]  # type: ignore[attr-defined]


def test_long_lines_truncated_with_marker_and_newlines_flattened() -> None:
    store = LogStore()
    ing = Ingestor(store)
    big = b"2026-04-28 09:14:02 +0000 INFO   " + b"x" * (MAX_LINE_BYTES + 10)
    res = ing.feed("mx1", "smtp", [big, b"a\nb", bytearray(b"c")], received_at=0.0)  # type: ignore[list-item]
    assert res.count == 3 and len(store) == 3
    assert len(store.raw(0)) == MAX_LINE_BYTES and store.raw(0).endswith(TRUNCATION_MARKER)
    assert store.event(0).level is Level.INFO
    assert store.raw(1) == b"a b" and store.raw(2) == b"c"


def test_empty_batch() -> None:
    store = LogStore()
    res = Ingestor(store).feed("mx1", "smtp", [], received_at=0.0)
    assert (res.first_seq, res.count, res.facts) == (0, 0, [])


def test_splitter_to_ingest_end_to_end() -> None:
    data = b"".join((SAMPLES / n).read_bytes() for n in ("v3_smtp.log", "v3_worker.log"))
    sp = LineSplitter()
    store = LogStore()
    ing = Ingestor(store)
    facts: list[F.Fact] = []
    for i in range(0, len(data), 777):
        facts += ing.feed("mx1", "", sp.feed(data[i : i + 777]), received_at=0.0).facts
    tail = sp.flush()
    assert tail is None
    facts += ing.flush()
    assert len(store) == data.count(b"\n")
    assert sum(isinstance(f, F.DeliveryFailed) for f in facts) == 2


def test_fact_extraction_can_be_turned_off() -> None:
    res = Ingestor(LogStore(), facts=False).feed("mx1", "smtp", sample_lines("v3_smtp.log"), received_at=0.0)
    assert res.facts == [] and res.count == len(sample_lines("v3_smtp.log"))


def test_bench_quick_prints_json_last() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "ingest.py"), "--quick", "--repeat", "1"],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["bench"] == "ingest" and result["unit"] == "lines/s"
    for key in (
        "value",
        "ceiling",
        "ratio",
        "target",
        "every_fact_value",
        "every_fact_ratio",
        "scan_only_value_idealised",
        "store_bytes_per_line",
        "peak_rss_mb",
        "added_rss_ratio",
    ):
        assert result[key] > 0
    assert result["facts"] > 1000
    assert result["lines"] >= 20_000
