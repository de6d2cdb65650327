"""The demo executor: the same plans applied to the simulator with Postal's semantics."""

from __future__ import annotations

from pathlib import Path

import pytest

from postaltop.config import ActionsConfig
from postaltop.core.actions import PlanError
from postaltop.core.sim import Fleet
from postaltop.sources.action_executor import plan_action
from postaltop.sources.demo_actions import DemoActionExecutor
from postaltop.store.audit import AuditStore

EPOCH = 1777366800.0


def _fleet() -> Fleet:
    return Fleet(seed=3, scenario="compromised-credential", start=EPOCH)


async def test_holding_the_compromised_credential_stops_its_mail(tmp_path: Path) -> None:
    fleet = _fleet()
    fleet.advance(EPOCH + 900)  # the attack started at 600 s
    store = AuditStore(tmp_path)
    executor = DemoActionExecutor(fleet, ActionsConfig(), store)
    cred = fleet.installation.server("acme/transactional").credential("main smtp")
    sent_before = fleet.counters.credential_total(cred.id, "sent", EPOCH + 600, EPOCH + 900)
    assert sent_before > 0
    plan = await plan_action(executor, "credential-hold", "acme/transactional", "main smtp")
    preview = await executor.preview(plan)
    assert preview.count == 1
    result = await executor.execute(plan, preview)
    assert result.ok and cred.hold
    lines = fleet.advance(EPOCH + 1500)
    start = EPOCH + 960  # from the next full minute on
    assert fleet.counters.credential_total(cred.id, "sent", start, EPOCH + 1500) == 0
    assert fleet.counters.credential_total(cred.id, "held", start, EPOCH + 1500) > 50
    assert any(b"credential wants us to hold messages, holding" in s.line for s in lines)
    # Undo through the same flow: mail flows again.
    undo = executor.last_undo_plan()
    undone = await executor.execute(undo, await executor.preview(undo))
    assert undone.ok and not cred.hold
    fleet.advance(EPOCH + 2100)
    assert fleet.counters.credential_total(cred.id, "sent", EPOCH + 1560, EPOCH + 2100) > 0
    records = store.list(demo=True)
    assert [(r.action, r.result, r.demo) for r in records] == [
        ("credential-hold", "ok", True),
        ("undo", "ok", True),
    ]
    assert cred.key not in store.jsonl_path.read_text()


async def test_hold_queued_takes_ready_rows_and_undo_requeues(tmp_path: Path) -> None:
    fleet = _fleet()
    fleet.advance(EPOCH + 700)
    executor = DemoActionExecutor(fleet, ActionsConfig(), AuditStore(tmp_path))
    plan = await plan_action(executor, "hold-queued", "acme/transactional", "main smtp")
    preview = await executor.preview(plan)
    assert preview.count > 0
    taken = set(preview.keys)
    result = await executor.execute(plan, preview)
    assert result.ok
    assert fleet.worker.queue_depth() >= 0 and all(
        k not in taken for k in (await executor.preview(plan)).keys
    )
    assert (await executor.preview(plan)).count == 0
    undo = executor.last_undo_plan()
    assert (await executor.execute(undo, await executor.preview(undo))).ok


@pytest.mark.parametrize("action", ["server-suspend", "server-mode", "server-send-limit"])
async def test_server_actions_flip_the_model(tmp_path: Path, action: str) -> None:
    fleet = _fleet()
    executor = DemoActionExecutor(fleet, ActionsConfig(), AuditStore(tmp_path))
    value = {"server-suspend": "abuse", "server-mode": "Development", "server-send-limit": "0"}[action]
    plan = await plan_action(executor, action, "acme/transactional", value=value)
    assert (await executor.execute(plan, await executor.preview(plan))).ok
    srv = fleet.installation.server("acme/transactional")
    assert (srv.suspended, srv.mode, srv.send_limit) != (False, "Live", None)
    undo = executor.last_undo_plan()
    assert (await executor.execute(undo, await executor.preview(undo))).ok
    assert (srv.suspended, srv.mode, srv.send_limit) == (False, "Live", None)


async def test_unmodelled_actions_are_refused_in_the_demo(tmp_path: Path) -> None:
    executor = DemoActionExecutor(_fleet(), ActionsConfig(), AuditStore(tmp_path))
    plan = await plan_action(executor, "release-held", "acme/transactional")
    with pytest.raises(PlanError, match="not modelled"):
        await executor.preview(plan)
