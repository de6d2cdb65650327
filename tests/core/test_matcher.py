"""The block scanners agree with a slow per-line reference, and hostile regexes return promptly."""

from __future__ import annotations

import functools
import re
import time
from array import array

import pytest
import re2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postaltop.core.events import Level
from postaltop.core.logstore import LogStore
from postaltop.core.matcher import Matcher
from postaltop.core.query import (
    AnyOf,
    LevelIn,
    NameIs,
    Phrase,
    Query,
    Regex,
    Tag,
    Term,
    TimeRange,
    Word,
    parse_query,
    re2_options,
)

NOW = 10_000.0


# -- the slow reference: one line at a time, straight from the language's definition ----------


@functools.cache
def _ref_regex(pattern: str, ignore_case: bool) -> re2._Regexp:
    return re2.compile(pattern, re2_options(ignore_case=ignore_case))


def _ref_term(term: Term, store: LogStore, seq: int) -> bool:
    raw = store.raw(seq)
    block, i = store.locate(seq)
    if isinstance(term, Word):
        found = term.text.encode().lower() in raw.lower()
    elif isinstance(term, Phrase):
        found = term.text.encode() in raw
    elif isinstance(term, Regex):
        found = _ref_regex(term.pattern, term.ignore_case).search(raw) is not None
    elif isinstance(term, LevelIn):
        found = block.level[i] in {int(lv) for lv in term.levels}
    elif isinstance(term, NameIs):
        interner = store.hosts if term.field == "host" else store.components
        name = interner.name((block.host if term.field == "host" else block.component)[i]).lower()
        found = any(
            name == n or (n.endswith("*") and name != "" and name.startswith(n[:-1])) for n in term.names
        )
    elif isinstance(term, TimeRange):
        ts = block.ts[i]
        found = (term.since is None or ts >= term.since) and (term.until is None or ts <= term.until)
    elif isinstance(term, Tag):
        value = b"" if term.value is None else term.value.encode()
        after = b"" if term.value is None or term.prefix else rb"(?=[ \t\r\x1b]|$)"
        pattern = rb"(?:^|[ \t])" + re.escape(term.key.encode() + b"=" + value) + after
        found = re.search(pattern, raw) is not None
    elif isinstance(term, AnyOf):
        found = any(_ref_term(t, store, seq) for t in term.terms)
    else:  # pragma: no cover - the strategies below only build the kinds above
        raise AssertionError(term)
    return found != term.negated


def reference(query: Query, store: LogStore) -> list[int]:
    return [
        seq
        for seq in range(store.start_seq, store.end_seq)
        if all(_ref_term(t, store, seq) for t in query.terms)
    ]


def scan_all(query: Query | None, store: LogStore) -> list[int]:
    out: array[int] = array("q")
    Matcher(query).scan(store, store.start_seq, store.end_seq, out)
    return out.tolist()


# -- strategies ------------------------------------------------------------------------------

TOKENS = [
    "Sending", "message", "worker", "WORKER", "Worker", "Auth", "failure", "trace_id=AB12",
    "trace_id=AB123", "xtrace_id=AB12", "thread=work0", "thread=work1", "550", "5xx", "421",
    "\x1b[32m<=", "\x1b[0m", "é", "É", "a", "aa", "aaa!", "ü", "x=1", "key=v", "key=", "Net::SMTPError",
    "status=500", "b", "ab", "ba",
]  # fmt: skip
HOSTS = ["", "mx1", "MX2", "web1"]
COMPONENTS = ["", "smtp", "worker", "web"]


_WORDS = st.lists(st.sampled_from([*TOKENS, "\t", ""]), max_size=7).map(lambda ws: " ".join(ws).encode())
_BINARY = st.binary(max_size=30).map(lambda b: b.replace(b"\n", b" "))
lines = st.one_of(_WORDS, _WORDS, _WORDS, _BINARY)


ROWS = st.tuples(
    lines, st.integers(0, 3600), st.integers(0, 5), st.integers(0, len(HOSTS) - 1), st.integers(0, 3)
)


@st.composite
def stores(draw: st.DrawFn) -> LogStore:
    store = LogStore(capacity=draw(st.integers(16, 120)), block_lines=16)
    for name in HOSTS[1:]:
        store.hosts.id(name)
    for name in COMPONENTS[1:]:
        store.components.id(name)
    for batch in draw(st.lists(st.lists(ROWS, min_size=1, max_size=40), min_size=1, max_size=5)):
        texts, ages, level, host, comp = (list(col) for col in zip(*batch, strict=True))
        ts = [NOW - age for age in ages]
        if draw(st.booleans()):
            store.append_batch(texts, ts, level, host, comp, [1] * len(texts))
        else:
            for row in zip(texts, ts, level, host, comp, strict=True):
                store.append(*row)
    return store


SIMPLE_TERMS = st.sampled_from(
    [
        "worker", "WORKER", "work", "auth", "é", "É", "ü", "a", "aa!", "sending message", '"Sending"',
        '"aaa!"', '"x=1"', '"\\x1b"', r"/5\d\d/", r"/5\d\d/i", "/^Sending/", "/a+$/", "/(a|b)c/",
        r"/\bwork\d\b/", "/[A-Z]{2}[0-9]/", "/é/", "/./", r"/x=\d/", r"/a\sb/", "/(?i)sending/",
        "level>=warn", "level:error,debug", "level<info", "level:unknown", "host:mx1", "host:MX2,web1",
        "host:nohost", "host:mx*", "host:*", "component:smtp", "component:w*", "component:gone",
        "since:10m", "until:20m", "since:1h", "trace_id:AB12", "trace_id:AB1*", "tag:thread",
        "tag:thread=work0", "key:v", "key=v", "status=500", "Net::SMTPError", "x:1",
    ]
)  # fmt: skip


@st.composite
def query_texts(draw: st.DrawFn) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 3))):
        term = draw(SIMPLE_TERMS)
        if draw(st.integers(0, 3)) == 0:
            term = "-" + term
        if draw(st.integers(0, 4)) == 0:
            term = f"{term} OR {draw(SIMPLE_TERMS)}"
        parts.append(term)
    return " ".join(parts)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(store=stores(), text=query_texts())
def test_matcher_agrees_with_per_line_reference(store: LogStore, text: str) -> None:
    query = parse_query(text, now=NOW)
    expected = reference(query, store)
    assert scan_all(query, store) == expected
    matcher = Matcher(query)
    assert [s for s in range(store.start_seq, store.end_seq) if matcher.matches(store, s)] == expected


@settings(max_examples=60, deadline=None)
@given(store=stores(), text=query_texts(), data=st.data())
def test_partial_ranges_agree_with_full_scan(store: LogStore, text: str, data: st.DataObject) -> None:
    query = parse_query(text, now=NOW)
    full = scan_all(query, store)
    cut = data.draw(st.integers(store.start_seq, store.end_seq))
    out: array[int] = array("q")
    matcher = Matcher(query)
    matcher.scan(store, store.start_seq, cut, out)
    matcher.scan(store, cut, store.end_seq, out)
    assert out.tolist() == full


# -- examples --------------------------------------------------------------------------------


def _store(texts: list[str], **cols: list[int]) -> LogStore:
    store = LogStore(capacity=10_000, block_lines=16)
    for k, text in enumerate(texts):
        store.append(text.encode(), NOW - len(texts) + k, cols.get("level", [2] * len(texts))[k], 0, 0)
    return store


def _hits(text: str, store: LogStore) -> list[int]:
    return scan_all(parse_query(text, now=NOW), store)


def test_empty_query_matches_everything() -> None:
    store = _store(["a", "b", "c"])
    assert scan_all(None, store) == [0, 1, 2]
    assert _hits("", store) == [0, 1, 2]


POSTAL = [
    "INFO   Sending message 3::1204577 to jane.doe@example.net log_id=H2KD9WQ3 component=worker "
    "thread=work0 original_queued_message=88412 queued_message=88412",
    "INFO   Accepted by 192.0.2.10:25 (mx1.example.net) for Jane.Doe@Example.NET log_id=H2KD9WQ3",
    "DEBUG  \x1b[32m<= RCPT TO:<jane.doe@example.net>\x1b[0m trace_id=Q7RZK2PD component=smtp-server",
    "DEBUG  Added external address 'jane.doe@example.net' trace_id=Q7RZK2PD component=smtp-server",
    "DEBUG  \x1b[32m<= MAIL FROM:<billing@acme.example>\x1b[0m trace_id=Q7RZK2PD component=smtp-server",
    "INFO   event=send_email transaction=5f0c message_id=x from=ops@acme.example to=jane.doe@example.net",
    "INFO   jane.doe@example.net is mentioned but not as a recipient",
    "INFO   credential wants us to hold messages, holding component=worker queued_message=88560",
    "ERROR  Net::SMTPServerBusy: 421 4.7.0 Try again later log_id=B8QP4ZNE component=worker",
    "INFO   message requeued for trying later retry_after=2026-04-28 09:27:14 UTC component=worker",
    "ERROR  Net::SMTPFatalError: 550 5.1.1 User unknown log_id=B8QP4ZNF",
    "INFO   message has reached maximum number of attempts, hard failing component=worker",
    "DEBUG  Added bounce on server 3 trace_id=V9KD1LQE",
    "DEBUG  \x1b[34m=> 220 mx.example ESMTP Postal/Q7RZK2PD\x1b[0m",
    "INFO   GET /org/acme (500) event=request status=500 view_runtime=41.2",
    "INFO   queue latency is 88412.5s component=worker",
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("to:jane.doe@example.net", [0, 1, 2, 3, 5]),
        ("to:JANE.DOE@EXAMPLE.NET", [0, 1, 2, 3, 5]),
        ("to:@example.net", [0, 1, 2, 3, 5]),
        ("-to:jane.doe@example.net jane.doe", [6]),
        ("from:billing@acme.example", [4]),
        ("from:ops@acme.example", [5]),
        ("from:@acme.example", [4, 5]),
        ("msgid:3::1204577", [0]),
        ("msgid:1204577", [0]),
        ("msgid:88412", [0]),
        ("msgid:H2KD9WQ3", [0, 1]),
        ("msgid:Q7RZK2PD", [2, 3, 4, 13]),
        ("msgid:88560", [7]),
        ("status:held", [7]),
        ("status:sent", [1]),
        ("status:softfail", [8, 9]),
        ("status:delayed", [8, 9]),
        ("status:hardfail", [10, 11]),
        ("status:bounced", [12]),
        ("status:500", [14]),
        ("trace_id:Q7RZK2PD", [2, 3, 4]),
        ("tag:log_id", [0, 1, 8, 10]),
        ("tag:log_id=B8QP4Z*", [8, 10]),
        ("tag:component=smtp-server", [2, 3, 4]),
        ("component=worker", [0, 7, 8, 9, 11, 15]),
        ("retry_after:2026-04-28*", [9]),
        ('"Net::SMTP"', [8, 10]),
        ("net::smtp", [8, 10]),
        (r"/5\d\d /", [0, 10, 14]),
        ("/^INFO/ -/holding|hard/ latency", [15]),
        ("status:held OR status:bounced", [7, 12]),
    ],
)
def test_postal_fields(text: str, expected: list[int]) -> None:
    store = _store(POSTAL)
    assert _hits(text, store) == expected


def test_tag_value_must_be_a_whole_tag() -> None:
    store = _store(
        ["a trace_id=ABC b", "trace_id=ABCD", "xtrace_id=ABC", "trace_id=ABC\x1b[0m", "trace_id=ABC"]
    )
    assert _hits("trace_id:ABC", store) == [0, 3, 4]
    assert _hits("trace_id:AB*", store) == [0, 1, 3, 4]


def test_regex_never_spans_lines_and_anchors_per_line() -> None:
    store = _store(["xxa", "bxx", "a b", "ab"])
    assert _hits(r"/a\sb/", store) == [2]
    assert _hits(r"/a[^z]b/", store) == [2]
    assert _hits("/^b/", store) == [1]
    assert _hits("/a$/", store) == [0]
    assert _hits("/^/", store) == [0, 1, 2, 3]
    assert _hits("/$/", store) == [0, 1, 2, 3]


def test_host_filter_for_a_name_never_seen_then_seen() -> None:
    store = LogStore(capacity=100, block_lines=16)
    store.append(b"first", NOW, Level.INFO, store.hosts.id("mx1"))
    matcher = Matcher(parse_query("host:mx9", now=NOW))
    out: array[int] = array("q")
    assert matcher.scan(store, 0, store.end_seq, out) == 0
    store.append(b"second", NOW, Level.INFO, store.hosts.id("MX9"))
    assert matcher.scan(store, 1, store.end_seq, out) == 1
    assert out.tolist() == [1]
    assert matcher.matches(store, 1) and not matcher.matches(store, 0)


def test_many_hosts_beyond_one_byte_ids() -> None:
    store = LogStore(capacity=2000, block_lines=64)
    ids = [store.hosts.id(f"h{k}") for k in range(700)]
    for k in range(1400):
        store.append(b"x", NOW, Level.INFO, ids[k % 700])
    hits = _hits("host:h3,h260,h515", store)
    assert hits == sorted(s for s in range(1400) if s % 700 in (3, 260, 515))
    assert len(_hits("-host:h3,h260,h515", store)) == 1400 - 6


def test_level_and_time_columns() -> None:
    store = _store(["a", "b", "c", "d"], level=[1, 3, 4, 0])
    assert _hits("level>=warn", store) == [1, 2]
    assert _hits("level<=info", store) == [0]
    assert _hits("-level>=warn", store) == [0, 3]
    # ts are NOW-4 .. NOW-1
    assert _hits("since:2s", store) == [2, 3]
    assert _hits("until:3s", store) == [0, 1]
    assert _hits("since:10s until:2s", store) == [0, 1, 2]


def test_invalid_utf8_and_nul_bytes_are_searchable() -> None:
    store = LogStore(capacity=100, block_lines=16)
    for raw in (b"\xff\xfe worker \x00", b"\x00\x00", b"caf\xc3\xa9 \xc3"):
        store.append(raw, NOW)
    assert _hits("worker", store) == [0]
    assert _hits("café", store) == [2]
    assert _hits("/caf./", store) == [2]
    assert _hits('"\x00"', store) == [0, 1]


CATASTROPHIC = ["/(a+)+$/", "/(a|aa)+$/", "/(a*)*b/", "/(x+x+)+y/", "/(.*a){20}/", "/^(a|a?)+$/i"]


@pytest.mark.parametrize("text", CATASTROPHIC)
def test_catastrophic_regex_returns_promptly(text: str) -> None:
    store = LogStore(capacity=1000, block_lines=64)
    for k in range(200):
        store.append(b"a" * (2000 + k) + b"!", NOW)
    store.append(b"x" * 30_000, NOW)
    store.append(b"a" * 1_000_000 + b"!", NOW)  # one 1 MB line
    t0 = time.perf_counter()
    scan_all(parse_query(text, now=NOW), store)
    assert time.perf_counter() - t0 < 1.0


def test_matching_rows_of_a_large_dense_store_stay_linear() -> None:
    lines_ = [b"a worker line %d" % k if k % 3 else b"other %d" % k for k in range(50_000)]
    store = LogStore(capacity=100_000)
    n = len(lines_)
    store.append_batch(lines_, [NOW] * n, [2] * n, [0] * n, [0] * n, [1] * n)
    t0 = time.perf_counter()
    hits = _hits("WORKER", store)
    assert len(hits) == n - len(range(0, n, 3))
    assert time.perf_counter() - t0 < 2.0


def test_case_insensitive_words_switch_strategy_between_dense_and_sparse_blocks() -> None:
    texts = []
    for k in range(2_000):
        dense = (k // 256) % 2 == 0  # alternate dense and sparse stretches of blocks
        word = ["Accepted", "ACCEPTED", "accepted", "aCcEpTeD"][k % 4]
        texts.append(f"{k} {word if dense or k % 97 == 0 else 'other'} tail")
    store = _store(texts)
    query = parse_query("accepted", now=NOW)
    assert scan_all(query, store) == reference(query, store)
    assert len(scan_all(query, store)) > 1_000


@given(st.lists(st.booleans(), min_size=1, max_size=300), st.integers(min_value=0, max_value=10**9))
def test_emit_appends_exactly_the_set_lines_in_order(flags: list[bool], first: int) -> None:
    from postaltop.core import bytescan
    from postaltop.core.matcher import _emit

    mask = bytes(flags)
    for vector in (False, True):  # the numpy path and the pure one
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(bytescan, "loaded", lambda vector=vector: vector and bytescan.AVAILABLE)
            out = array("q", [-1])
            _emit(out, mask, first, len(mask))
            assert out.tolist() == [-1] + [first + i for i, f in enumerate(flags) if f]
            everything = array("q")
            _emit(everything, None, first, len(mask))
            assert everything.tolist() == list(range(first, first + len(mask)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    gaps=st.lists(st.integers(min_value=0, max_value=70), min_size=1, max_size=120),
    fillers=st.lists(st.sampled_from(["", "x", "unque", "queue un", "a" * 300]), min_size=1, max_size=5),
    spelling=st.sampled_from(["unqueue", "UNQUEUE", "UnQueue"]),
)
def test_dense_folded_words_found_near_and_far_from_the_previous_hit(
    gaps: list[int], fillers: list[str], spelling: str
) -> None:
    import postaltop.core.matcher_text as matcher

    calls: list[int] = []
    original = matcher._mark_exact

    def counted(*args: object) -> None:
        calls.append(1)
        original(*args)  # type: ignore[arg-type]

    texts = [f"{k} dense {spelling}" for k in range(40)]  # a dense first block: later blocks use find
    for g, gap in enumerate(gaps):
        texts.extend(f"{len(texts)} {fillers[(g + j) % len(fillers)]}" for j in range(gap))
        texts.append(f"{len(texts)} hit {spelling} {'unqueue' if g % 3 == 0 else ''}")
    store = LogStore(capacity=100_000, block_lines=64)
    n = len(texts)
    store.append_batch([t.encode() for t in texts], [NOW] * n, [2] * n, [0] * n, [0] * n, [1] * n)
    query = parse_query("unqueue", now=NOW)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(matcher, "_VECTOR", False)  # the per-hit path over lower-cased copies (no numpy)
        patch.setattr(matcher, "_mark_exact", counted)
        found = scan_all(query, store)
    assert found == reference(query, store)
    if any(
        " hit " in t for t in texts[64:128]
    ):  # a hit in the block after the dense one: its copy was searched
        assert calls


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    texts=st.lists(
        st.sampled_from(
            ["unqueue", "UNQUEUE", "unQueue", "unque", "queue un", "xunqueuex", "caf\u00e9", "CAF\u00c9",
             "q", "QQ", "", "a" * 90, "Ab ab", "zz\u00ff", "1:2", "unqueueunqueue"]
        ),
        min_size=1, max_size=200,
    ),
    word=st.sampled_from(["unqueue", "Ab", "q", "caf\u00e9", "1:2", "z\u00ff", "zz", "UnQuEuE"]),
    block_lines=st.sampled_from([16, 64]),
    bounds=st.tuples(st.integers(min_value=0, max_value=250), st.integers(min_value=0, max_value=250)),
)  # fmt: skip
def test_vectorised_folded_search_agrees_with_the_per_line_reference(
    texts: list[str], word: str, block_lines: int, bounds: tuple[int, int]
) -> None:
    """Dense case-insensitive words searched as whole blocks (numpy) find exactly the reference lines,
    in sealed and open blocks, over any sub-range of seqs, with no lower-cased copy kept."""
    from postaltop.core import bytescan

    if not bytescan.AVAILABLE:
        pytest.skip("numpy is not installed")
    import postaltop.core.matcher_text as matcher
    from postaltop.core.classscan import ClassScan

    calls: list[int] = []
    original = ClassScan.lines

    def counted(self: ClassScan, *args: object) -> object:
        calls.append(1)
        return original(self, *args)  # type: ignore[arg-type]

    lines = [f"{k} {t} {texts[(k * 7) % len(texts)]}".encode() for k, t in enumerate(texts * 3)]
    store = LogStore(capacity=100_000, block_lines=block_lines)
    n = len(lines)
    store.append_batch(lines, [NOW] * n, [2] * n, [0] * n, [0] * n, [1] * n)
    lo, hi = min(bounds), max(bounds)
    query = parse_query(word, now=NOW)
    folded = word.encode().lower()
    expected = [s for s in range(lo, min(hi, n)) if folded in store.raw(s).lower()]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(matcher, "_VECTOR", True)
        patch.setattr(ClassScan, "lines", counted)
        out: array[int] = array("q")
        Matcher(query).scan(store, lo, hi, out)
    assert out.tolist() == expected
    assert store.lowered_bytes == 0  # nothing copied
    tested = min(hi, n) - lo
    if folded != folded.upper() and len(expected) * 4 > max(tested, 1) and tested > block_lines:
        assert calls  # dense enough that a block after the first went through the vectorised search


def test_vectorised_search_folds_only_ascii_letters() -> None:
    from postaltop.core import bytescan
    from postaltop.core.classpattern import folded_literal
    from postaltop.core.classscan import ClassScan

    if not bytescan.AVAILABLE:
        pytest.skip("numpy is not installed")

    def found(buf: bytes, word: bytes) -> list[int]:
        return list(ClassScan(folded_literal(word)).lines(buf, array("I", [0]), 0, 1).tolist())

    buf = b"A@ a` [{ \xc3\x89\xc3\xa9\n"  # '@'|0x20 is '`' and '['|0x20 is '{': no letters, no folding
    assert found(buf, b"a") == [0]
    assert found(buf, b"`") == [0]
    assert found(buf, b"@ ") == [0]
    assert found(b"x@y\n", b"`") == []
    assert found(b"\xc3\x89\n", b"\xc3\xa9") == []
    assert found(b"KELVIN \xe2\x84\xaa\n", b"k") == [0]  # K, not the Kelvin sign (bytes.lower's rule)
    assert found(b"\xe2\x84\xaa\n", b"k") == []


def test_vectorised_search_survives_appends_to_the_open_block_between_scans() -> None:
    """The open block is searched through a copy: the ingest side can keep growing it (a view held by
    numpy would make the bytearray refuse to resize)."""
    from postaltop.core import bytescan

    if not bytescan.AVAILABLE:
        pytest.skip("numpy is not installed")
    store = LogStore(capacity=10_000, block_lines=4096)
    store.append_batch([b"unqueue %d" % k for k in range(100)], [NOW] * 100, [2] * 100, [0] * 100, [0] * 100,
                       [1] * 100)  # fmt: skip
    block = store.blocks[-1]
    assert block.sealed is None
    from postaltop.core.classpattern import folded_literal
    from postaltop.core.classscan import ClassScan

    found = ClassScan(folded_literal(b"unqueue")).lines(block.buffer, block.offsets, 0, len(block))
    store.append(b"UNQUEUE after", NOW)  # would raise BufferError if ``found`` viewed the bytearray
    assert found.tolist() == list(range(100))
    out: array[int] = array("q")
    Matcher(parse_query("unqueue", now=NOW)).scan(store, 0, store.end_seq, out)
    assert out.tolist() == list(range(101))


@pytest.mark.parametrize("vector", [False, True])
@pytest.mark.parametrize(
    "pattern", [r"/5\d\d /", "/$/", "/^/", "/x*/", r"/\d+$/", "/^ab/i", "/ b /", r"/(a|b)\s/"]
)
def test_regex_hits_map_to_lines_with_and_without_numpy(
    pattern: str, vector: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Collecting RE2 hits and mapping them to lines in one numpy call finds what the bisect path does."""
    import postaltop.core.matcher_text as matcher
    from postaltop.core import bytescan

    if vector and not bytescan.AVAILABLE:
        pytest.skip("numpy is not installed")
    monkeypatch.setattr(matcher, "_VECTOR", vector)
    texts = [
        ["", "ab 500 x", "AB b 1", "550 551 ", "a\tz", "zz 599", "b b b 7"][k % 7] + f" {k}"
        for k in range(70)
    ]
    texts[-1] = ""  # an empty last line in the open block
    store = _store(texts)
    query = parse_query(pattern, now=NOW)
    assert scan_all(query, store) == reference(query, store)
    out: array[int] = array("q")
    Matcher(query).scan(store, 5, 37, out)  # a sub-range starting and ending inside blocks
    assert out.tolist() == [s for s in reference(query, store) if 5 <= s < 37]
