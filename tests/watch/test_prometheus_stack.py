"""postaltop watch under a real Prometheus: promtool on /metrics and on the shipped rules, two instances.

Uses the Debian ``prometheus`` package (``prometheus``, ``promtool``); skipped with the reason when it is
missing, failed under ``POSTALTOP_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support import mysql
from tests.support.postal_builder import ServerSpec
from tests.support.promstack import binary, prometheus_query, running_prometheus
from tests.watch.receiver import Receiver
from tests.watch.watch_proc import running_watch

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "docs" / "prometheus" / "postaltop-rules.yml"
RULE_TESTS = ROOT / "docs" / "prometheus" / "postaltop-rules.test.yml"


def samples(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            out[f"{sample.name}{{{labels}}}"] = sample.value
    return out


def test_promtool_check_metrics_on_a_busy_demo_watch(tmp_path: Path, receiver: Receiver) -> None:
    promtool = binary("promtool")
    config = tmp_path / "postaltop.toml"
    state = tmp_path / "s.db"
    config.write_text(f'[notify]\nstate_file = "{state}"\n[notify.alertmanager]\nurl = "{receiver.url}"\n')
    args = ["--config", str(config), "--demo", "--scenario", "compromised-credential", "--speed", "high"]
    with running_watch(tmp_path / "watch.log", *args) as watch:

        def busy() -> bool:
            values = samples(watch.metrics_text())
            lines = sum(v for k, v in values.items() if k.startswith("postaltop_lines_ingested_total"))
            delivered = any(k.startswith("postaltop_notifications_total") and v for k, v in values.items())
            domains = any(k.startswith("postaltop_recipient_domain_messages_total") for k in values)
            return lines > 20_000 and delivered and domains

        watch.wait_for("a busy /metrics", busy)
        text = watch.metrics_text()
    result = subprocess.run(
        [promtool, "check", "metrics"], input=text.encode(), capture_output=True, timeout=60
    )
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    assert result.stdout.decode().strip() == "" and result.stderr.decode().strip() == "", result
    # the scrape was the busy one: every family of the exporter carries samples
    families = {f.name for f in text_string_to_metric_families(text) if f.samples}
    assert {
        "postaltop_lines_ingested",
        "postaltop_server_deliveries",
        "postaltop_credential_messages",
        "postaltop_recipient_domain_messages",
        "postaltop_notifications",
        "postaltop_server_queue_messages",
    } <= families


def test_shipped_rules_pass_promtool_check_and_unit_tests() -> None:
    promtool = binary("promtool")
    check = subprocess.run(
        [promtool, "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "SUCCESS: 15 rules found" in check.stdout
    unit = subprocess.run(
        [promtool, "test", "rules", RULE_TESTS.name],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=RULE_TESTS.parent,
    )
    assert unit.returncode == 0, unit.stdout + unit.stderr
    assert "SUCCESS" in unit.stdout
    # the example configurations load in the real tools
    prom = subprocess.run(
        [promtool, "check", "config", "prometheus.yml"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=RULES.parent,
    )
    assert prom.returncode == 0, prom.stdout + prom.stderr
    amtool = binary("amtool")
    am = subprocess.run(
        [amtool, "check-config", str(RULES.parent / "alertmanager.yml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert am.returncode == 0, am.stdout + am.stderr


GROUP_LAYOUTS = {
    "eu": [ServerSpec(1, "acme", "main", send_limit=5000), ServerSpec(2, "acme", "marketing", per_hour=6)],
    "us": [ServerSpec(1, "globex", "transactional", per_hour=4), ServerSpec(2, "initech", "app", per_hour=5)],
}


def _watch_config(path: Path, target: mysql.MysqlTarget, prefix: str, state: Path) -> Path:
    password = f'password = "{target.password}"\n' if target.password else ""
    path.write_text(
        "[database]\n"
        f'host = "{target.host}"\nport = {target.port}\nuser = "{target.user}"\n{password}'
        f'use_my_cnf = false\ndatabase = "{prefix}"\nmessage_db_prefix = "{prefix}"\npoll_interval = 1.0\n'
        f'[notify]\nstate_file = "{state}"\n'
    )
    path.chmod(0o600)
    return path


def test_one_prometheus_scrapes_two_watch_instances(tmp_path: Path) -> None:
    binary("prometheus")
    target = mysql.available_target()
    with (
        mysql.built_dataset(target, layout=GROUP_LAYOUTS["eu"], weeks=1) as eu,
        mysql.built_dataset(target, layout=GROUP_LAYOUTS["us"], weeks=1) as us,
    ):
        configs = {
            name: _watch_config(tmp_path / f"{name}.toml", target, data.prefix, tmp_path / "notify.db")
            for name, data in (("eu", eu), ("us", us))
        }
        with (
            running_watch(tmp_path / "eu.log", "--config", str(configs["eu"])) as w_eu,
            running_watch(tmp_path / "us.log", "--config", str(configs["us"])) as w_us,
        ):
            rules = tmp_path / "postaltop-rules.yml"
            # the shipped rules, evaluated every second instead of every 30 s so the test is short
            rules.write_text(RULES.read_text().replace("interval: 30s", "interval: 1s"))
            prom_config = (
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                f"rule_files:\n  - {rules}\n"
                "scrape_configs:\n"
                "  - job_name: postaltop\n"
                "    static_configs:\n"
                f"      - targets: ['127.0.0.1:{w_eu.port}']\n        labels: {{group: eu}}\n"
                f"      - targets: ['127.0.0.1:{w_us.port}']\n        labels: {{group: us}}\n"
            )
            with running_prometheus(tmp_path / "prometheus", prom_config) as prom:
                expected = {
                    (group, f"{s.org}/{s.permalink}")
                    for group, layout in GROUP_LAYOUTS.items()
                    for s in layout
                }

                def servers_seen() -> set[tuple[str, str]]:
                    rows = prometheus_query(prom, "postaltop_server_queue_messages{state='all'}")
                    return {(r["metric"]["group"], r["metric"]["server"]) for r in rows}

                deadline = time.monotonic() + 60
                while servers_seen() != expected and time.monotonic() < deadline:
                    time.sleep(0.5)
                assert servers_seen() == expected, prom.log_tail()

                up = prometheus_query(prom, "up{job='postaltop'}")
                assert {(r["metric"]["group"], r["value"][1]) for r in up} == {("eu", "1"), ("us", "1")}
                db_up = prometheus_query(prom, "postaltop_database_up")
                assert {(r["metric"]["group"], r["value"][1]) for r in db_up} == {("eu", "1"), ("us", "1")}

                # the recording rules aggregate per group, over both instances
                def recorded() -> dict[str, float]:
                    rows = prometheus_query(prom, "postaltop:group_queue_messages")
                    return {r["metric"]["group"]: float(r["value"][1]) for r in rows}

                deadline = time.monotonic() + 30
                while set(recorded()) != {"eu", "us"} and time.monotonic() < deadline:
                    time.sleep(0.5)
                per_group = recorded()
                assert set(per_group) == {"eu", "us"}
                for group in ("eu", "us"):
                    query = f"sum(postaltop_server_queue_messages{{group='{group}',state='all'}})"
                    raw = prometheus_query(prom, query)
                    assert per_group[group] == float(raw[0]["value"][1])
                hosts = prometheus_query(prom, "postaltop:group_hosts_up")
                assert {r["metric"]["group"] for r in hosts} == {"eu", "us"}

                # every shipped rule loaded and evaluated without error against the live series
                groups = prom.get_json("/api/v1/rules")["data"]["groups"]
                rules_seen = [rule for g in groups for rule in g["rules"]]
                assert len(rules_seen) == 15
                assert all(rule["health"] == "ok" for rule in rules_seen), [
                    (r["name"], r.get("lastError")) for r in rules_seen if r["health"] != "ok"
                ]
                firing = prometheus_query(prom, "ALERTS{alertstate='firing'}")
                assert not [a for a in firing if a["metric"]["alertname"] == "PostaltopDatabaseDown"]
            assert w_eu.proc.poll() is None and w_us.proc.poll() is None
        assert w_eu.exit_code == 0 and w_us.exit_code == 0
