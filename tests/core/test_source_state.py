"""Source conditions from the state texts, and the events their changes deserve."""

from __future__ import annotations

import io
import json

import pytest

from postaltop.core.source_state import change_event, condition
from postaltop.watch.jsonlog import JsonLogger
from postaltop.watch.source_events import SourceStateLog


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("connected ·3", "up"),
        ("connected · 5 servers", "up"),
        ("connecting via mx1 → 127.0.0.1:3306", "connecting"),
        ("error: not answering (12 s): postal@db:3306 (direct) accepts but does not reply", "stalled"),
        ("error: unreachable (connection refused): postal@db:3306 (direct): (2003) …", "refused"),
        ("reconnecting (attempt 2, next in 1s): connection refused", "refused"),
        ("error: auth failed: postal@db:3306 (direct): (1045) Access denied", "auth-failed"),
        ("auth failed", "auth-failed"),
        ("HOST KEY CHANGED SHA256:x (refused)", "host-key"),
        ("degraded: message database missing (1)", "missing-message-db"),
        ("degraded: 2 problem(s)", "degraded"),
        ("error: unreachable: postal@db:3306 (direct): (2005) Unknown host", "down"),
        ("reconnecting (attempt 1, next in 0s): not answering (timed out)", "stalled"),
    ],
)
def test_condition_of_each_state_text(text: str, expected: str) -> None:
    assert condition(text) == expected


def test_change_events() -> None:
    assert change_event(None, "up") == "source_up"
    assert change_event("connecting", "up") == "source_up"
    assert change_event("up", "stalled") == "source_stalled"
    assert change_event("stalled", "refused") == "source_down"
    assert change_event("refused", "up") == "source_back"
    assert change_event("stalled", "missing-message-db") == "source_back"
    assert change_event("up", "missing-message-db") == "source_degraded"
    assert change_event("up", "up") is None
    assert change_event("up", "connecting") is None


class _Host:
    def __init__(self, state: str) -> None:
        self.state = state


def test_source_state_log_writes_one_json_event_per_change() -> None:
    out = io.StringIO()
    log = SourceStateLog(JsonLogger(out))
    hosts = {"db": _Host("connected · 2 servers"), "mx1": _Host("connected ·3")}
    assert log.observe(hosts) == 2
    assert log.observe(hosts) == 0  # no change, no event
    hosts["db"] = _Host("error: not answering (4 s): postal@db:3306 (direct) accepts but does not reply")
    assert log.observe(hosts) == 1
    hosts["db"] = _Host("connected · 2 servers")
    assert log.observe(hosts) == 1
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(e["event"], e["source"]) for e in events] == [
        ("source_up", "db"),
        ("source_up", "mx1"),
        ("source_stalled", "db"),
        ("source_back", "db"),
    ]
    assert events[2]["level"] == "warning" and events[2]["previous"] == "up"
    assert events[2]["reason"].startswith("error: not answering (4 s)")
