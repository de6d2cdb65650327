"""Fixed-width class regexes searched with numpy find exactly the lines RE2 finds."""

from __future__ import annotations

import functools
from array import array

import pytest
import re2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postaltop.core import bytescan
from postaltop.core.classpattern import fixed_pattern
from postaltop.core.logstore import LogStore
from postaltop.core.matcher import Matcher
from postaltop.core.matcher_base import _Ctx
from postaltop.core.query import parse_query, re2_options

NOW = 10_000.0

needs_numpy = pytest.mark.skipif(not bytescan.AVAILABLE, reason="numpy is not installed")


@pytest.mark.parametrize(
    ("pattern", "ignore_case", "width", "start", "end"),
    [
        (r"5\d\d ", False, 4, False, False),
        (r"^[45]\d\d$", False, 3, True, True),
        (r"log_id=[A-Z]{3}", False, 10, False, False),
        (r"(?i)accepted by \d", False, 13, False, False),
        ("AcCePtEd", True, 8, False, False),
        ("caf\u00e9", False, 5, False, False),  # the accented letter: two UTF-8 bytes
        (r"\x41\t\.[\]a-c-]", False, 4, False, False),
        (r"a\$", False, 2, False, False),
    ],
)
def test_fixed_patterns_are_recognised(
    pattern: str, ignore_case: bool, width: int, start: bool, end: bool
) -> None:
    fixed = fixed_pattern(pattern, ignore_case)
    assert fixed is not None
    assert (len(fixed.classes), fixed.at_start, fixed.at_end) == (width, start, end)


def test_classes_hold_what_re2_matches() -> None:
    fixed = fixed_pattern(r"\s[\w-]x")
    assert fixed is not None
    space, word, x = fixed.classes
    assert space == frozenset(b"\t\f\r ")  # RE2's \s without \n (never_nl)
    assert ord("-") in word and ord("_") in word and 0x80 not in word
    assert x == frozenset(b"x")
    folded = fixed_pattern("x[a-c]", ignore_case=True)
    assert folded is not None
    assert folded.classes == (frozenset(b"xX"), frozenset(b"abcABC"))


@pytest.mark.parametrize(
    ("pattern", "ignore_case"),
    [
        ("a.b", False),  # one code point: 1-4 bytes
        ("[^a]", False),  # likewise
        ("a+", False),
        ("a{2,3}", False),
        ("(ab)", False),
        ("a|b", False),
        (r"\bword", False),
        (r"\D", False),
        ("k", True),  # RE2 folds k to the Kelvin sign, s to the long s
        ("(?i)S", False),
        (r"(?i)\w", False),
        ("[a-z]", True),
        ("\u00e9", True),  # RE2 folds non-ASCII letters
        ("[\u00e9]", False),
        (r"\xe9", False),
        ("^", False),
        ("$", False),
        ("a^b", False),
        (r"\n", False),
        ("[\\n]", False),
        ("a(?i)b", False),
        ("(?i:ab)", False),
        ("[[:digit:]]", False),
        ("a{0}", False),
        ("[]a]", False),
    ],
)
def test_other_patterns_stay_with_re2(pattern: str, ignore_case: bool) -> None:
    assert fixed_pattern(pattern, ignore_case) is None


@pytest.mark.parametrize(
    "pattern",
    ["[", "\\", "a{", "[z-a]", "a{2", "(?", "(?z)a", "\\x", "\\xZZ", "[a-", "{3}", "]", "a{99999999999}",
     "\x1b[31m", "[\\d-z]"],
)  # fmt: skip
def test_malformed_or_hostile_patterns_are_left_to_re2_without_raising(pattern: str) -> None:
    """A typed pattern is untrusted: the recogniser never raises, it hands anything odd to RE2 (which
    reports a malformed one to the operator). Text that is not UTF-8 never gets here: the query parser
    refuses it (``test_query``)."""
    assert fixed_pattern(pattern, False) is None
    assert fixed_pattern(pattern, True) is None


# -- the fast path against RE2, line by line ------------------------------------------------------

_LITERALS = [
    *"05aAbBkKsSzZ_-. :=<>/",
    "\t",
    "\r",
    "\x0b",
    "\x0c",
    "\u00e9",
    "\u00c9",
    "\u00ff",
    "\u212a",
    "\u03a9",
]
_ESCAPES = [r"\d", r"\w", r"\s", r"\.", r"\-", r"\t", r"\r", r"\x41", r"\x7a", r"\$", r"\^"]
_CLASSES = ["[45]", "[a-c]", "[A-Za-z]", r"[\d.]", "[ _-]", "[0-9a-f]", r"[\s=]", "[Zz]", "[xX]", "[<>]"]


@st.composite
def fixed_texts(draw: st.DrawFn) -> tuple[str, bool]:
    """A pattern of the fixed-width form (or close to it), and whether case is ignored."""
    atoms = draw(
        st.lists(
            st.one_of(
                st.sampled_from(_LITERALS).map(lambda c: "\\" + c if c in ".$^-/" else c),
                st.sampled_from(_ESCAPES),
                st.sampled_from(_CLASSES),
            ),
            min_size=1,
            max_size=5,
        )
    )
    body = "".join(
        a + (f"{{{draw(st.integers(1, 3))}}}" if draw(st.integers(0, 5)) == 0 else "") for a in atoms
    )
    prefix = draw(st.sampled_from(["", "", "^", "(?i)", "(?i)^", "(?m)"]))
    suffix = draw(st.sampled_from(["", "", "$"]))
    return prefix + body + suffix, draw(st.booleans())


_PIECES = [
    "500 ", "550", "5", "4", "2", "  ", "a", "A", "b", "B", "k", "K", "s", "S", "\u212a", "\u017f", "z", "Z",
    "_", "-", ".", ":", "=", "<", ">", "/", "\t", "\r", "\x0b", "\x0c", "\x00", "\u00e9", "\u00c9", "\u00ff",
    "\u03a9", "x", "X", "$", "^",
]  # fmt: skip
_TEXT_LINE = st.lists(st.sampled_from(_PIECES), max_size=12).map(lambda ps: "".join(ps).encode())
_RAW_LINE = st.binary(max_size=16).map(lambda b: b.replace(b"\n", b"\xc3"))
_LINES = st.lists(st.one_of(_TEXT_LINE, _TEXT_LINE, _RAW_LINE), min_size=1, max_size=90)


@functools.cache
def _re2(pattern: str, ignore_case: bool) -> re2._Regexp:
    return re2.compile(pattern, re2_options(ignore_case=ignore_case))


def _expected(pattern: str, ignore_case: bool, lines: list[bytes]) -> list[int]:
    rx = _re2(pattern, ignore_case)
    return [k for k, line in enumerate(lines) if rx.search(line) is not None]


def _fill(lines: list[bytes], block_lines: int, sealed_as_batch: bool) -> LogStore:
    store = LogStore(capacity=100_000, block_lines=block_lines)
    n = len(lines)
    if sealed_as_batch:
        store.append_batch(lines, [NOW] * n, [2] * n, [0] * n, [0] * n, [1] * n)
    else:
        for line in lines:
            store.append(line, NOW, 2, 0, 0)
    return store


@needs_numpy
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    spec=fixed_texts(),
    lines=_LINES,
    block_lines=st.sampled_from([16, 64]),
    batch=st.booleans(),
    bounds=st.tuples(st.integers(0, 100), st.integers(0, 100)),
    candidate_ns=st.sampled_from([0.0, 20.0, 1e9]),
    data=st.data(),
)
def test_fast_path_finds_exactly_the_lines_re2_finds(
    spec: tuple[str, bool],
    lines: list[bytes],
    block_lines: int,
    batch: bool,
    bounds: tuple[int, int],
    candidate_ns: float,
    data: st.DataObject,
) -> None:
    """Whatever the first test pass (one element, or two ANDed: forced by the cost of a candidate);
    lines holding a match and near misses (one byte changed) are mixed in."""
    import postaltop.core.matcher_text as matcher_text
    from postaltop.core import classscan

    pattern, ignore_case = spec
    try:
        _re2(pattern, ignore_case)
    except re2.error:
        return  # not a valid filter regex
    fixed = fixed_pattern(pattern, ignore_case)
    if fixed is not None:
        lines = list(lines)
        for _ in range(data.draw(st.integers(0, 12))):
            witness = bytearray(data.draw(st.sampled_from(sorted(members))) for members in fixed.classes)
            if data.draw(st.booleans()):
                witness[data.draw(st.integers(0, len(witness) - 1))] = data.draw(
                    st.sampled_from(b"5 aZk-\xc3\xff")
                )
            where = data.draw(st.integers(0, len(lines)))
            lines.insert(
                where,
                data.draw(st.sampled_from([b"", b"x ", b"\t5"]))
                + bytes(witness)
                + data.draw(st.sampled_from([b"", b" y", b"0"])),
            )
    query = parse_query(f"/{pattern}/{'i' if ignore_case else ''}", now=NOW)
    store = _fill(lines, block_lines, batch)
    lo, hi = min(bounds), max(bounds)
    expected = [k for k in _expected(pattern, ignore_case, lines) if lo <= k < hi]
    matcher = Matcher(query)
    out: array[int] = array("q")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(classscan, "_CANDIDATE_NS", candidate_ns)
        patch.setattr(matcher_text, "_DENSE_VECTOR", 0.0)  # every block with numpy, however sparse
        bytescan.numpy()  # loaded: the first block too
        matcher.scan(store, lo, hi, out)
    assert out.tolist() == expected
    assert [k for k in range(lo, min(hi, len(lines))) if matcher.matches(store, k)] == expected


@needs_numpy
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=fixed_texts(), lines=_LINES, data=st.data())
def test_candidate_rows_are_tested_like_whole_blocks(
    spec: tuple[str, bool], lines: list[bytes], data: st.DataObject
) -> None:
    """``select`` (rows left by other terms) agrees with RE2, row by row and over the rows' span."""
    import postaltop.core.matcher_text as matcher_text

    pattern, ignore_case = spec
    try:
        _re2(pattern, ignore_case)
    except re2.error:
        return
    store = _fill(lines, data.draw(st.sampled_from([16, 128])), True)  # block 0 sealed or open
    block, _ = store.locate(0)
    rows = sorted(data.draw(st.sets(st.integers(0, len(block) - 1), min_size=1)))
    scanner = matcher_text._Regex(pattern, ignore_case)
    expected = [k for k in _expected(pattern, ignore_case, lines) if k in rows]
    ctx = _Ctx(store, block, 0, len(block), {})
    with pytest.MonkeyPatch.context() as patch:
        for threshold in (1, 10_000):  # the vectorised span, then RE2 row by row
            patch.setattr(matcher_text, "_VECTOR_ROWS", threshold)
            assert scanner.select(ctx, rows) == expected


@needs_numpy
def test_fast_path_is_taken_for_fixed_patterns_only(monkeypatch: pytest.MonkeyPatch) -> None:
    from postaltop.core import classscan

    calls: list[int] = []
    original = classscan.ClassScan.lines

    def counted(self: classscan.ClassScan, *args: object) -> object:
        calls.append(1)
        return original(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(classscan.ClassScan, "lines", counted)
    lines = [f"{k} GET / ({[200, 500, 404][k % 3]}) status".encode() for k in range(100)]
    store = _fill(lines, 16, True)
    assert _scan(r"/\(5\d\d\)/", store) == [k for k in range(100) if k % 3 == 1]
    assert calls
    calls.clear()
    assert _scan(r"/\(5\d+\)/", store) == [k for k in range(100) if k % 3 == 1]
    assert not calls


def _scan(text: str, store: LogStore) -> list[int]:
    out: array[int] = array("q")
    Matcher(parse_query(text, now=NOW)).scan(store, store.start_seq, store.end_seq, out)
    return out.tolist()


@needs_numpy
def test_open_block_can_grow_after_a_search() -> None:
    """The open block is searched through a copy: appending to it afterwards still works."""
    store = LogStore(capacity=1000, block_lines=64)
    for k in range(10):
        store.append(f"{k} 503 x".encode(), NOW, 2, 0, 0)
    assert _scan(r"/50\d /", store) == list(range(10))
    for k in range(10, 40):
        store.append(f"{k} 200 x".encode() * 3, NOW, 2, 0, 0)
    assert _scan(r"/50\d /", store) == list(range(10))


@pytest.mark.parametrize("pattern", ["k", "K", "s", "S", "xk", "[a-z]", r"\w", "[k-m]", "ok$", "^s"])
def test_letters_re2_folds_beyond_ascii_are_found_as_re2_finds_them(pattern: str) -> None:
    """Case-insensitively RE2 matches k to the Kelvin sign and s to the long s: such patterns stay on RE2."""
    lines = ["\u212a", "\u017f", "x\u212a", "o\u212a", "\u017fo", "plain", "K", "s"]
    raw = [line.encode() for line in lines] * 3
    store = _fill(raw, 16, True)
    assert _scan(f"/{pattern}/i", store) == _expected(pattern, True, raw)
    assert _scan(f"/(?i){pattern}/", store) == _expected("(?i)" + pattern, False, raw)


@needs_numpy
@pytest.mark.parametrize("candidate_ns", [0.0, 20.0, 1e9])
@pytest.mark.parametrize(
    "pattern", [r"5\d\d ", r"[45]\d\d ", r"log_id=[A-Z]{3}", r"\(5\d\d\)", r"^2026", r"\d\d$"]
)
def test_one_or_two_elements_in_the_first_pass_find_the_same_lines(
    pattern: str, candidate_ns: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Log-like lines, where digits are everywhere: the first pass over one element or two ANDed."""
    import postaltop.core.matcher_text as matcher_text
    from postaltop.core import classscan

    monkeypatch.setattr(classscan, "_CANDIDATE_NS", candidate_ns)
    monkeypatch.setattr(matcher_text, "_DENSE_VECTOR", 0.0)
    bytescan.numpy()
    codes = [200, 500, 404, 550, 5, 45]
    raw = [
        f"2026-04-28 12:{k % 60:02d}:{k % 59:02d} GET / ({codes[k % 6]}) {codes[k % 5]} "
        f"log_id=A{'BQ'[k % 2]}{'XY5'[k % 3]}{k % 9} {k * 7919 % 100000}".encode()
        for k in range(3000)
    ]
    store = _fill(raw, 1024, True)
    found = _scan(f"/{pattern}/", store)
    assert found == _expected(pattern, False, raw)
    assert found  # the pattern occurs


@needs_numpy
@pytest.mark.parametrize("candidate_ns", [0.0, 1e9])
@pytest.mark.parametrize("word", ["unqueue", "ACCEPTED", "k", "caf\u00e9", "q_u", "d-5"])
def test_case_insensitive_words_find_what_lower_finds(
    word: str, candidate_ns: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Words go through the same scan (ASCII letters folded, other bytes exact, as ``bytes.lower``),
    with the first pass over one byte or two."""
    import postaltop.core.matcher_text as matcher_text
    from postaltop.core import classscan

    monkeypatch.setattr(classscan, "_CANDIDATE_NS", candidate_ns)
    monkeypatch.setattr(matcher_text, "_DENSE_VECTOR", 0.0)
    bytescan.numpy()
    pieces = ["unqueue", "UNQUEUE", "unQueue", "queued", "Accepted", "acceptedX", "\u212a", "K", "CAF\u00c9",
              "caf\u00e9", "Q_U", "q_u", "d-5", "D-5", "d--5", " "]  # fmt: skip
    raw = [" ".join(pieces[(k * j) % len(pieces)] for j in range(k % 5)).encode() for k in range(2500)]
    store = _fill(raw, 1024, True)
    found = _scan(word, store)
    assert found == [k for k, line in enumerate(raw) if word.encode().lower() in line.lower()]
    assert found
