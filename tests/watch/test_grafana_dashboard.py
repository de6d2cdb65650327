"""The Grafana dashboard in docs/ queries only what watch exports (or the shipped rules record), and every
query answers on a real Prometheus scraping a busy demo watch."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.support.promstack import binary, prometheus_query, running_prometheus
from tests.watch.receiver import Receiver
from tests.watch.watch_proc import running_watch

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "docs" / "grafana" / "postaltop-dashboard.json"
RULES = ROOT / "docs" / "prometheus" / "postaltop-rules.yml"

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_NAME = re.compile(r"(?<![A-Za-z0-9_:$])(postaltop[_:][A-Za-z0-9_:]*|up)(?![A-Za-z0-9_:(])")
PROMETHEUS_SERIES = {"up"}
"""Series Prometheus itself writes for every target."""


def metric_names(promql: str) -> set[str]:
    """Metric names a PromQL expression selects (string literals and label values removed first)."""
    return set(_NAME.findall(_STRING.sub('""', promql)))


def dashboard_queries() -> list[str]:
    data = json.loads(DASHBOARD.read_text())
    queries = [t["expr"] for panel in data["panels"] for t in panel.get("targets", [])]
    for variable in data["templating"]["list"]:
        if variable["type"] == "query":
            query = variable["query"]
            queries.append(query["query"] if isinstance(query, dict) else query)
    return queries


def recorded_names() -> dict[str, str]:
    rules = yaml.safe_load(RULES.read_text())
    return {r["record"]: r["expr"] for g in rules["groups"] for r in g["rules"] if "record" in r}


def test_metric_name_extraction() -> None:
    expr = 'sum by (status) (rate(postaltop_server_deliveries_total{group=~"postaltop_x"}[5m])) / up'
    assert metric_names(expr) == {"postaltop_server_deliveries_total", "up"}
    assert metric_names("postaltop:group_queue_messages") == {"postaltop:group_queue_messages"}


def test_every_dashboard_query_names_exported_metrics_and_answers(tmp_path: Path, receiver: Receiver) -> None:
    binary("prometheus")
    queries = dashboard_queries()
    assert len(queries) >= 20
    recorded = recorded_names()
    config = tmp_path / "postaltop.toml"
    config.write_text(
        f'[notify]\nstate_file = "{tmp_path / "s.db"}"\n[notify.alertmanager]\nurl = "{receiver.url}"\n'
    )
    args = ["--config", str(config), "--demo", "--scenario", "compromised-credential", "--speed", "high"]
    with running_watch(tmp_path / "watch.log", *args) as watch:
        watch.wait_for(
            "notifications in /metrics",
            lambda: 'postaltop_notifications_total{channel="alertmanager"' in watch.metrics_text(),
        )
        # a gauge is absent while it has no value (the oldest queued message's age with the queue empty):
        # the names exported over the scrapes of up to a minute are gathered
        needed = {
            n for q in queries for n in metric_names(q) if n not in recorded and n not in PROMETHEUS_SERIES
        }
        needed |= {n for name in recorded for n in metric_names(recorded[name])}
        exported: set[str] = set()
        deadline = time.monotonic() + 60
        while not needed <= exported and time.monotonic() < deadline:
            text = watch.metrics_text()
            exported |= {s.name for f in text_string_to_metric_families(text) for s in f.samples}
            time.sleep(0.5)

        # every name is exported by watch, recorded by the shipped rules, or written by Prometheus
        for query in queries:
            names = metric_names(query)
            assert names, f"no metric in {query!r}"
            for name in names:
                if name in recorded:
                    source = metric_names(recorded[name])
                    assert source <= exported, (name, source - exported)
                else:
                    assert name in exported or name in PROMETHEUS_SERIES, (name, query)

        # ... and every query runs on a real Prometheus and returns series
        rules = tmp_path / "rules.yml"
        rules.write_text(RULES.read_text().replace("interval: 30s", "interval: 1s"))
        prom_config = (
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            f"rule_files:\n  - {rules}\n"
            "scrape_configs:\n  - job_name: postaltop\n    static_configs:\n"
            f"      - targets: ['127.0.0.1:{watch.port}']\n        labels: {{group: demo}}\n"
        )
        with running_prometheus(tmp_path / "prometheus", prom_config) as prom:
            concrete = [q.replace("$__rate_interval", "1m").replace("$group", ".*") for q in queries]
            concrete[-1] = 'count by (group) (postaltop_host_up{group!=""})'  # label_values() is Grafana's
            empty: list[str] = concrete
            deadline = time.monotonic() + 60
            while empty and time.monotonic() < deadline:
                empty = [q for q in concrete if not prometheus_query(prom, q)]
                time.sleep(1.0)
            assert not empty, empty
