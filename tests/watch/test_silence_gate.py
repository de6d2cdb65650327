"""The silence gate against a real Alertmanager's silences, and the incident store across a restart."""

from __future__ import annotations

import asyncio
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from pydantic import ValidationError

from postaltop.config.sections.notify import AlertmanagerChannelConfig
from postaltop.core.notification import NotificationEvent
from postaltop.notify.channels import wall_clock_event
from postaltop.notify.content import alertmanager_payload
from postaltop.notify.dispatcher import Dispatcher
from postaltop.notify.silences import Matcher, SilenceGate, parse_silences
from postaltop.store.incidents import IncidentStore
from tests.support.promstack import binary, running_alertmanager
from tests.support.sshd import free_port
from tests.watch.events import notification_event

AM_CONFIG = "route:\n  receiver: none\nreceivers:\n  - name: none\n"


def event(
    key: str, *, severity: str = "critical", status: str = "firing", at: float = 1000.0
) -> NotificationEvent:
    return notification_event(
        key, status=status, severity=severity, at=at, started_at=at,
        metric="outgoing", observed="900", expected="40", why="z-score 9",
    )  # fmt: skip


def test_gate_matches_amtool_silences_with_alertmanager_semantics(tmp_path: Path) -> None:
    amtool = binary("amtool")
    with running_alertmanager(tmp_path / "am", AM_CONFIG) as am:

        def add(*matchers: str) -> str:
            out = subprocess.run(
                [amtool, f"--alertmanager.url={am.url}", "silence", "add", *matchers,
                 "--author=ops", "--comment=test", "--duration=1h"],
                capture_output=True, text=True, timeout=60, check=True,
            )  # fmt: skip
            return out.stdout.strip()

        exact = add('incident="zscore|credential:1"')
        regex = add('incident=~"ratio:.*"', 'severity!="critical"')
        expired = add('incident="zscore|global"')
        subprocess.run(
            [amtool, f"--alertmanager.url={am.url}", "silence", "expire", expired], check=True, timeout=60
        )
        gate = SilenceGate(am.url, cache_seconds=0.0)

        async def check() -> dict[str, str | None]:
            keys = {
                "exact": event("zscore|credential:1"),
                "other credential": event("zscore|credential:10"),
                "regex warning": event("ratio:bounce|global", severity="warning"),
                "regex critical": event("ratio:bounce|global"),
                "regex is anchored": event("x-ratio:bounce"),
                "expired": event("zscore|global"),
            }
            out: dict[str, str | None] = {}
            for name, ev in keys.items():
                silence = await gate.silenced_by(ev)
                out[name] = silence.id if silence else None
            return out

        found = asyncio.run(check())
    assert found == {
        "exact": exact,
        "other credential": None,
        "regex warning": regex,
        "regex critical": None,
        "regex is anchored": None,
        "expired": None,
    }
    assert gate.last_error is None


def test_gate_fails_open_when_alertmanager_is_unreachable() -> None:
    gate = SilenceGate(f"http://127.0.0.1:{free_port()}", timeout=1.0, cache_seconds=0.0)
    assert asyncio.run(gate.silenced_by(event("zscore|credential:1"))) is None
    assert gate.last_error is not None and "silences" in gate.last_error


def test_parse_silences_keeps_active_ones_and_missing_labels_are_empty() -> None:
    body = [
        {
            "id": "a",
            "status": {"state": "active"},
            "matchers": [{"name": "team", "value": "", "isRegex": False}],
        },
        {"id": "b", "status": {"state": "pending"}, "matchers": [{"name": "incident", "value": "k"}]},
        {"id": "c", "status": {"state": "active"}, "matchers": []},
    ]
    silences = parse_silences(body)
    assert [s.id for s in silences] == ["a", "c"]
    labels = alertmanager_payload(event("k"), "docs/runbook.md")[0]["labels"]
    assert silences[0].matches(labels)  # team="" matches an alert without a team label, as in Alertmanager
    assert not silences[1].matches(labels)  # no matcher: matches nothing
    assert not Matcher("incident", "(", is_regex=True).matches(labels)  # a bad regex never matches


@dataclass
class Sink:
    name: str
    refresh_interval: float | None = None
    sent: list[NotificationEvent] = field(default_factory=list)

    async def send(self, ev: NotificationEvent) -> None:
        self.sent.append(ev)


def test_restored_incident_is_not_paged_again_and_an_unconfirmed_one_resolves(tmp_path: Path) -> None:
    now = [1000.0]
    path = tmp_path / "incidents.sqlite3"

    async def run_first() -> list[NotificationEvent]:
        sink = Sink("pagerduty")
        first = Dispatcher([sink], store=IncidentStore("w1", path), clock=lambda: now[0])
        runner = asyncio.create_task(first.run(tick_every=0.01))
        first.submit(event("a"))
        first.submit(event("b"))
        first.submit(event("c"))
        first.submit(event("c", status="resolved"))
        await asyncio.sleep(0.1)
        runner.cancel()
        return sink.sent

    sent = asyncio.run(run_first())
    assert [(e.key, e.status) for e in sent] == [
        ("a", "firing"),
        ("b", "firing"),
        ("c", "firing"),
        ("c", "resolved"),
    ]
    assert IncidentStore("other instance", path).load() == []  # another watch does not adopt them

    async def run_second() -> tuple[Dispatcher, list[NotificationEvent]]:
        sink = Sink("pagerduty")
        second = Dispatcher(
            [sink], store=IncidentStore("w1", path), clock=lambda: now[0], restore_grace=600.0
        )
        assert set(second.open) == {"a", "b"} and second.stats.restored == 2
        runner = asyncio.create_task(second.run(tick_every=0.01))
        assert not second.submit(event("a"))  # the detectors confirm "a": no second page
        now[0] += 300.0
        await asyncio.sleep(0.05)
        assert sink.sent == []  # "b" is still within the grace period
        now[0] += 301.0
        await asyncio.sleep(0.05)
        runner.cancel()
        return second, sink.sent

    second, sent = asyncio.run(run_second())
    assert [(e.key, e.status) for e in sent] == [("b", "resolved")]
    assert set(second.open) == {"a"}
    assert [e.key for e, _ in IncidentStore("w1", path).load()] == ["a"]


def test_alertmanager_times_never_run_ahead_of_the_wall_clock() -> None:
    ahead = event("k", at=5000.0)  # a demo at 600x stamps incidents in the future
    fixed = wall_clock_event(ahead, now=1000.0)
    assert fixed.started_at == 1000.0 and fixed.at == 1000.0
    resolved = wall_clock_event(event("k", status="resolved", at=5000.0), now=1000.0)
    body = alertmanager_payload(resolved, "docs/runbook.md")[0]
    assert body["startsAt"] == body["endsAt"] == "1970-01-01T00:16:40.000Z"  # resolved now, not later
    live = event("k", at=900.0)
    assert wall_clock_event(live, now=1000.0) is live  # live times are in the past: unchanged


def test_instance_labels_tell_two_watches_apart_and_silences_can_match_them(tmp_path: Path) -> None:
    amtool = binary("amtool")
    labels = alertmanager_payload(event("zscore|global"), "r", labels={"group": "eu", "incident": "x"})[0][
        "labels"
    ]
    assert labels["group"] == "eu" and labels["incident"] == "zscore|global"  # own labels always win
    with pytest.raises(ValidationError):
        AlertmanagerChannelConfig(url="http://am:9093", labels={"bad-name": "x"})
    with running_alertmanager(tmp_path / "am", AM_CONFIG) as am:
        subprocess.run(
            [amtool, f"--alertmanager.url={am.url}", "silence", "add", 'group="eu"', "--author=ops",
             "--comment=eu maintenance", "--duration=1h"],
            capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        eu = SilenceGate(am.url, cache_seconds=0.0, labels={"group": "eu"})
        us = SilenceGate(am.url, cache_seconds=0.0, labels={"group": "us"})
        assert asyncio.run(eu.silenced_by(event("zscore|global"))) is not None
        assert asyncio.run(us.silenced_by(event("zscore|global"))) is None
