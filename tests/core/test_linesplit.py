from __future__ import annotations

from postaltop.core.linesplit import MAX_LINE_BYTES, TRUNCATION_MARKER, LineSplitter, truncate_line


def test_lines_across_chunks_and_crlf() -> None:
    sp = LineSplitter()
    assert sp.feed(b"abc") == []
    assert sp.pending == 3
    assert sp.feed(b"def\r\nsecond\nthi") == [b"abcdef", b"second"]
    assert sp.feed(b"rd\r") == []
    assert sp.feed(b"\n") == [b"third"]
    assert sp.flush() is None
    assert sp.lines == 3


def test_flush_returns_unterminated_line() -> None:
    sp = LineSplitter()
    assert sp.feed(b"one\ntwo") == [b"one"]
    assert sp.flush() == b"two"
    assert sp.flush() is None


def test_empty_lines_are_kept() -> None:
    sp = LineSplitter()
    assert sp.feed(b"\n\na\n") == [b"", b"", b"a"]


def test_long_line_in_one_chunk_is_truncated_with_marker() -> None:
    sp = LineSplitter()
    big = b"x" * (MAX_LINE_BYTES + 5000)
    out = sp.feed(big + b"\nnext\n")
    assert len(out) == 2
    assert len(out[0]) == MAX_LINE_BYTES
    assert out[0].endswith(TRUNCATION_MARKER)
    assert out[1] == b"next"
    assert sp.truncated == 1


def test_long_line_over_many_chunks_is_cut_once_and_rest_discarded() -> None:
    sp = LineSplitter()
    chunk = b"y" * (256 * 1024)
    got: list[bytes] = []
    for _ in range(6):  # 1.5 MiB without a newline
        got += sp.feed(chunk)
    assert len(got) == 1 and got[0].endswith(TRUNCATION_MARKER) and len(got[0]) == MAX_LINE_BYTES
    got += sp.feed(b"yyy\nafter\n")
    assert got[1:] == [b"after"]
    assert sp.truncated == 1
    assert sp.discarded_bytes > 256 * 1024


def test_truncate_line_leaves_short_lines_alone() -> None:
    assert truncate_line(b"short") == b"short"
    assert len(truncate_line(b"z" * (MAX_LINE_BYTES + 1))) == MAX_LINE_BYTES


def test_accepts_bytearray_and_memoryview() -> None:
    sp = LineSplitter()
    assert sp.feed(bytearray(b"a\nb")) == [b"a"]
    assert sp.feed(memoryview(b"c\n")) == [b"bc"]
