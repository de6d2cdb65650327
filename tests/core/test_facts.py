from __future__ import annotations

import dataclasses

import pytest

from postaltop.core import facts as F
from postaltop.core.events import LineFormat
from postaltop.core.ingest import Ingestor
from postaltop.core.logstore import LogStore
from tests.core import sample_lines


def _facts(name: str, component: str = "") -> list[F.Fact]:
    ing = Ingestor(LogStore())
    out = ing.feed("mx1", component, sample_lines(name), received_at=5.0).facts
    return out + ing.flush()


def _one(facts: list[F.Fact], kind: type[F.Fact]) -> list[F.Fact]:
    return [f for f in facts if type(f) is kind]


def test_smtp_facts() -> None:
    facts = _facts("v3_smtp.log")
    granted = _one(facts, F.AuthGranted)
    assert granted == [F.AuthGranted(1777367647.0, "mx1", 5, "acme", "transactional", "Q7RZK2PD")]
    fails = _one(facts, F.AuthFailure)
    assert [(f.ip, f.detail, f.trace_id) for f in fails] == [  # type: ignore[attr-defined]
        ("198.51.100.23", None, "M3XW8HTA"),
        ("198.51.100.24", "no server found matching acme/nope", "K2XW8HTA"),
        ("198.51.100.25", "invalid credential", "K3XW8HTA"),
    ]
    assert [f.seq for f in _one(facts, F.InvalidCredential)] == [12]
    assert [f.credential_id for f in _one(facts, F.CredentialAuthenticated)] == [17]  # type: ignore[attr-defined]
    assert [f.trace_id for f in _one(facts, F.SuspendedRejection)] == ["V9KD1LQE"]  # type: ignore[attr-defined]
    rejected = _one(facts, F.SmtpRejected)
    assert [(f.code, f.reply) for f in rejected] == [  # type: ignore[attr-defined]
        (530, "Authentication required"),
        (552, "Message too large (maximum size 14MB)"),
    ]
    assert [f.seq for f in facts] == sorted(f.seq for f in facts)


def test_worker_delivery_facts() -> None:
    facts = _facts("v3_worker.log", "worker")
    lat = _one(facts, F.QueueLatency)[0]
    assert lat.seconds == pytest.approx(2.411345958709717) and lat.queued_message == 88412  # type: ignore[attr-defined]
    sending = _one(facts, F.SendingMessage)[0]
    assert (sending.server_id, sending.message_id, sending.rcpt, sending.log_id) == (  # type: ignore[attr-defined]
        3,
        1204577,
        "jane.doe@example.net",
        "H2KD9WQ3",
    )
    acc = _one(facts, F.DeliveryAccepted)[0]
    assert (acc.mx_ip, acc.mx_port, acc.mx_host, acc.rcpt, acc.log_id, acc.queued_message) == (  # type: ignore[attr-defined]
        "192.0.2.10",
        25,
        "mx1.example.net",
        "jane.doe@example.net",
        "H2KD9WQ3",
        88412,
    )


def test_split_soft_fail_gets_tags_from_continuation_and_hard_fail() -> None:
    facts = _facts("v3_worker.log", "worker")
    soft, hard = _one(facts, F.DeliveryFailed)
    assert soft == F.DeliveryFailed(
        1777368044.0, "mx1", 11, False, "Net::SMTPServerBusy",
        "421 4.7.0 Try again later, closing connection.", "B8QP4ZNE", 88530,
    )  # fmt: skip
    assert hard.permanent and hard.error_class == "Net::SMTPFatalError" and hard.log_id == "C8QP4ZNE"  # type: ignore[attr-defined]
    conn = _one(facts, F.ConnectFailed)[0]
    assert conn.endpoint == "192.0.2.99:25" and conn.error.startswith("Errno::ECONNREFUSED")  # type: ignore[attr-defined]


def test_holds_requeues_suppression_and_errors() -> None:
    facts = _facts("v3_worker.log", "worker")
    holds = _one(facts, F.MessageHeld)
    assert [(h.reason, h.send_limit, h.queued_message) for h in holds] == [  # type: ignore[attr-defined]
        (F.HoldReason.SEND_LIMIT, 500, 88544),
        (F.HoldReason.CREDENTIAL, None, 88560),
        (F.HoldReason.SUPPRESSION, None, 88561),
        (F.HoldReason.DEVELOPMENT, None, 88562),
        (F.HoldReason.SUSPENDED, None, 88563),
    ]
    req = _one(facts, F.MessageRequeued)
    assert req[0].retry_after == 1777368434.0 and req[0].retry_after_text == "2026-04-28 09:27:14 UTC"  # type: ignore[attr-defined]
    assert req[1].retry_after == 1777368442.0 and req[1].queued_message == 88569  # type: ignore[attr-defined]
    hard = _one(facts, F.MessageHardFailed)
    assert [(h.reason, h.spam_score, h.threshold) for h in hard] == [  # type: ignore[attr-defined]
        ("max_attempts", None, None),
        ("spam", 31.5, 20.0),
    ]
    assert [(s.rcpt, s.hard_fails) for s in _one(facts, F.SuppressionAdded)] == [("jane.doe@example.net", 2)]  # type: ignore[attr-defined]
    assert [s.rcpt for s in _one(facts, F.SuppressionRemoved)] == ["jane.doe@example.net"]  # type: ignore[attr-defined]
    err = _one(facts, F.InternalError)[0]
    assert err.error_class == "ActiveRecord::Deadlocked" and err.queued_message == 88569  # type: ignore[attr-defined]
    hooks = _one(facts, F.WebhookResult)
    assert [(h.status_code, h.ok, h.webhook_request) for h in hooks] == [(200, True, 991), (500, False, 992)]  # type: ignore[attr-defined]


def test_web_request_facts() -> None:
    facts = _facts("v3_web.log", "web")
    reqs = _one(facts, F.WebRequest)
    assert [(r.method, r.path, r.status, r.ip) for r in reqs] == [  # type: ignore[attr-defined]
        ("GET", "/org/acme/servers/transactional", 200, "192.0.2.77"),
        ("POST", "/login", 500, "192.0.2.78"),
    ]
    assert reqs[0].view_runtime == 41.2 and reqs[0].db_runtime == 6.9  # type: ignore[attr-defined]


def test_v2_facts() -> None:
    facts = _facts("v2.log")
    assert [type(f).__name__ for f in facts] == [
        "AuthFailure",
        "InvalidCredential",
        "MessageHeld",
        "MessageRequeued",
    ]
    assert facts[0].ip == "198.51.100.9"  # type: ignore[attr-defined]
    assert facts[2].reason is F.HoldReason.DEVELOPMENT and facts[2].queued_message == 88412  # type: ignore[attr-defined]


def test_prefixed_sources_give_the_same_facts() -> None:
    for name in ("compose.log", "journald.log", "docker_timestamps.log", "highlighted.log"):
        kinds = {type(f) for f in _facts(name)}
        assert F.AuthFailure in kinds or F.QueueLatency in kinds, name
    compose = _facts("compose.log")
    assert [type(f) for f in compose] == [F.AuthFailure, F.QueueLatency, F.WebRequest]
    assert compose[2].ts == pytest.approx(1777367695.25)


def test_client_text_cannot_forge_tags() -> None:
    facts = _facts("hostile.log")
    assert facts == []  # EHLO/RCPT lines carry no fact; nothing raised on escapes/NUL/invalid UTF-8


def test_facts_are_frozen() -> None:
    fact = _facts("v3_smtp.log")[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        fact.seq = 5  # type: ignore[misc]


@pytest.mark.parametrize(
    "line",
    [
        b"",
        b"2026-04-28 09:14:02 +0000 INFO   Sending message x::y to",
        b"2026-04-28 09:14:02 +0000 INFO   Accepted by",
        b"2026-04-28 09:14:02 +0000 DEBUG  \x1b[34m=> 235",
        b"2026-04-28 09:14:02 +0000 INFO   queue latency is 1e999999s",
        b"2026-04-28 09:14:02 +0000 INFO   GET / (99999999999999999999)",
        b"2026-04-28 09:14:02 +0000 INFO   message requeued for trying later retry_after=9999-99-99 99:99:99",
        b"2026-04-28 09:14:02 +0000 INFO   server send limit has been exceeded, holding send_limit=9"
        + b"9" * 30,
    ],
)
def test_extract_never_raises_on_malformed_lines(line: bytes) -> None:
    for fmt in (LineFormat.V3, LineFormat.V2, LineFormat.RAW):
        F.extract_fact(line, 33, ts=0.0, host="h", seq=0, fmt=fmt)
        F.extract_fact(line, 0, ts=0.0, host="h", seq=0, fmt=fmt)
    F.extract_batch([line], [0], [0.0], [4], "h", 0)
