"""``postaltop watch --demo`` as a process: one notification per incident, a resolve, /metrics, SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from postaltop.recording.file import read_records
from postaltop.recording.records import AlertRecord, LinesRecord
from tests.watch.receiver import Receiver

pytestmark = pytest.mark.slow

WATCH = [sys.executable, "-m", "postaltop", "watch"]
SEVERITY_RANK = {"info": 0, "warning": 1, "error": 2, "critical": 3}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def scrape(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            out[f"{sample.name}{{{labels}}}"] = sample.value
    return out


def test_watch_demo_notifies_once_per_incident_and_resolves(receiver: Receiver, tmp_path: Path) -> None:
    key_file = tmp_path / "pd.key"
    key_file.write_text("PD-ROUTING-KEY-SECRET\n")
    key_file.chmod(0o600)
    dead = tmp_path / "dead.jsonl"
    config = tmp_path / "postaltop.toml"
    config.write_text(
        f'[notify]\nretry_base = 0.2\nretry_cap = 1.0\ndead_letter_file = "{dead}"\n'
        f'[notify.alertmanager]\nurl = "{receiver.url}"\n'
        '[notify.slack]\nwebhook_url_env = "TEST_SLACK_HOOK"\n'
        f'[notify.pagerduty]\nrouting_key_file = "{key_file}"\nurl = "{receiver.url}/pd"\n'
    )
    recording = tmp_path / "watch.postaltop.gz"
    port = free_port()
    env = {**os.environ, "TEST_SLACK_HOOK": f"{receiver.url}/slack/SECRET-HOOK"}
    log_path = tmp_path / "watch.log"
    log_file = log_path.open("wb")  # a file, not a pipe: a full pipe would stall the watcher
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "postaltop", "watch", "--config", str(config), "--demo",
            "--scenario", "compromised-credential", "--speed", "high",
            "--metrics-address", f"127.0.0.1:{port}", "--record", str(recording),
        ],
        stdout=subprocess.DEVNULL,
        stderr=log_file,
        env=env,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        resolved: set[str] = set()
        triggered: set[str] = set()
        while time.monotonic() < deadline and proc.poll() is None:
            pd = receiver.bodies("/pd")
            triggered = {b["dedup_key"] for b in pd if b["event_action"] == "trigger"}
            resolved = {b["dedup_key"] for b in pd if b["event_action"] == "resolve"}
            credential = [
                b for b in pd if b["event_action"] == "trigger" and "main smtp" in b["payload"]["component"]
            ]
            if credential and resolved & triggered:
                break
            time.sleep(0.5)
        assert proc.poll() is None, log_path.read_text()[-3000:]
        delivered_key = "postaltop_notifications_total{channel=pagerduty,outcome=delivered}"
        metrics = scrape(port)
        scrape_deadline = time.monotonic() + 10  # the counter moves once the receiver's reply is read
        while delivered_key not in metrics and time.monotonic() < scrape_deadline:
            time.sleep(0.2)
            metrics = scrape(port)
        time.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log_file.close()
    stderr = log_path.read_text()
    assert code == 0, stderr[-3000:]
    logs = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    assert logs and logs[-1]["event"] == "stopped"

    # the compromised credential was paged, and at least one incident was resolved
    pd = receiver.bodies("/pd")
    assert any(b["event_action"] == "trigger" and "main smtp" in b["payload"]["component"] for b in pd)
    assert resolved & triggered
    # one notification per incident: per dedup key, a trigger is only repeated after a resolve or when the
    # severity rose (the detectors re-confirm each alert every minute: none of that reaches the pager)
    last: dict[str, str | None] = {}
    for body in pd:
        key = body["dedup_key"]
        if body["event_action"] == "trigger":
            severity = body["payload"]["severity"]
            before = last.get(key)
            assert before is None or SEVERITY_RANK[severity] > SEVERITY_RANK[before], (key, before, severity)
            last[key] = severity
        else:
            assert last.get(key) is not None, f"resolve without an open incident: {key}"
            last[key] = None
    stopped = logs[-1]
    assert stopped["deduplicated"] > 0
    assert stopped["delivered"]["pagerduty"] == len(pd)
    assert len(receiver.bodies("/slack/SECRET-HOOK")) == len(pd)  # the same notifications on Slack
    assert all(b["routing_key"] == "PD-ROUTING-KEY-SECRET" for b in pd)
    assert "SECRET-HOOK" not in stderr and "PD-ROUTING-KEY-SECRET" not in stderr
    assert not dead.exists()

    # /metrics read correctly while it ran
    assert sum(v for k, v in metrics.items() if k.startswith("postaltop_lines_ingested_total")) > 10_000
    assert metrics["postaltop_database_up{}"] == 1.0
    assert metrics["postaltop_host_up{host=mx1}"] == 1.0
    assert metrics[delivered_key] >= 1
    assert any(k.startswith("postaltop_server_queue_messages{server=acme/transactional") for k in metrics)

    # the recording holds lines and the alerts
    records = list(read_records(recording))
    assert sum(len(r.lines) for r in records if isinstance(r, LinesRecord)) > 10_000
    assert any(isinstance(r, AlertRecord) and not r.event.firing for r in records)


def test_watch_refuses_a_missing_secret_with_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "postaltop.toml"
    config.write_text('[notify.slack]\nwebhook_url_env = "NOT_SET_ANYWHERE"\n')
    result = subprocess.run(
        [*WATCH, "--config", str(config), "--demo", "--metrics-address", "off"],
        capture_output=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if k != "NOT_SET_ANYWHERE"},
    )
    assert result.returncode == 2
    (line,) = [json.loads(x) for x in result.stderr.decode().splitlines() if x.startswith("{")]
    assert line["event"] == "config_error" and "NOT_SET_ANYWHERE" in line["error"]


def test_watch_sigint_flushes_and_exits_0(tmp_path: Path) -> None:
    recording = tmp_path / "r.gz"
    log_path = tmp_path / "watch.log"
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(
            [*WATCH, "--demo", "--metrics-address", "off", "--record", str(recording)], stderr=log_file
        )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and '"started"' not in log_path.read_text():
            time.sleep(0.2)
        time.sleep(2.0)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert sum(len(r.lines) for r in read_records(recording) if isinstance(r, LinesRecord)) > 1_000


def test_watch_with_nothing_to_watch_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "postaltop.toml"
    config.write_text("[ui]\n")
    result = subprocess.run(
        [*WATCH, "--config", str(config), "--metrics-address", "off"], capture_output=True, timeout=60
    )
    assert result.returncode == 2
    assert "nothing to watch" in result.stderr.decode()


def test_watch_usage_errors() -> None:
    result = subprocess.run([*WATCH, "--demo", "--speed", "warp"], capture_output=True, timeout=60)
    assert result.returncode == 2 and b"normal, fast, high, max" in result.stderr
    result = subprocess.run([*WATCH, "--demo", "--scenario", "nope"], capture_output=True, timeout=60)
    assert result.returncode == 2 and b"compromised-credential" in result.stderr


def _events(log_path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]


def _wait_for(log_path: Path, event: str, timeout: float = 60.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [e for e in _events(log_path) if e.get("event") == event]
        if found:
            return found[-1]
        time.sleep(0.2)
    raise AssertionError(f"no {event!r} in {log_path.read_text()[-2000:]}")


def test_watch_sighup_reloads_what_can_change_and_says_what_needs_a_restart(tmp_path: Path) -> None:
    config = tmp_path / "postaltop.toml"
    config.write_text("[actions]\nenabled = false\n\n[detection]\nenabled = false\n")
    config.chmod(0o600)
    log_path = tmp_path / "watch.log"
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(
            [*WATCH, "--config", str(config), "--demo", "--metrics-address", "off"], stderr=log_file
        )
    try:
        _wait_for(log_path, "started")
        disabled = _wait_for(log_path, "detection_disabled")
        assert "enabled = false" in str(disabled["reason"])
        config.write_text("[actions]\nenabled = true\n\n[detection]\nenabled = true\n")
        proc.send_signal(signal.SIGHUP)
        reloaded = _wait_for(log_path, "reloaded")
        assert reloaded["applied"] == ["actions"] and reloaded["restart_needed"] == ["detection"]
        config.write_text("[actions]\nenabled = 3 = 4\n")
        proc.send_signal(signal.SIGHUP)
        failed = _wait_for(log_path, "reload_failed")
        assert "postaltop.toml" in str(failed["error"])
        assert proc.poll() is None  # a bad file changes nothing: still running
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
