"""Exports: JSON Lines and CSV text from events, spreadsheet-formula safe."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

from postaltop.core.events import Level, LineFormat, LogEvent, decode_line
from postaltop.core.export import CSV_HEADER, iso_time, to_csv, to_jsonl

TS = datetime(2026, 4, 28, 9, 14, 2, 250_000, tzinfo=UTC).timestamp()


def ev(text: str, seq: int = 1, host: str = "mx1", component: str = "smtp", ts: float = TS) -> LogEvent:
    return LogEvent(
        seq=seq, ts=ts, level=Level.WARN, host=host, component=component, fmt=LineFormat.V3, text=text
    )


def test_iso_time_is_utc_with_milliseconds() -> None:
    assert iso_time(TS) == "2026-04-28T09:14:02.250Z"
    assert iso_time(0.0) == "1970-01-01T00:00:00.000Z"
    assert iso_time(float("nan")) == "" and iso_time(1e300) == ""


def test_jsonl_one_object_per_line_with_escapes() -> None:
    hostile = decode_line(b"\x1b]0;owned\x07 [bold]x[/bold] \x00 \xff\xfe caf\xc3\xa9")
    rows = list(to_jsonl([ev("plain"), ev(hostile, seq=2, host="", component="")]))
    assert len(rows) == 2 and all(r.endswith("\n") and r.count("\n") == 1 for r in rows)
    first, second = (json.loads(r) for r in rows)
    assert first == {
        "seq": 1, "time": "2026-04-28T09:14:02.250Z", "ts": TS, "host": "mx1", "component": "smtp",
        "level": "warn", "format": "v3", "text": "plain",
    }  # fmt: skip
    assert second["text"] == hostile and "\\xff\\xfe" in second["text"] and "café" in second["text"]
    assert "\x1b" not in rows[1] and "\x00" not in rows[1] and "\x07" not in rows[1]


def test_jsonl_is_lazy_and_handles_odd_times() -> None:
    rows = to_jsonl(ev(str(k), seq=k) for k in range(3))
    assert json.loads(next(rows))["seq"] == 0
    odd = json.loads(next(to_jsonl([ev("x", ts=float("inf"))])))
    assert odd["ts"] is None and odd["time"] == ""


def test_csv_header_rows_and_round_trip() -> None:
    events = [ev('say "hi", then go'), ev("line with\ttab and ; semicolon", host="mx,2")]
    text = "".join(to_csv(events))
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == CSV_HEADER == ("time", "host", "component", "level", "format", "text")
    assert rows[1] == ["2026-04-28T09:14:02.250Z", "mx1", "smtp", "warn", "v3", 'say "hi", then go']
    assert rows[2][1] == "mx,2" and rows[2][5] == "line with\ttab and ; semicolon"
    assert len(rows) == 3


def test_csv_neutralises_formulas() -> None:
    risky = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tlead", "\rlead"]
    rows = list(csv.reader(io.StringIO("".join(to_csv(ev(t, host=t) for t in risky)))))
    for row, original in zip(rows[1:], risky, strict=True):
        assert row[5] == "'" + original and row[1] == "'" + original
    safe = list(csv.reader(io.StringIO("".join(to_csv([ev("a=b -c")])))))
    assert safe[1][5] == "a=b -c"


def test_csv_survives_nul_and_newlines() -> None:
    rows = list(csv.reader(io.StringIO("".join(to_csv([ev("a\x00b\nc\r\nd")])))))
    assert rows[1][5] == "a\\x00b\nc\r\nd"
    assert next(iter(to_csv([]))).startswith("time,host")
