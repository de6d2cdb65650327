"""Automatic responses against the real MariaDB with Postal's schema: guards, audit, undo, kill switch."""

# ruff: noqa: S608  # identifiers: the test database's validated name; values: params

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from postaltop.core.alerts import Alert, Scope, ScopeKind
from postaltop.core.respond import ResponseDecider, ResponseMode, ResponsePolicy
from postaltop.sources.action_executor import DbActionExecutor
from postaltop.sources.response_runner import KillSwitch, ResponseReport, ResponseRunner
from tests.actions.conftest import checksums, rows
from tests.respond.test_decide import alert
from tests.support.postal_builder import Dataset

T0 = 1_790_000_000.0


def firing(cred_id: int, name: str, *, fired: float = T0) -> Alert:
    """A firing critical novelty alert on one credential (the shape of :func:`test_decide.alert`)."""
    found = alert("novelty", Scope(ScopeKind.CREDENTIAL, str(cred_id), name), fired=fired)
    return replace(found, metric="new_domains", observed=240.0, expected=2.0, why="240 new recipient domains")


def runner(
    executor: DbActionExecutor, kill: KillSwitch | None = None, *, per_hour: int = 3, **policy: Any
) -> tuple[ResponseRunner, list[ResponseReport]]:
    spec: dict[str, Any] = {"name": "night-hold", "action": "credential-hold", "mode": ResponseMode.ACT}
    spec.update(policy)
    decider = ResponseDecider([ResponsePolicy(**spec)], lambda _a: "acme/main", max_actions_per_hour=per_hour)
    reports: list[ResponseReport] = []
    return ResponseRunner(decider, executor, kill or KillSwitch(False, None), reports.append), reports


def held(admin: Any, ds: Dataset, cred_id: int) -> int:
    return int(rows(admin, f"SELECT hold FROM `{ds.prefix}`.credentials WHERE id = %s", (cred_id,))[0][0])


async def test_act_policy_holds_the_credential_once_audits_the_alert_and_undo_restores_bytes(
    executor: DbActionExecutor, dataset: Dataset, admin: Any
) -> None:
    before = checksums(admin, dataset)
    run, reports = runner(executor, firing_for=60)
    alert = firing(1, "main main smtp")
    assert await run.review([alert], T0 + 30) == []
    assert held(admin, dataset, 1) == 0, "the firing-time guard holds it back for 60 s"
    [report] = await run.review([alert], T0 + 61)
    assert report.result == "ok", report.message
    assert held(admin, dataset, 1) == 1
    assert report.undo_command == f"postaltop act undo {report.audit_id}"
    assert await run.review([alert], T0 + 300) == [], "one incident, one action"
    entries = executor.store.list()
    assert len(entries) == 1
    entry = entries[0]
    assert entry.targets["alert"] == "novelty|credential:1"
    assert entry.targets["policy"] == "night-hold"
    assert "Automatic response (policy 'night-hold'" in entry.sentence
    assert reports == [report]
    assert report.audit_id is not None
    undo = executor.plan_undo(report.audit_id)
    undone = await executor.execute(undo, await executor.preview(undo))
    assert undone.ok, undone.message
    assert checksums(admin, dataset) == before


async def test_rate_limit_lets_one_action_through_and_holds_back_the_next(
    executor: DbActionExecutor, dataset: Dataset, admin: Any
) -> None:
    run, _ = runner(executor, firing_for=0, per_hour=1)
    creds = rows(admin, f"SELECT id, name FROM `{dataset.prefix}`.credentials WHERE server_id = 1 LIMIT 2")
    assert len(creds) == 2, "the dataset has two credentials on acme/main"
    got = await run.review([firing(int(c[0]), str(c[1])) for c in creds], T0)
    assert [r.result for r in got] == ["ok", "held-back"]
    assert "rate limit" in got[1].message
    assert [held(admin, dataset, int(c[0])) for c in creds] == [1, 0]


async def test_kill_switch_file_stops_a_policy_mid_incident(
    executor: DbActionExecutor, dataset: Dataset, admin: Any, tmp_path: Path
) -> None:
    flag = tmp_path / "respond.stop"
    run, _ = runner(executor, KillSwitch(False, flag), firing_for=60)
    alert = firing(1, "main main smtp")
    assert await run.review([alert], T0 + 10) == []
    flag.touch()  # the operator throws the switch while the policy waits on its guard
    [report] = await run.review([alert], T0 + 61)
    assert report.result == "held-back"
    assert "kill switch" in report.message
    assert held(admin, dataset, 1) == 0
    assert executor.store.list() == []


async def test_notify_mode_changes_nothing(executor: DbActionExecutor, dataset: Dataset, admin: Any) -> None:
    before = checksums(admin, dataset)
    run, _ = runner(executor, firing_for=0, mode=ResponseMode.NOTIFY)
    [report] = await run.review([firing(1, "main main smtp")], T0)
    assert report.result == "notify"
    assert "would run credential-hold" in report.text
    assert checksums(admin, dataset) == before
    assert executor.store.list() == []


async def test_actions_disabled_refuses_and_says_why(
    db_config: Any, dataset: Dataset, admin: Any, store: Any
) -> None:
    from postaltop.config import ActionsConfig

    disabled = DbActionExecutor(db_config, ActionsConfig(enabled=False), store, environ={})
    run, _ = runner(disabled, firing_for=0)
    [report] = await run.review([firing(1, "main main smtp")], T0)
    assert report.result == "refused"
    assert "enabled is false" in report.message
    assert held(admin, dataset, 1) == 0
