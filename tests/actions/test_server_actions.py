"""Suspend / unsuspend, mode and send limit: Postal's columns, and undo round-trips to identical bytes."""

# ruff: noqa: S608  # identifiers: {main}/{msg}/{ids} placeholders or validated names; values: params

from __future__ import annotations

from typing import Any

import pytest

from postaltop.core.actions import ActionArgs, PlanError, build
from postaltop.sources.action_executor import DbActionExecutor
from tests.actions.conftest import checksums, rows
from tests.support.postal_builder import Dataset


async def _act(executor: DbActionExecutor, name: str, server: str, **kw: Any) -> Any:
    srv = await executor.resolve_server(server)
    plan = build(name, ActionArgs(server=srv, **kw))
    return await executor.execute(plan, await executor.preview(plan))


async def _undo(executor: DbActionExecutor, audit_id: int) -> Any:
    plan = executor.plan_undo(audit_id)
    return await executor.execute(plan, await executor.preview(plan))


@pytest.mark.parametrize(
    ("name", "kw", "sql", "expected"),
    [
        (
            "server-suspend",
            {"reason": "Compromised credential"},
            "suspended_at IS NOT NULL, suspension_reason",
            (1, "Compromised credential"),
        ),
        ("server-mode", {"mode": "Development"}, "mode, 0", ("Development", 0)),
        ("server-send-limit", {"limit": 0}, "send_limit, 0", (0, 0)),
        ("server-send-limit", {"limit": None}, "send_limit IS NULL, 0", (1, 0)),
    ],
)
async def test_server_action_and_undo(
    executor: DbActionExecutor,
    dataset: Dataset,
    admin: Any,
    name: str,
    kw: dict[str, Any],
    sql: str,
    expected: Any,
) -> None:
    before = checksums(admin, dataset)
    result = await _act(executor, name, "acme/main", **kw)
    assert result.ok, result.message
    assert rows(admin, f"SELECT {sql} FROM `{dataset.prefix}`.servers WHERE id = 1") == [expected]
    undone = await _undo(executor, result.record.id)
    assert undone.ok, undone.message
    assert checksums(admin, dataset) == before


async def test_unsuspend_clears_both_columns(
    executor: DbActionExecutor, dataset: Dataset, admin: Any
) -> None:
    result = await _act(executor, "server-unsuspend", "globex/newsletters")
    assert result.ok, result.message
    got = rows(admin, f"SELECT suspended_at, suspension_reason FROM `{dataset.prefix}`.servers WHERE id = 4")
    assert got == [(None, None)]


async def test_suspend_needs_a_reason(executor: DbActionExecutor, dataset: Dataset) -> None:
    srv = await executor.resolve_server("acme/main")
    with pytest.raises(PlanError, match="reason"):
        build("server-suspend", ActionArgs(server=srv, reason="  "))


async def test_disabled_actions_change_nothing(db_config: Any, store: Any, dataset: Dataset) -> None:
    from postaltop.config import ActionsConfig
    from postaltop.sources.action_executor import ActionsDisabled

    ro = DbActionExecutor(db_config, ActionsConfig(), store, environ={})
    srv = await ro.resolve_server("acme/main")
    plan = build("server-mode", ActionArgs(server=srv, mode="Development"))
    with pytest.raises(ActionsDisabled, match="enabled = true"):
        await ro.execute(plan, await ro.preview(plan))
