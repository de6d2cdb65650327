"""Baselines and alert state persist in 0600 SQLite files and come back after a restart."""

from __future__ import annotations

import stat
from pathlib import Path

from postaltop.core.alerts import Finding, Scope, ScopeKind, Severity
from postaltop.core.baseline import Baselines
from postaltop.monitoring import Monitor
from postaltop.store.alert_state import AlertStateStore
from postaltop.store.baselines import BaselineStore

SRV = Scope(ScopeKind.SERVER, "acme/app")
NOW = 1777366800.0


def test_baselines_round_trip(tmp_path: Path) -> None:
    store = BaselineStore(tmp_path / "b.sqlite3")
    b = Baselines()
    for week in range(3):
        b.add_sample(SRV, "sent", int(NOW) - (week + 1) * 7 * 86400, 20.0 + week)
    store.save(b.take_new())
    store.close()
    assert stat.S_IMODE((tmp_path / "b.sqlite3").stat().st_mode) == 0o600
    again = Baselines()
    assert BaselineStore(tmp_path / "b.sqlite3").load_into(again, now=NOW) == 3
    assert again.expect(SRV, "sent", NOW + 1800).median == 21.0


def test_silence_and_ack_survive_restart(tmp_path: Path) -> None:
    path = tmp_path / "a.sqlite3"
    m = Monitor(alert_store=AlertStateStore(path))
    m._now = NOW
    m.alerts_manager.observe([Finding("zscore", SRV, "sent", Severity.CRITICAL, 9, 1, "why", NOW)], NOW)
    key = m.alerts_manager.alerts[0].key
    m.acknowledge(key, "on it", author="ana")
    m.silence("server:acme/*", 3600 * 1e6, "maintenance", author="ana")
    restored = AlertStateStore(path)
    (silence,) = restored.load_silences(now=NOW)
    assert silence.author == "ana" and silence.reason == "maintenance"
    assert restored.load_acks()[key].comment == "on it"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
