"""Credential hold / release / revoke against the real MariaDB with Postal's schema."""

# ruff: noqa: S608  # identifiers: {main}/{msg}/{ids} placeholders or validated names; values: params

from __future__ import annotations

from typing import Any

from postaltop.core.actions import ActionArgs, build
from postaltop.sources.action_executor import DbActionExecutor
from postaltop.store.audit import AuditStore
from tests.actions.conftest import checksums, rows
from tests.support.postal_builder import Dataset


async def _run(
    executor: DbActionExecutor, name: str, server: str, credential: str | None = None, **kw: Any
) -> Any:
    srv = await executor.resolve_server(server)
    cred = await executor.resolve_credential(srv, credential) if credential else None
    plan = build(name, ActionArgs(server=srv, credential=cred, **kw))
    preview = await executor.preview(plan)
    return plan, preview, await executor.execute(plan, preview)


async def test_hold_sets_flag_and_undo_restores_bytes(
    executor: DbActionExecutor, dataset: Dataset, admin: Any
) -> None:
    before = checksums(admin, dataset)
    _plan, preview, result = await _run(executor, "credential-hold", "acme/main", "main main smtp")
    assert preview.count == 1
    assert result.ok, result.message
    db = dataset.prefix
    got = rows(admin, f"SELECT hold, updated_at > created_at FROM `{db}`.credentials WHERE id = 1")
    assert got == [(1, 1)]
    assert checksums(admin, dataset) != before
    undo = executor.plan_undo(result.record.id)
    undone = await executor.execute(undo, await executor.preview(undo))
    assert undone.ok, undone.message
    assert checksums(admin, dataset) == before
    assert executor.store.get(result.record.id).undone_by == undone.record.id  # type: ignore[union-attr]


async def test_release_hold_on_unheld_credential_is_a_noop(
    executor: DbActionExecutor, dataset: Dataset
) -> None:
    _plan, preview, result = await _run(executor, "credential-release", "acme/main", "1")
    assert preview.count == 0
    assert result.result == "no-op"


async def test_revoke_and_undo_restore_key_exactly(
    executor: DbActionExecutor, dataset: Dataset, admin: Any, store: AuditStore, capsys: Any
) -> None:
    db = dataset.prefix
    original = rows(admin, f"SELECT * FROM `{db}`.credentials WHERE id = 1")
    key = original[0][2]
    before = checksums(admin, dataset)
    _plan, _preview, result = await _run(executor, "credential-revoke", "1", "main main smtp")
    assert result.ok, result.message
    assert rows(admin, f"SELECT COUNT(*) FROM `{db}`.credentials WHERE id = 1") == [(0,)]
    undo = executor.plan_undo(result.record.id)
    undone = await executor.execute(undo, await executor.preview(undo))
    assert undone.ok, undone.message
    assert rows(admin, f"SELECT * FROM `{db}`.credentials WHERE id = 1") == original
    assert checksums(admin, dataset) == before
    # The key is in the 0600 SQLite store only: never in the JSONL trail, never on stdout.
    assert key not in store.jsonl_path.read_text()
    assert key.encode() in store.db_path.read_bytes()
    assert store.db_path.stat().st_mode & 0o777 == 0o600
    assert store.jsonl_path.stat().st_mode & 0o777 == 0o600
    assert key not in capsys.readouterr().out


async def test_alert_context_credential_without_server(executor: DbActionExecutor, dataset: Dataset) -> None:
    from postaltop.sources.action_executor import plan_action

    plan = await plan_action(executor, "credential-hold", "", "3")
    assert plan.server_id == dataset.credentials[3][0]
    assert plan.targets["credential_id"] == 3
