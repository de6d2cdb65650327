"""Recipient domains per credential from the real poll, and the novelty alert they feed."""

from __future__ import annotations

import pytest

from postaltop.core.alerts import ScopeKind
from postaltop.core.dbmetrics import credential_domains
from postaltop.monitoring import Monitor
from postaltop.sources.postal_db import PostalDbSource
from tests.support.postal_builder import Dataset, add_traffic

pytestmark = pytest.mark.mysql


async def test_poll_reports_domains_per_credential_and_novelty_fires(
    source: PostalDbSource, dataset: Dataset, admin: object
) -> None:
    sid = 3
    cred = next(cid for cid, (server, _n, _t) in dataset.credentials.items() if server == sid)
    first = await source.poll_once()  # seeds the id window
    monitor = Monitor()
    monitor.on_metrics(first)
    known = sorted({d.domain for d in first.credential_domains if d.credential_id == cred} | {"gmail.com"})
    monitor.learn_credential_domains({(cred, "victim"): known}, since=first.started_at - 7 * 86400)
    spam = [("outgoing", cred, f"x{i}@Harvested{i}.example", "Sent", 0) for i in range(40)]
    spam += [("outgoing", cred, f"y{i}@harvested{i}.example", None, 0) for i in range(5)]
    spam += [("outgoing", cred, "a@gmail.com", "Sent", 0), ("incoming", None, "in@acme.example", None, 0)]
    add_traffic(admin, dataset.prefix, sid, spam)  # type: ignore[arg-type]
    second = await source.poll_once()
    mine = {d.domain: d.count for d in second.credential_domains if d.credential_id == cred}
    expected = {f"harvested{i}.example": 2 for i in range(5)} | {
        f"harvested{i}.example": 1 for i in range(5, 40)
    }
    assert mine == expected | {"gmail.com": 1}  # lower-cased, per domain, incoming left out
    assert all(d.server_id == sid for d in second.credential_domains if d.credential_id == cred)
    monitor.on_metrics(second)
    novelty = [
        a
        for a in monitor.alerts_manager.alerts
        if a.kind == "novelty" and a.scope.kind is ScopeKind.CREDENTIAL and a.scope.key == str(cred)
    ]
    assert (
        novelty and novelty[0].severity.value == "critical" and "40 new recipient domains" in novelty[0].why
    )


def test_credential_domains_caps_and_orders() -> None:
    rows = [("outgoing", 7, f"d{i}.example", i + 1) for i in range(10)]
    rows += [("outgoing", 7, "D9.EXAMPLE", 5), ("incoming", 7, "in.example", 9), ("outgoing", None, "x.y", 3)]
    rows += [("outgoing", 0, "zero.example", 1), ("outgoing", 8, None, 2)]
    out = credential_domains(2, rows, limit=3)
    assert [(s.credential_id, s.domain, s.count) for s in out] == [
        (7, "d9.example", 15),
        (7, "d8.example", 9),
        (7, "d7.example", 8),
    ]
