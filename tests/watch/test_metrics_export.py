"""The Prometheus endpoint: scraped over HTTP and parsed with prometheus_client's own parser."""

from __future__ import annotations

import urllib.request
from dataclasses import replace

from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from postaltop.core.dbmetrics import DomainSample
from postaltop.core.sim import Fleet
from postaltop.engine import Engine
from postaltop.metrics_export import MetricsExporter, parse_address
from postaltop.sources.demo import group_lines
from postaltop.sources.demo_metrics import DemoMetricsSource

START = 1_790_000_000.0


def scrape(address: tuple[str, int]) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    with urllib.request.urlopen(f"http://{address[0]}:{address[1]}/metrics", timeout=5) as response:
        text = response.read().decode()
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def test_metrics_endpoint_reads_correctly() -> None:
    fleet = Fleet(seed=3, scenario="compromised-credential", start=START)
    engine = Engine(retained_lines=10_000, clock=lambda: START + 720)
    exporter = MetricsExporter(engine, top_domains=3)
    exporter.attach()
    source = DemoMetricsSource(fleet, speed=1.0)
    lines = 0
    for host, component, batch in group_lines(fleet.advance(START + 700)):
        engine.feed(host, component, batch, received_at=START + 700)
        lines += len(batch)
    results = source.poll_now()
    for result in results:
        engine.publish_metrics(result)
    extra = DomainSample(results[-1].samples[0].server_id, "never-seen.example", 1, 1.0)
    engine.publish_metrics(replace(results[-1], domains=(*results[-1].domains, extra)))
    exporter.set_alerts({"critical": 2})
    exporter.refresh()
    address = exporter.serve("127.0.0.1:0")
    try:
        metrics = scrape(address)
    finally:
        exporter.close()

    ingested = metrics["postaltop_lines_ingested_total"]
    assert sum(ingested.values()) == lines
    assert set(ingested) == {(("host", h),) for h in engine.hosts}
    assert all(v == 20.0 for v in metrics["postaltop_ingest_lag_seconds"].values())
    assert metrics["postaltop_database_up"][()] == 1.0
    assert metrics["postaltop_alerts_open"][(("severity", "critical"),)] == 2.0
    assert metrics["postaltop_alerts_open"][(("severity", "warning"),)] == 0.0
    # counters are the sum of the poll windows
    sent = sum(s.counts.sent for r in results for s in r.samples if not s.stale) + sum(
        s.counts.sent for s in results[-1].samples if not s.stale
    )
    deliveries = metrics["postaltop_server_deliveries_total"]
    assert sum(v for k, v in deliveries.items() if ("status", "sent") in k) == sent
    # gauges follow the latest poll
    last = results[-1]
    names = {s.id: s.full_permalink for s in last.servers}
    for sample in last.samples:
        labels = (("server", names[sample.server_id]), ("state", "all"))
        assert metrics["postaltop_server_queue_messages"][labels] == sample.queue_depth
    # bounded cardinality: at most top_domains labels per server plus "other"
    domains = metrics["postaltop_recipient_domain_messages_total"]
    per_server: dict[str, set[str]] = {}
    for key in domains:
        labels = dict(key)
        per_server.setdefault(labels["server"], set()).add(labels["domain"])
    assert per_server and all(len(d - {"other"}) <= 3 for d in per_server.values())
    assert "never-seen.example" not in {d for ds in per_server.values() for d in ds}
    # naming conventions
    for name in metrics:
        assert name.startswith("postaltop_")
    assert "postaltop_lines_ingested_total" not in REGISTRY._names_to_collectors  # own registry only


def test_parse_address() -> None:
    assert parse_address("127.0.0.1:9464") == ("127.0.0.1", 9464)
    assert parse_address("[::1]:9464") == ("::1", 9464)
    for bad in ("9464", "host:", "host:99999"):
        try:
            parse_address(bad)
        except ValueError:
            continue
        raise AssertionError(bad)


def test_source_condition_tells_stalled_refused_auth_and_missing_message_db_apart() -> None:
    engine = Engine(retained_lines=1_000, clock=lambda: START)
    engine.set_host("db", "error: not answering (12 s): postal@db:3306 (direct) accepts but does not reply")
    engine.set_host("mx1", "reconnecting (attempt 2, next in 1s): connection refused")
    engine.set_host("mx2", "auth failed")
    engine.set_host("mx3", "connected ·3")
    exporter = MetricsExporter(engine, top_domains=3)
    exporter.attach()
    exporter.refresh()
    address = exporter.serve("127.0.0.1:0")
    try:
        first = scrape(address)["postaltop_source_condition"]
        engine.set_host("db", "degraded: message database missing (1)")
        exporter.refresh()
        second = scrape(address)["postaltop_source_condition"]
    finally:
        exporter.close()

    def current(metrics: dict[tuple[tuple[str, str], ...], float]) -> dict[str, str]:
        return {dict(k)["source"]: dict(k)["condition"] for k, v in metrics.items() if v == 1.0}

    assert current(first) == {"db": "stalled", "mx1": "refused", "mx2": "auth-failed", "mx3": "up"}
    assert current(second)["db"] == "missing-message-db"
    assert sum(first.values()) == 4  # one condition per source
