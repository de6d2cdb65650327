"""The filter language parser: every term kind, errors that point at the right column."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postaltop.core.events import Level
from postaltop.core.query import (
    MAX_QUERY_CHARS,
    MAX_TERMS,
    AnyOf,
    LevelIn,
    MessageRef,
    NameIs,
    Phrase,
    QueryError,
    Recipient,
    Regex,
    Sender,
    Status,
    Tag,
    Term,
    TimeRange,
    Word,
    parse_query,
)

NOW = datetime(2026, 4, 28, 12, 0, tzinfo=UTC).timestamp()


def one(text: str) -> Term:
    terms = parse_query(text, now=NOW).terms
    assert len(terms) == 1, terms
    return terms[0]


def error(text: str) -> QueryError:
    with pytest.raises(QueryError) as info:
        parse_query(text, now=NOW)
    return info.value


def test_empty_and_blank_match_everything() -> None:
    for text in ("", "   ", "\t \n"):
        query = parse_query(text, now=NOW)
        assert query.is_empty and query.terms == ()
    assert not parse_query("x", now=NOW).is_empty


def test_words_phrases_and_negation() -> None:
    assert one("Auth") == Word(text="Auth", span=(0, 4))
    assert one("-auth") == Word(text="auth", negated=True, span=(0, 5))
    assert one("-") == Word(text="-", span=(0, 1))
    assert one('"Authentication failure"') == Phrase(text="Authentication failure", span=(0, 24))
    assert one('-"a b"') == Phrase(text="a b", negated=True, span=(0, 6))
    assert one(r'"say \"hi\" \\ ok"').text == 'say "hi" \\ ok'  # type: ignore[attr-defined]
    terms = parse_query("a  b\tc", now=NOW).terms
    assert [t.text for t in terms] == ["a", "b", "c"]  # type: ignore[attr-defined]
    assert [t.span for t in terms] == [(0, 1), (3, 4), (5, 6)]


def test_regexes() -> None:
    assert one(r"/5\d\d /") == Regex(pattern=r"5\d\d ", span=(0, 8))
    assert one("/fail(ed)?/i") == Regex(pattern="fail(ed)?", ignore_case=True, span=(0, 12))
    assert one(r"-/a\/b/") == Regex(pattern=r"a\/b", negated=True, span=(0, 7))
    assert one("/(a+)+$/").pattern == "(a+)+$"  # type: ignore[attr-defined]


def test_levels() -> None:
    assert one("level:error") == LevelIn(levels=frozenset({Level.ERROR}), span=(0, 11))
    assert one("LEVEL:warning,err").levels == {Level.WARN, Level.ERROR}  # type: ignore[attr-defined]
    assert one("level>=warn").levels == {Level.WARN, Level.ERROR, Level.FATAL}  # type: ignore[attr-defined]
    assert one("level>warn").levels == {Level.ERROR, Level.FATAL}  # type: ignore[attr-defined]
    assert one("level<=info").levels == {Level.DEBUG, Level.INFO}  # type: ignore[attr-defined]
    assert one("level<info").levels == {Level.DEBUG}  # type: ignore[attr-defined]
    assert one("-level:unknown").levels == {Level.UNKNOWN}  # type: ignore[attr-defined]


def test_hosts_and_components() -> None:
    assert one("host:MX1") == NameIs(field="host", names=("mx1",), span=(0, 8))
    assert one("host:mx1,mx2").names == ("mx1", "mx2")  # type: ignore[attr-defined]
    assert one("-component:web") == NameIs(field="component", names=("web",), negated=True, span=(0, 14))
    assert one("component:w*").names == ("w*",)  # type: ignore[attr-defined]


def test_time_bounds() -> None:
    assert one("since:15m") == TimeRange(since=NOW - 900, span=(0, 9))
    assert one("until:5m") == TimeRange(until=NOW - 300, span=(0, 8))
    assert one("since:1h30m").since == NOW - 5400  # type: ignore[attr-defined]
    assert one("since:2d").since == NOW - 2 * 86400  # type: ignore[attr-defined]
    assert one("since:1.5h").since == NOW - 5400  # type: ignore[attr-defined]
    at = datetime(2026, 4, 28, 9, 14, tzinfo=UTC).timestamp()
    assert one("since:2026-04-28T09:14").since == at  # type: ignore[attr-defined]
    assert one('since:"2026-04-28 09:14"').since == at  # type: ignore[attr-defined]
    assert one("since:2026-04-28T11:14+02:00").since == at  # type: ignore[attr-defined]
    assert one("since:9:14").since == at  # type: ignore[attr-defined]
    assert one("until:09:14:30").until == at + 30  # type: ignore[attr-defined]


def test_postal_fields() -> None:
    assert one("to:jane@example.net") == Recipient(address="jane@example.net", span=(0, 19))
    assert one("from:@acme.example") == Sender(address="@acme.example", span=(0, 18))
    assert one("status:HELD") == Status(status="held", span=(0, 11))
    assert one("status:delayed") == Status(status="softfail", span=(0, 14))
    assert one("status:500") == Tag(key="status", value="500", span=(0, 10))
    assert one("msgid:3::1204577") == MessageRef(value="3::1204577", span=(0, 16))


def test_tags() -> None:
    assert one("trace_id:Q7RZK2PD") == Tag(key="trace_id", value="Q7RZK2PD", span=(0, 17))
    assert one("trace_id=Q7RZK2PD") == Tag(key="trace_id", value="Q7RZK2PD", span=(0, 17))
    assert one("log_id:H2*") == Tag(key="log_id", value="H2", prefix=True, span=(0, 10))
    assert one('cred:"main smtp"') == Tag(key="cred", value="main smtp", span=(0, 16))
    assert one("tag:thread") == Tag(key="thread", span=(0, 10))
    assert one("tag:thread=work0") == Tag(key="thread", value="work0", span=(0, 16))
    assert one("tag:host=mx1") == Tag(key="host", value="mx1", span=(0, 12))
    assert one("component=smtp-server") == Tag(key="component", value="smtp-server", span=(0, 21))


@pytest.mark.parametrize(
    "text", ["Net::SMTPServerBusy:", "http://x.example/a", "failed:", "a<b", "x>=1", "12:30"]
)
def test_things_that_look_like_fields_are_words(text: str) -> None:
    assert one(text) == Word(text=text, span=(0, len(text)))


def test_or_binds_tighter_than_and() -> None:
    terms = parse_query("x a OR -b OR /c/ y", now=NOW).terms
    assert terms[0] == Word(text="x", span=(0, 1))
    group = terms[1]
    assert isinstance(group, AnyOf) and group.span == (2, 16)
    assert group.terms == (
        Word(text="a", span=(2, 3)),
        Word(text="b", negated=True, span=(7, 9)),
        Regex(pattern="c", span=(13, 16)),
    )
    assert terms[2] == Word(text="y", span=(17, 18))
    assert one('"OR"') == Phrase(text="OR", span=(0, 4))
    assert one("or") == Word(text="or", span=(0, 2))
    assert one("ORACLE") == Word(text="ORACLE", span=(0, 6))


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ('level>=warn "Authentication', 12, "unclosed quote at column 13"),
        ("/(/", 0, "invalid regex /(/: missing )"),
        ("a /x{2,1}/", 2, "invalid regex /x{2,1}/: invalid repetition size"),
        (r"/(?<=a)b/", 0, "invalid regex"),
        (r"/\1/", 0, "invalid regex"),
        ("a /abc", 2, "unclosed regex at column 3: end it with /"),
        ("/a/b", 3, "unknown regex flag 'b' at column 4"),
        ("//", 0, "empty regex"),
        ('""', 0, "empty phrase"),
        ('"a"b', 3, "put a space after the closing quote"),
        ("level:warnx", 6, "unknown level 'warnx'; valid levels: debug, info, warn, error, fatal"),
        ("level:info,bogus", 11, "unknown level 'bogus'"),
        ("level>=", 7, "level: needs a value"),
        ("host:", 5, "host: needs a value"),
        ("host:a,,b", 5, "empty name"),
        ("host>=mx1", 0, "only level supports >="),
        ("since:yesterday", 6, "invalid time 'yesterday' for since:"),
        ("until:15", 6, "use a duration like 15m"),
        ("status:lost", 7, "unknown status 'lost'"),
        ("tag:", 4, "tag: needs a value"),
        ("tag:9x", 4, "tag: needs a tag name"),
        ("tag:k=", 6, "tag:k= needs a value"),
        ("OR a", 0, "OR at column 1 needs a term on both sides"),
        ("a OR", 2, "OR at column 3 needs a term on both sides"),
        ("a OR OR b", 2, "needs a term on both sides"),
        (r"/\Afoo/", 1, r"\A is not supported"),
        ("/foo(?-m)$/", 0, "turns off (?m)"),
    ],
)
def test_errors_point_at_the_problem(text: str, position: int, fragment: str) -> None:
    err = error(text)
    assert fragment in err.message
    assert err.position == position
    assert str(err) == err.message


def test_unicode_terms_and_positions() -> None:
    terms = parse_query('échec "über alles" host:ümlaut /ß+/ -Ж', now=NOW).terms
    assert terms[0] == Word(text="échec", span=(0, 5))
    assert terms[1] == Phrase(text="über alles", span=(6, 18))
    assert terms[2] == NameIs(field="host", names=("ümlaut",), span=(19, 30))
    assert terms[3] == Regex(pattern="ß+", span=(31, 35))
    assert terms[4] == Word(text="Ж", negated=True, span=(36, 38))
    err = error('échec "ü')
    assert err.position == 6 and "column 7" in err.message


def test_huge_input_is_refused_quickly_and_limits_hold() -> None:
    t0 = time.perf_counter()
    err = error("a" * 1_000_000)
    assert "filter too long" in err.message and err.position == MAX_QUERY_CHARS
    err = error('"' + "x" * 2_000)
    assert "unclosed quote" in err.message
    words = " ".join(["w"] * (MAX_TERMS + 1))
    assert "too many terms" in error(words).message
    longest = "/" + "a" * (MAX_QUERY_CHARS - 2) + "/"
    assert one(longest).pattern == "a" * (MAX_QUERY_CHARS - 2)  # type: ignore[attr-defined]
    assert time.perf_counter() - t0 < 1.0


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(list('ab -"/\\:=<>*,OR\tlevelhostsince1mé\x00')), max_size=60))
def test_parser_never_fails_with_anything_but_query_error(text: str) -> None:
    try:
        query = parse_query(text, now=NOW)
    except QueryError as err:
        assert 0 <= err.position <= len(text)
        assert err.message
    else:
        for term in query.terms:
            assert 0 <= term.span[0] < term.span[1] <= len(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_arbitrary_unicode_never_crashes(text: str) -> None:
    try:
        parse_query(text, now=NOW)
    except QueryError as err:
        assert 0 <= err.position <= max(len(text), MAX_QUERY_CHARS)


@pytest.mark.parametrize("text", ["\udcff", "/5\udcff/", "host:\udcff", '"a \udcff"', "ok \udcfe"])
def test_undecodable_text_is_a_query_error_not_a_crash(text: str) -> None:
    """A lone surrogate (bytes that were not UTF-8, from argv or a saved history) once reached RE2 and the
    matcher and raised UnicodeEncodeError; it is refused where it stands."""
    err = error(text)
    assert err.position == text.index(next(c for c in text if "\ud800" <= c <= "\udfff"))
    assert "not valid text" in err.message
