"""Bulk actions on held / queued mail: Postal's rows, undo to identical bytes, drift, verify, privileges."""

# ruff: noqa: S608  # identifiers: {main}/{msg}/{ids} placeholders or validated names; values: params

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from postaltop.config import ActionsConfig
from postaltop.core.actions import ActionArgs, MailFilter, build
from postaltop.sources.action_executor import DbActionExecutor
from postaltop.store.audit import AuditStore
from tests.actions.conftest import checksums, rows
from tests.support import mysql
from tests.support.postal_builder import Dataset, add_traffic

SENDER = "app@example.com"  # add_traffic's sender: the builder's own messages use app@<server>.example


def _add_queued(admin: Any, ds: Dataset, creds: list[int], locked: int = 0) -> list[int]:
    """Pending outgoing messages of server 1 with queue rows (the first ``locked`` locked by a worker)."""
    (first,) = rows(admin, f"SELECT COALESCE(MAX(id), 0) + 1 FROM `{ds.prefix}-server-1`.messages")[0]
    add_traffic(
        admin, ds.prefix, 1, [("outgoing", c, f"r{i}@victim.example", None, 0) for i, c in enumerate(creds)]
    )
    ids = list(range(first, first + len(creds)))
    with admin.cursor() as cur:
        for n, mid in enumerate(ids):
            lock = n < locked
            cur.execute(
                f"INSERT INTO `{ds.prefix}`.queued_messages (server_id, message_id, domain, locked_by, "
                "locked_at, "
                "created_at, updated_at, attempts, batch_key) VALUES (1, %s, 'victim.example', %s, "
                "IF(%s, UTC_TIMESTAMP(6), NULL), UTC_TIMESTAMP(6), UTC_TIMESTAMP(6), 0, "
                "'outgoing-victim.example')",
                (mid, "worker-1:thread-0" if lock else None, lock),
            )
    return ids


def _add_held(admin: Any, ds: Dataset, n: int, cred: int = 1) -> list[int]:
    (first,) = rows(admin, f"SELECT COALESCE(MAX(id), 0) + 1 FROM `{ds.prefix}-server-1`.messages")[0]
    add_traffic(admin, ds.prefix, 1, [("outgoing", cred, f"h{i}@held.example", "Held", 0) for i in range(n)])
    return list(range(first, first + n))


async def _plan(executor: DbActionExecutor, name: str, f: MailFilter) -> Any:
    srv = await executor.resolve_server("acme/main")
    return build(name, ActionArgs(server=srv, filter=f))


async def test_hold_queued_as_the_pipeline_does_and_undo(
    executor: DbActionExecutor, dataset: Dataset, admin: Any
) -> None:
    ids = _add_queued(admin, dataset, [1, 1, 1, 1, 1, 2, 2], locked=1)
    before = checksums(admin, dataset)
    plan = await _plan(executor, "hold-queued", MailFilter(credential_id=1, sender=SENDER))
    preview = await executor.preview(plan)
    assert list(preview.keys) == ids[1:5]  # the locked row is in flight: not selected; credential 2 not
    result = await executor.execute(plan, preview)
    assert result.ok, result.message
    db, msg = dataset.prefix, f"`{dataset.prefix}-server-1`"
    left = rows(
        admin, f"SELECT message_id FROM `{db}`.queued_messages WHERE message_id IN %s ORDER BY 1", (ids,)
    )
    assert [r[0] for r in left] == [ids[0], ids[5], ids[6]]
    held = rows(
        admin,
        f"SELECT status, held, hold_expiry - last_delivery_attempt FROM {msg}.messages WHERE id IN %s",
        (ids[1:5],),
    )
    assert {(s, h, int(e)) for s, h, e in held} == {("Held", 1, 7 * 86400)}
    deliveries = rows(
        admin, f"SELECT message_id, status, details FROM {msg}.deliveries WHERE message_id IN %s", (ids[1:5],)
    )
    assert sorted(d[0] for d in deliveries) == ids[1:5]
    assert {d[1] for d in deliveries} == {"Held"}
    # Undo: queue rows back (same ids and columns), deliveries gone, messages Pending again.
    undo = executor.plan_undo(result.record.id)
    undone = await executor.execute(undo, await executor.preview(undo))
    assert undone.ok, undone.message
    assert checksums(admin, dataset) == before


async def test_release_held_requeues_exactly_the_selected(
    executor: DbActionExecutor, dataset: Dataset, admin: Any
) -> None:
    ids = _add_held(admin, dataset, 3)
    other = _add_held(admin, dataset, 2, cred=2)
    before = checksums(admin, dataset)
    msg_before = rows(admin, f"SELECT * FROM `{dataset.prefix}-server-1`.messages WHERE id IN %s", (ids,))
    plan = await _plan(executor, "release-held", MailFilter(credential_id=1, sender=SENDER))
    preview = await executor.preview(plan)
    assert list(preview.keys) == ids
    result = await executor.execute(plan, preview)
    assert result.ok, result.message
    queued = rows(
        admin,
        f"SELECT message_id, domain, batch_key, manual, attempts, locked_by, retry_after, ip_address_id "
        f"FROM `{dataset.prefix}`.queued_messages WHERE server_id = 1 AND message_id IN %s "
        "ORDER BY message_id",
        (ids + other,),
    )
    assert queued == [(i, "held.example", "outgoing-held.example", 1, 0, None, None, None) for i in ids]
    # Postal's release does not touch the message row; the worker's next delivery does.
    assert (
        rows(admin, f"SELECT * FROM `{dataset.prefix}-server-1`.messages WHERE id IN %s", (ids,))
        == msg_before
    )
    # No double queueing: a second release selects nothing.
    assert (await executor.preview(plan)).count == 0
    undo = executor.plan_undo(result.record.id)
    assert (await executor.execute(undo, await executor.preview(undo))).ok
    assert checksums(admin, dataset) == before


async def test_cancel_hold_as_hold_expiry_and_undo(
    executor: DbActionExecutor, dataset: Dataset, admin: Any
) -> None:
    ids = _add_held(admin, dataset, 4)
    before = checksums(admin, dataset)
    plan = await _plan(executor, "cancel-hold", MailFilter(sender=SENDER, recipient_domain="held.example"))
    result = await executor.execute(plan, await executor.preview(plan))
    assert result.ok, result.message
    msg = f"`{dataset.prefix}-server-1`"
    got = rows(admin, f"SELECT status, held, hold_expiry FROM {msg}.messages WHERE id IN %s", (ids,))
    assert set(got) == {("HoldCancelled", 0, None)}
    details = rows(
        admin,
        f"SELECT details FROM {msg}.deliveries WHERE message_id IN %s AND status='HoldCancelled'",
        (ids,),
    )
    assert [d[0] for d in details] == ["The hold on this message has been removed without action."] * 4
    undo = executor.plan_undo(result.record.id)
    assert (await executor.execute(undo, await executor.preview(undo))).ok
    assert checksums(admin, dataset) == before


async def test_drift_between_preview_and_execute_aborts(
    executor: DbActionExecutor, dataset: Dataset, admin: Any
) -> None:
    ids = _add_queued(admin, dataset, [1, 1, 1])
    plan = await _plan(executor, "hold-queued", MailFilter(credential_id=1, sender=SENDER))
    preview = await executor.preview(plan)
    assert preview.count == 3
    # A worker locks one of the previewed rows meanwhile.
    with admin.cursor() as cur:
        cur.execute(
            f"UPDATE `{dataset.prefix}`.queued_messages SET locked_by = 'w', locked_at = UTC_TIMESTAMP(6) "
            "WHERE message_id = %s AND server_id = 1",
            (ids[0],),
        )
    before = checksums(admin, dataset)
    result = await executor.execute(plan, preview)
    assert result.result == "aborted-drift"
    assert "nothing changed" in result.message
    assert checksums(admin, dataset) == before
    assert executor.store.get(result.record.id).result == "aborted-drift"  # type: ignore[union-attr]


async def test_failed_verification_is_reported(
    dataset: Dataset, admin: Any, db_config: Any, store: AuditStore
) -> None:
    ids = _add_queued(admin, dataset, [1, 1])

    async def requeue_one() -> None:  # someone requeues a message right after our commit
        with admin.cursor() as cur:
            cur.execute(
                f"INSERT INTO `{dataset.prefix}`.queued_messages (server_id, message_id, domain, created_at, "
                "updated_at, attempts, batch_key, manual) VALUES (1, %s, 'victim.example', UTC_TIMESTAMP(6), "
                "UTC_TIMESTAMP(6), 0, 'outgoing-victim.example', 1)",
                (ids[0],),
            )

    executor = DbActionExecutor(
        db_config, ActionsConfig(enabled=True), store, environ={}, after_commit=requeue_one
    )
    plan = await _plan(executor, "hold-queued", MailFilter(credential_id=1, sender=SENDER))
    result = await executor.execute(plan, await executor.preview(plan))
    assert result.result == "verify-failed"
    assert "no queue rows left: expected 0, found 1" in result.message
    assert store.get(result.record.id).result == "verify-failed"  # type: ignore[union-attr]


async def test_concurrent_worker_waits_and_cannot_take_held_rows(
    dataset: Dataset, admin: Any, db_config: Any, store: AuditStore, mysql_target: mysql.MysqlTarget
) -> None:
    ids = _add_queued(admin, dataset, [1, 1, 1])
    taken: list[Any] = []

    def worker() -> None:  # Postal's lock statement, from another connection, while our transaction is open
        conn = mysql.connect(mysql_target)
        try:
            with conn.cursor() as cur:
                cur.execute(
                    f"UPDATE `{dataset.prefix}`.queued_messages SET locked_by = 'worker-9', "
                    "locked_at = UTC_TIMESTAMP(6) WHERE server_id = 1 AND message_id IN %s "
                    "AND locked_by IS NULL AND locked_at IS NULL LIMIT 1",
                    (ids,),
                )
                taken.append(cur.rowcount)
        finally:
            conn.close()

    thread = threading.Thread(target=worker)

    async def start_worker() -> None:
        thread.start()
        await asyncio.sleep(0.3)  # the worker is now blocked on our row locks

    executor = DbActionExecutor(db_config, ActionsConfig(enabled=True), store, environ={})
    plan = await _plan(executor, "hold-queued", MailFilter(credential_id=1, sender=SENDER))
    preview = await executor.preview(plan)
    executor._before_commit = start_worker
    started = time.monotonic()
    result = await executor.execute(plan, preview)
    thread.join(10)
    assert result.ok, result.message
    assert taken == [0]  # after our commit the rows are gone: the worker found nothing to lock
    assert time.monotonic() - started >= 0.3


async def test_permission_denied_leaves_nothing_half_done(
    dataset: Dataset, admin: Any, mysql_target: mysql.MysqlTarget, store: AuditStore
) -> None:
    _add_queued(admin, dataset, [1, 1])
    before = checksums(admin, dataset)
    db = dataset.prefix
    grants = [f"SELECT, DELETE ON `{db}`.*", f"SELECT ON `{db}-server-1`.*"]
    with mysql.temporary_user(mysql_target, "pt_actro" + db[3:9], grants) as (user, password):
        config = mysql.database_config(mysql_target, db, user=user, password=password)
        executor = DbActionExecutor(config, ActionsConfig(enabled=True), store, environ={})
        plan = await _plan(executor, "hold-queued", MailFilter(credential_id=1, sender=SENDER))
        result = await executor.execute(plan, await executor.preview(plan))
    assert result.result == "denied"
    assert "command denied" in result.message and "GRANT" in result.message
    assert checksums(admin, dataset) == before  # the queue-row DELETE was rolled back


@pytest.mark.parametrize("action", ["suppress-add", "suppress-remove"])
async def test_suppression_add_remove_and_undo(
    executor: DbActionExecutor, dataset: Dataset, admin: Any, action: str
) -> None:
    msg = f"`{dataset.prefix}-server-1`"
    with admin.cursor() as cur:
        cur.execute(
            f"INSERT INTO {msg}.suppressions (type, address, reason, timestamp, keep_until) VALUES "
            "('recipient', 'old@x.example', 'too many hard fails', 1700000000, UNIX_TIMESTAMP() + 86400)"
        )
    before = checksums(admin, dataset)
    srv = await executor.resolve_server("acme/main")
    addresses = ["old@x.example", "new@x.example"]
    plan = build(action, ActionArgs(server=srv, addresses=addresses, reason="incident 42"))
    result = await executor.execute(plan, await executor.preview(plan))
    assert result.ok, result.message
    got = rows(
        admin,
        f"SELECT address, reason, keep_until - timestamp > 86400 FROM {msg}.suppressions ORDER BY address",
    )
    if action == "suppress-add":
        assert [(a, r) for a, r, _ in got] == [
            ("new@x.example", "incident 42"),
            ("old@x.example", "incident 42"),
        ]
        assert got[0][2] == 1  # 30 days for a new entry
    else:
        assert got == []
    undo = executor.plan_undo(result.record.id)
    assert (await executor.execute(undo, await executor.preview(undo))).ok
    assert checksums(admin, dataset) == before


async def test_suppress_domain_takes_the_servers_recipients(
    executor: DbActionExecutor, dataset: Dataset, admin: Any
) -> None:
    _add_held(admin, dataset, 3)
    srv = await executor.resolve_server("acme/main")
    plan = build("suppress-add", ActionArgs(server=srv, domain="held.example"))
    preview = await executor.preview(plan)
    assert list(preview.keys) == ["h0@held.example", "h1@held.example", "h2@held.example"]
    assert (await executor.execute(plan, preview)).ok
    got = rows(
        admin,
        f"SELECT COUNT(*) FROM `{dataset.prefix}-server-1`.suppressions WHERE address LIKE '%%@held.example'",
    )
    assert got == [(3,)]


def least_privilege_grants(main: str) -> list[str]:
    """The GRANTs docs/actions.md gives for an actions user (``main`` = main DB, prefix = main here)."""
    return [
        f"SELECT ON `{main}`.*",
        f"UPDATE ON `{main}`.`servers`",
        f"INSERT, UPDATE, DELETE ON `{main}`.`credentials`",
        f"INSERT, DELETE ON `{main}`.`queued_messages`",
        f"SELECT, INSERT, UPDATE, DELETE ON `{main.replace('_', chr(92) + '_')}-server-%`.*",
    ]


async def test_every_action_and_undo_works_with_the_documented_grants(
    dataset: Dataset, admin: Any, mysql_target: mysql.MysqlTarget, store: AuditStore
) -> None:
    _add_queued(admin, dataset, [1, 1])
    _add_held(admin, dataset, 2)
    before = checksums(admin, dataset)
    db = dataset.prefix
    with mysql.temporary_user(mysql_target, "pt_actlp" + db[3:9], least_privilege_grants(db)) as (user, pw):
        config = mysql.database_config(mysql_target, db, user=user, password=pw)
        executor = DbActionExecutor(config, ActionsConfig(enabled=True), store, environ={})
        srv = await executor.resolve_server("acme/main")
        cred = await executor.resolve_credential(srv, "main main smtp")
        done: list[int] = []
        for name, kw in [
            ("credential-hold", {"credential": cred}),
            ("hold-queued", {"filter": MailFilter(credential_id=1, sender=SENDER)}),
            ("release-held", {"filter": MailFilter(sender=SENDER, recipient_domain="held.example")}),
            ("server-suspend", {"reason": "incident"}),
            ("server-send-limit", {"limit": 0}),
            ("suppress-add", {"addresses": ["a@b.example"]}),
            ("credential-revoke", {"credential": cred}),
        ]:
            plan = build(name, ActionArgs(server=srv, **kw))  # type: ignore[arg-type]
            result = await executor.execute(plan, await executor.preview(plan))
            assert result.ok, (name, result.message)
            assert result.record.db_user.startswith(user)
            done.append(result.record.id or 0)
        for audit_id in reversed(done):
            undo = executor.plan_undo(audit_id)
            result = await executor.execute(undo, await executor.preview(undo))
            assert result.ok, (audit_id, result.message)
    assert checksums(admin, dataset) == before


async def test_undo_aborts_when_a_worker_took_the_released_message(
    executor: DbActionExecutor, dataset: Dataset, admin: Any
) -> None:
    ids = _add_held(admin, dataset, 2)
    plan = await _plan(executor, "release-held", MailFilter(sender=SENDER, recipient_domain="held.example"))
    result = await executor.execute(plan, await executor.preview(plan))
    assert result.ok
    with admin.cursor() as cur:  # a worker locks one released row: it is being sent
        cur.execute(
            f"UPDATE `{dataset.prefix}`.queued_messages SET locked_by = 'w', locked_at = UTC_TIMESTAMP(6) "
            "WHERE message_id = %s AND server_id = 1",
            (ids[0],),
        )
    middle = checksums(admin, dataset)
    undo = executor.plan_undo(result.record.id or 0)
    undone = await executor.execute(undo, await executor.preview(undo))
    assert undone.result == "aborted-drift"
    assert checksums(admin, dataset) == middle  # the other row was not deleted either
    assert executor.store.get(result.record.id or 0).undone_by is None  # type: ignore[union-attr]
