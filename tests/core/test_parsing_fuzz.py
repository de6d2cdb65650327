"""Hostile and random input: nothing raises, no line is lost, display text is always clean."""

from __future__ import annotations

import unicodedata

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postaltop.core.events import decode_line
from postaltop.core.facts import extract_fact
from postaltop.core.ingest import Ingestor
from postaltop.core.linesplit import MAX_LINE_BYTES, LineSplitter
from postaltop.core.logstore import LogStore
from postaltop.core.parsing import parse_fields
from postaltop.core.sanitize import display_text
from tests.core import SAMPLES, sample_lines

FAST = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

REAL = [line for p in sorted(SAMPLES.iterdir()) for line in sample_lines(p.name)]
PIECES = [
    b"2026-04-28 09:14:02 +0000 ",
    b"INFO   ",
    b"ERROR  ",
    b"\x1b[34m=> 235 Granted for a/b\x1b[0m",
    b"\x1b[3",
    b"\x1b]0;x\x07",
    b" trace_id=ABC",
    b" component=smtp-server",
    b" log_id=",
    b" queued_message=12",
    b"Net::SMTPServerBusy: ",
    b"Authentication failure for ",
    b"[smtp_server.1:12] [2023-11-02T10:00:07.412] DEBUG -- : ",
    b"smtp-1  | ",
    b"2026-04-28T09:14:02.123456789Z ",
    b"\x00",
    b"\xff\xfe",
    "\u202e".encode(),
    b"\t",
    b"\r",
    b" ",
]

# a line: a real sample, cut anywhere and spliced with hostile pieces and random bytes
line_st = st.one_of(
    st.binary(max_size=300),
    st.builds(lambda line, cut: line[:cut], st.sampled_from(REAL), st.integers(0, 400)),
    st.lists(st.one_of(st.sampled_from(PIECES), st.binary(max_size=20)), max_size=12).map(b"".join),
)
batch_st = st.lists(line_st, max_size=40)


def _is_clean(text: str) -> bool:
    return all(
        ord(c) >= 0x20
        and not 0x7F <= ord(c) <= 0x9F
        and unicodedata.category(c) not in ("Cf", "Cs", "Zl", "Zp")
        for c in text
    )


@FAST
@given(st.lists(batch_st, min_size=1, max_size=4), st.sampled_from(["", "smtp", "worker"]))
def test_ingest_never_raises_or_loses_lines(batches: list[list[bytes]], component: str) -> None:
    store = LogStore(capacity=100_000, block_lines=16)
    ing = Ingestor(store)
    total = 0
    for batch in batches:
        res = ing.feed("h", component, batch, received_at=100.0)
        assert res.count == len(batch)
        assert res.first_seq == total
        total += len(batch)
        for fact in res.facts:
            assert 0 <= fact.seq < res.first_seq + res.count
    ing.flush()
    assert len(store) == total
    for seq in range(total):
        ev = store.event(seq)
        assert ev.ts == ev.ts  # not NaN
        assert "\n" not in ev.text
        assert _is_clean(display_text(ev.text))


@FAST
@given(line_st)
def test_parse_fields_and_extract_never_raise(line: bytes) -> None:
    text = decode_line(line)
    parsed = parse_fields(text)
    assert isinstance(parsed.message, str)
    assert _is_clean(display_text(parsed.message))
    for ms in (0, 33, len(line)):
        for fmt in (0, 1, 2, 3):
            extract_fact(line, ms, ts=0.0, host="h", seq=0, fmt=fmt)


@FAST
@given(st.text(max_size=200))
def test_display_text_is_always_clean(text: str) -> None:
    assert _is_clean(display_text(text))


@FAST
@given(st.text(alphabet=st.characters(codec=None), max_size=200))
def test_display_text_any_code_point(text: str) -> None:
    out = display_text(text)
    assert _is_clean(out)
    if text.isprintable():
        assert out == text


@FAST
@given(
    st.lists(line_st.filter(lambda x: b"\n" not in x), max_size=30), st.lists(st.integers(1, 64), min_size=1)
)
def test_linesplit_reassembles_any_chunking(lines: list[bytes], sizes: list[int]) -> None:
    data = b"\n".join(lines) + (b"\n" if lines else b"")
    sp = LineSplitter()
    out: list[bytes] = []
    pos = 0
    i = 0
    while pos < len(data):
        step = sizes[i % len(sizes)]
        out += sp.feed(data[pos : pos + step])
        pos += step
        i += 1
    tail = sp.flush()
    if tail is not None:
        out.append(tail)
    expected = [x[:-1] if x.endswith(b"\r") else x for x in lines]
    assert out == expected


@settings(max_examples=5, deadline=None)
@given(st.integers(0, 3), st.binary(min_size=1, max_size=3).filter(lambda b: b"\n" not in b))
def test_megabyte_lines_are_kept_truncated(extra_kib: int, filler: bytes) -> None:
    line = (filler * (MAX_LINE_BYTES // len(filler) + 1024 * extra_kib + 1))[
        : MAX_LINE_BYTES + extra_kib * 1024 + 1
    ]
    sp = LineSplitter()
    got = sp.feed(line[: len(line) // 2]) + sp.feed(line[len(line) // 2 :] + b"\nok\n")
    assert len(got) == 2 and len(got[0]) == MAX_LINE_BYTES and got[1] == b"ok"
    store = LogStore()
    res = Ingestor(store).feed("h", "", [line, b"ok"], received_at=0.0)
    assert res.count == 2 and len(store.raw(0)) == MAX_LINE_BYTES
