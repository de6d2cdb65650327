"""Multi-line records: Postal's split Net::SMTP error and Ruby's crash reports are one record."""

from __future__ import annotations

from postaltop.core.events import Level, LineFormat
from postaltop.core.ingest import Ingestor
from postaltop.core.logstore import LogStore
from postaltop.core.parsing import parse_fields
from postaltop.core.records import record_at
from postaltop.core.sim.lines import THREAD_CRASH
from tests.core import sample_lines

SMTP_ERROR = (
    b"2026-04-28T09:20:44.000000001Z 2026-04-28 09:20:44 +0000 ERROR  "
    b"Net::SMTPServerBusy: 421 4.7.0 Try again later, closing connection."
)
SMTP_TAGS = (
    b"2026-04-28T09:20:44.000000002Z  log_id=B8QP4ZNE component=worker thread=work1 "
    b"original_queued_message=88530 queued_message=88530"
)
NEXT = (
    b"2026-04-28T09:20:44.000000003Z 2026-04-28 09:20:44 +0000 INFO   message requeued for trying later "
    b"component=worker thread=work1 queued_message=88530"
)
OTHER_HOST = b"2026-04-28 09:20:44 +0000 INFO   Listening on :::25 component=smtp-server"


def store_with(groups: list[tuple[str, str, list[bytes]]]) -> LogStore:
    store = LogStore()
    ingestor = Ingestor(store)
    for host, component, lines in groups:
        ingestor.feed(host, component, lines, received_at=0.0)
    return store


def test_split_net_smtp_error_is_one_record_with_its_tags_over_docker_stamps() -> None:
    store = store_with([("mx1", "worker", [SMTP_ERROR, SMTP_TAGS, NEXT])])
    assert store.event(1).fmt is LineFormat.CONTINUATION  # scanned as the second physical line
    for seq in (0, 1):  # opened from either physical line
        record = record_at(store, seq)
        assert record.seqs == (0, 1)
        assert record.head.level is Level.ERROR
        tags = {k: v for part in record.parts for k, v in parse_fields(part.text).tags.items()}
        assert tags["log_id"] == "B8QP4ZNE" and tags["queued_message"] == "88530"
        assert "Net::SMTPServerBusy: 421" in parse_fields(record.head.text).message
    assert record_at(store, 2).seqs == (2,)  # the next record stands alone


def test_parts_are_found_across_lines_of_other_streams_merged_between() -> None:
    store = store_with(
        [
            ("mx1", "worker", [SMTP_ERROR]),
            ("mx2", "smtp", [OTHER_HOST, OTHER_HOST]),
            ("mx1", "smtp", [OTHER_HOST]),  # same host, other component: another stream
            ("mx1", "worker", [SMTP_TAGS, NEXT]),
        ]
    )
    assert record_at(store, 4).seqs == (0, 4)
    assert record_at(store, 0).seqs == (0, 4)
    assert record_at(store, 1).seqs == (1,)


def test_sample_worker_log_split_record() -> None:
    lines = sample_lines("v3_worker.log")
    store = store_with([("mx1", "worker", lines)])
    assert record_at(store, 11).seqs == (11, 12)
    assert record_at(store, 12).seqs == (11, 12)


def test_ruby_thread_crash_report_with_backtrace_is_one_record() -> None:
    crash = [line.encode() for line in THREAD_CRASH]
    store = store_with([("mx1", "worker", [NEXT, *crash, NEXT])])
    whole = tuple(range(1, 1 + len(crash)))
    for seq in whole:
        assert record_at(store, seq).seqs == whole, seq
    record = record_at(store, 3)
    assert record.text.startswith("#<Thread:") and record.text.count("\n") == len(crash) - 1
    assert "Mysql2::Error::ConnectionError" in record.text
    assert record_at(store, 0).seqs == (0,) and record_at(store, len(crash) + 1).seqs == (len(crash) + 1,)


def test_a_lone_indented_raw_line_after_a_record_joins_it_but_plain_raw_lines_do_not() -> None:
    store = store_with(
        [("mx1", "web", [NEXT, b"Puma starting in single mode...", b"* Listening on 0.0.0.0:5000"])]
    )
    assert record_at(store, 1).seqs == (1,)
    assert record_at(store, 2).seqs == (2,)
