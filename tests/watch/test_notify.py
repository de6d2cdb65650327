"""Notifications over real HTTP to a local receiver: payloads, retries, dedup, resolves, dead letters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from postaltop.config import ConfigError, effective_config_text, load_settings
from postaltop.config.secrets import SecretError, read_secret
from postaltop.core.notification import NotificationEvent
from postaltop.notify.channels import AlertmanagerChannel, PagerDutyChannel, SlackChannel
from postaltop.notify.dispatcher import Dispatcher, RetryPolicy
from postaltop.notify.setup import build_channels
from tests.watch.events import T0, notification_event
from tests.watch.receiver import Receiver


def event(
    status: str = "firing", severity: str = "critical", key: str = "zscore|credential:1", at: float = T0
) -> NotificationEvent:
    return notification_event(
        key, status=status, severity=severity, at=at, scope="credential main smtp (#1) <b>&"
    )


async def no_sleep(_seconds: float) -> None:
    return None


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


async def drain(dispatcher: Dispatcher) -> None:
    for channel in dispatcher.channels:
        queue = dispatcher._queues.get(channel.name)
        while queue is not None and not queue.empty():
            await dispatcher.deliver(channel, queue.get_nowait())


async def test_alertmanager_payload_over_http(receiver: Receiver) -> None:
    channel = AlertmanagerChannel(receiver.url, runbook_base="https://runbook.example/runbook.md")
    await channel.send(event())
    await channel.send(event("resolved", at=T0 + 600))
    firing, resolved = receiver.bodies("/api/v2/alerts")
    alert = firing[0]
    assert alert["labels"]["alertname"] == "Sending far above normal"
    assert alert["labels"]["severity"] == "critical"
    assert alert["labels"]["incident"] == "zscore|credential:1"
    assert alert["startsAt"] == "2026-09-21T14:13:20.000Z"
    assert "endsAt" in alert  # firing: expires unless re-posted
    assert alert["annotations"]["runbook_url"] == (
        "https://runbook.example/runbook.md#alert-sending-far-above-normal"
    )
    assert "Observed: sent = 941 (expected 25)" in alert["annotations"]["description"]
    assert resolved[0]["endsAt"] == "2026-09-21T14:23:20.000Z"


async def test_slack_escapes_and_carries_the_actionable_content(receiver: Receiver) -> None:
    await SlackChannel(receiver.url + "/hook/T000/B000/XXXX").send(event())
    (body,) = receiver.bodies("/hook/T000/B000/XXXX")
    assert body["text"].startswith("[FIRING critical] Sending far above normal")
    text = body["blocks"][0]["text"]["text"]
    assert "&lt;b&gt;&amp;" in text and "<b>" not in text
    parts = ("What: ", "Where: ", "Observed: sent = 941 (expected 25)", "Why: ", "Runbook: docs/runbook.md#")
    for part in parts:
        assert part in text


async def test_pagerduty_trigger_and_resolve_share_the_dedup_key(receiver: Receiver) -> None:
    channel = PagerDutyChannel("R0UTINGKEY", url=receiver.url + "/v2/enqueue")
    await channel.send(event())
    await channel.send(event("resolved"))
    trigger, resolve = receiver.bodies("/v2/enqueue")
    assert trigger["event_action"] == "trigger" and resolve["event_action"] == "resolve"
    assert trigger["dedup_key"] == resolve["dedup_key"] == "zscore|credential:1"
    assert trigger["routing_key"] == "R0UTINGKEY"
    assert trigger["payload"]["severity"] == "critical"
    assert trigger["payload"]["custom_details"]["expected"] == "25"


async def test_retries_with_backoff_when_the_receiver_returns_500(receiver: Receiver, tmp_path: Path) -> None:
    receiver.statuses = [500, 500]
    delays: list[float] = []

    async def record_sleep(seconds: float) -> None:
        delays.append(seconds)

    dead = tmp_path / "dead.jsonl"
    dispatcher = Dispatcher(
        [SlackChannel(receiver.url + "/hook")],
        retry=RetryPolicy(attempts=4, base=1.0, cap=10.0),
        dead_letter=dead,
        sleep=record_sleep,
    )
    assert dispatcher.submit(event())
    await drain(dispatcher)
    assert [r.status for r in receiver.requests] == [500, 500, 200]
    assert delays == [1.0, 2.0]
    assert dispatcher.stats.delivered == {"slack": 1}
    assert not dead.exists()


async def test_dead_letter_when_the_channel_stays_down(receiver: Receiver, tmp_path: Path) -> None:
    receiver.default_status = 503
    dead = tmp_path / "state" / "dead.jsonl"
    dispatcher = Dispatcher(
        [SlackChannel(receiver.url + "/hook/SECRET-PART")],
        retry=RetryPolicy(attempts=3, base=1.0, cap=4.0),
        dead_letter=dead,
        sleep=no_sleep,
    )
    dispatcher.submit(event())
    await drain(dispatcher)
    assert len(receiver.requests) == 3
    (line,) = dead.read_text().splitlines()
    record = json.loads(line)
    assert record["channel"] == "slack" and record["attempts"] == 3 and record["error"] == "HTTP 503"
    assert record["event"]["key"] == "zscore|credential:1"
    assert "SECRET-PART" not in line  # the webhook URL is a secret
    assert dead.stat().st_mode & 0o077 == 0


async def test_a_4xx_is_not_retried(receiver: Receiver, tmp_path: Path) -> None:
    receiver.default_status = 400
    dispatcher = Dispatcher(
        [PagerDutyChannel("k", url=receiver.url)], dead_letter=tmp_path / "d.jsonl", sleep=no_sleep
    )
    dispatcher.submit(event())
    await drain(dispatcher)
    assert len(receiver.requests) == 1
    assert dispatcher.stats.dead_letters == {"pagerduty": 1}


async def test_one_notification_per_incident_then_a_resolve(receiver: Receiver) -> None:
    clock = Clock()
    dispatcher = Dispatcher(
        [PagerDutyChannel("k", url=receiver.url)], repeat_interval=3600, clock=clock, sleep=no_sleep
    )
    assert dispatcher.submit(event())
    for minute in range(1, 30):  # the detector says so every minute: no new page
        clock.now = T0 + 60 * minute
        assert not dispatcher.submit(event(at=clock.now))
        dispatcher.tick()
    assert not dispatcher.submit(event(severity="warning"))  # lower severity: still the same incident
    assert dispatcher.submit(event("resolved", at=clock.now))
    assert not dispatcher.submit(event("resolved", at=clock.now))  # a second resolve is not news
    await drain(dispatcher)
    actions = [b["event_action"] for b in receiver.bodies()]
    assert actions == ["trigger", "resolve"]
    assert dispatcher.stats.deduplicated == 31


async def test_escalation_and_repeat_interval_notify_again(receiver: Receiver) -> None:
    clock = Clock()
    dispatcher = Dispatcher([SlackChannel(receiver.url)], repeat_interval=3600, clock=clock, sleep=no_sleep)
    dispatcher.submit(event(severity="warning"))
    assert dispatcher.submit(event(severity="critical"))  # escalated
    clock.now = T0 + 3599
    assert dispatcher.tick() == 0
    clock.now = T0 + 3600
    assert dispatcher.tick() == 1  # still open after the repeat interval: a reminder
    await drain(dispatcher)
    texts = [b["text"] for b in receiver.bodies()]
    assert texts[0].startswith("[FIRING warning]") and texts[1].startswith("[FIRING critical]")
    assert len(texts) == 3


def test_a_dip_in_severity_and_back_is_not_paged_again() -> None:
    dispatcher = Dispatcher([], clock=Clock(), sleep=no_sleep)
    assert dispatcher.submit(event(severity="critical"))
    assert not dispatcher.submit(event(severity="warning"))  # the detector's figure dipped
    assert not dispatcher.submit(event(severity="critical"))  # back up: already paged at critical
    assert dispatcher.stats.notified == 1


async def test_alertmanager_is_refreshed_while_open(receiver: Receiver) -> None:
    clock = Clock()
    am = AlertmanagerChannel(receiver.url, refresh_interval=60)
    slack = SlackChannel(receiver.url + "/slack")
    dispatcher = Dispatcher([am, slack], clock=clock, sleep=no_sleep)
    dispatcher.submit(event())
    for second in (30, 61, 90, 125):
        clock.now = T0 + second
        dispatcher.tick()
    await drain(dispatcher)
    assert len(receiver.bodies("/api/v2/alerts")) == 3  # first post + 2 refreshes
    assert len(receiver.bodies("/slack")) == 1
    assert dispatcher.stats.notified == 1


async def test_min_severity_drops_info(receiver: Receiver) -> None:
    dispatcher = Dispatcher([SlackChannel(receiver.url)], min_severity="warning", sleep=no_sleep)
    assert not dispatcher.submit(event(severity="info"))
    assert dispatcher.submit(event(severity="warning"))


async def test_flush_dead_letters_what_could_not_go_out(tmp_path: Path) -> None:
    dead = tmp_path / "dead.jsonl"
    dispatcher = Dispatcher([SlackChannel("http://127.0.0.1:9/never")], dead_letter=dead, sleep=no_sleep)
    dispatcher.submit(event())
    await dispatcher.flush(0.0)
    assert json.loads(dead.read_text())["error"] == "shutdown before delivery"


# -- secrets ---------------------------------------------------------------------------------


def test_secret_from_env_and_from_a_0600_file(tmp_path: Path) -> None:
    assert (
        read_secret("x", "HOOK", None, {"HOOK": " https://hooks.example/abc \n"})
        == "https://hooks.example/abc"
    )
    path = tmp_path / "key"
    path.write_text("routing-key\n")
    path.chmod(0o600)
    assert read_secret("x", None, path) == "routing-key"
    path.chmod(0o644)
    with pytest.raises(SecretError, match="chmod 600") as info:
        read_secret("x", None, path)
    assert "routing-key" not in str(info.value)
    with pytest.raises(SecretError, match="HOOK is not set"):
        read_secret("x", "HOOK", None, {})


def test_config_refuses_a_secret_written_in_it_and_never_echoes_it(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[notify.slack]\nwebhook_url = "https://hooks.slack.com/services/T0/B0/TOPSECRET"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(config)
    assert "a secret is never written in the configuration" in info.value.message
    assert "TOPSECRET" not in info.value.message
    config.write_text('[notify.pagerduty]\nrouting_key = "TOPSECRET"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(config)
    assert "routing_key_env" in info.value.message and "TOPSECRET" not in info.value.message


def test_channels_built_from_config(tmp_path: Path) -> None:
    key = tmp_path / "pd.key"
    key.write_text("PDKEY")
    key.chmod(0o600)
    config = tmp_path / "c.toml"
    config.write_text(
        "[notify]\nrepeat_interval = 600\n"
        '[notify.alertmanager]\nurl = "http://127.0.0.1:9093"\n'
        '[notify.slack]\nwebhook_url_env = "MY_HOOK"\n'
        f'[notify.pagerduty]\nrouting_key_file = "{key}"\n'
        '[notify.email]\nhost = "127.0.0.1"\nport = 2525\nstarttls = false\n'
        'sender = "postaltop@example.com"\nrecipients = ["oncall@example.com"]\n'
    )
    settings = load_settings(config).settings
    channels = build_channels(settings.notify, {"MY_HOOK": "https://hooks.example/x"})
    assert [c.name for c in channels] == ["alertmanager", "slack", "pagerduty", "email"]
    assert "PDKEY" not in repr(channels) and "hooks.example" not in repr(channels)
    with pytest.raises(SecretError, match="MY_HOOK"):
        build_channels(settings.notify, {})


def test_config_check_shows_where_secrets_come_from_never_the_secret(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[notify.slack]\nwebhook_url_env = "MY_HOOK"\n')
    text = effective_config_text(
        load_settings(config, {"MY_HOOK": "https://hooks.example/TOPSECRET"}).settings
    )
    assert '[notify.slack]\n# webhook_url is not set\nwebhook_url_env = "MY_HOOK"' in text
    assert "# [notify.pagerduty] is not configured" in text and "TOPSECRET" not in text
