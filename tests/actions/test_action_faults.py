"""Actions through a fault-injecting TCP proxy: the audit tells what the database really holds."""

# ruff: noqa: S608  # identifiers: validated names in f-strings; values: params

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from postaltop.config import ActionsConfig, DatabaseConfig
from postaltop.core.actions import ActionArgs, MailFilter, build
from postaltop.sources.action_executor import DbActionExecutor
from postaltop.store.audit import AuditStore
from tests.actions.conftest import checksums, rows
from tests.actions.test_bulk_actions import SENDER, _add_queued
from tests.support import mysql
from tests.support.fault_proxy import FaultProxy, fault_proxy
from tests.support.postal_builder import Dataset, add_traffic

pytestmark = pytest.mark.mysql


@pytest.fixture
def proxy(mysql_target: mysql.MysqlTarget) -> Iterator[FaultProxy]:
    """A fault proxy in front of the test MariaDB."""
    with fault_proxy(mysql_target.host, mysql_target.port) as running:
        yield running


@pytest.fixture
def proxied(db_config: DatabaseConfig, proxy: FaultProxy, store: AuditStore) -> DbActionExecutor:
    """An executor (actions enabled) that reaches the database only through ``proxy``."""
    config = db_config.model_copy(update={"host": "127.0.0.1", "port": proxy.port, "query_timeout": 1.0})
    return DbActionExecutor(config, ActionsConfig(enabled=True), store, environ={})


async def _hold_plan(executor: DbActionExecutor) -> tuple[Any, Any]:
    server = await executor.resolve_server("acme/main")
    credential = await executor.resolve_credential(server, "main main smtp")
    plan = build("credential-hold", ActionArgs(server=server, credential=credential))
    return plan, await executor.preview(plan)


def _hold(admin: Any, ds: Dataset) -> int:
    return int(rows(admin, f"SELECT hold FROM `{ds.prefix}`.credentials WHERE id = 1")[0][0])


async def test_commit_reply_lost_is_read_back_as_committed_and_undo_works(
    proxied: DbActionExecutor, proxy: FaultProxy, dataset: Dataset, admin: Any, store: AuditStore
) -> None:
    before = checksums(admin, dataset)
    plan, preview = await _hold_plan(proxied)
    assert preview.endpoint == f"root@127.0.0.1:{proxy.port} (direct)"
    proxy.swallow("COMMIT")
    result = await proxied.execute(plan, preview)
    assert proxy.swallowed == 1
    assert _hold(admin, dataset) == 1  # the write landed
    assert result.result == "ok", result.message
    assert "reply was lost" in result.message and "read back" in result.message
    record = store.get(result.record.id or 0)
    assert record is not None and record.result == "ok"
    assert record.targets["database"] == preview.endpoint
    assert record.before["main.credentials"][0]["hold"] == 0
    assert record.after["main.credentials"][0]["hold"] == 1
    undo = proxied.plan_undo(result.record.id or 0)
    undone = await proxied.execute(undo, await proxied.preview(undo))
    assert undone.ok, undone.message
    assert checksums(admin, dataset) == before


async def test_cut_before_commit_says_nothing_changed(
    proxied: DbActionExecutor, proxy: FaultProxy, dataset: Dataset, admin: Any, store: AuditStore
) -> None:
    before = checksums(admin, dataset)
    plan, preview = await _hold_plan(proxied)

    async def cut() -> None:
        proxy.cut_all()

    proxied._before_commit = cut
    result = await proxied.execute(plan, preview)
    assert _hold(admin, dataset) == 0
    assert checksums(admin, dataset) == before
    assert result.result == "not-committed", result.message
    assert result.message.startswith("nothing changed")
    record = store.get(result.record.id or 0)
    assert record is not None and record.result == "not-committed" and not record.after
    with pytest.raises(Exception, match="changed nothing"):
        proxied.plan_undo(result.record.id or 0)


async def test_bulk_hold_with_lost_commit_reply_is_audited_true_and_undone(
    proxied: DbActionExecutor, proxy: FaultProxy, dataset: Dataset, admin: Any
) -> None:
    ids = _add_queued(admin, dataset, [1] * 9)
    before = checksums(admin, dataset)
    server = await proxied.resolve_server("acme/main")
    plan = build("hold-queued", ActionArgs(server=server, filter=MailFilter(credential_id=1, sender=SENDER)))
    preview = await proxied.preview(plan)
    assert list(preview.keys) == ids
    proxy.swallow("COMMIT")
    result = await proxied.execute(plan, preview)
    assert proxy.swallowed == 1
    left = rows(
        admin, f"SELECT COUNT(*) FROM `{dataset.prefix}`.queued_messages WHERE message_id IN %s", (ids,)
    )
    assert left == [(0,)]  # the 9 queue rows were deleted: the commit landed
    assert result.result == "ok", result.message
    undo = proxied.plan_undo(result.record.id or 0)
    assert (await proxied.execute(undo, await proxied.preview(undo))).ok
    assert checksums(admin, dataset) == before


async def test_stalled_database_refuses_within_the_deadline_and_is_audited(
    proxied: DbActionExecutor, proxy: FaultProxy, dataset: Dataset, admin: Any, store: AuditStore
) -> None:
    plan, preview = await _hold_plan(proxied)
    proxy.stall()
    started = time.monotonic()
    result = await proxied.execute(plan, preview)
    took = time.monotonic() - started
    assert took < 3.0, took  # query_timeout is 1 s: the handshake is bounded
    assert result.result == "refused" and "not answering" in result.message, result.message
    assert "nothing changed" in result.message
    assert _hold(admin, dataset) == 0
    record = store.get(result.record.id or 0)
    assert record is not None and record.result == "refused"


async def test_collation_widened_recipient_domain_is_shown_in_the_preview(
    executor: DbActionExecutor, dataset: Dataset, admin: Any
) -> None:
    add_traffic(
        admin,
        dataset.prefix,
        1,
        [("outgoing", 1, "a@gmail.com", "Held", 0), ("outgoing", 1, "b@GMAIL.com", "Held", 0)],
    )
    server = await executor.resolve_server("acme/main")
    fullwidth = "\uff47mail.com"
    plan = build(
        "cancel-hold", ActionArgs(server=server, filter=MailFilter(sender=SENDER, recipient_domain=fullwidth))
    )
    preview = await executor.preview(plan)
    assert preview.count >= 2  # the collation matched the ASCII domain
    assert len(preview.notes) == 1
    note = preview.notes[0]
    assert "'gmail.com'" in note and "'GMAIL.com'" in note and "widens" in note
    plain = build(
        "cancel-hold",
        ActionArgs(server=server, filter=MailFilter(sender=SENDER, recipient_domain="gmail.com")),
    )
    assert len((await executor.preview(plain)).notes) == 1  # GMAIL.com differs from the typed value too
