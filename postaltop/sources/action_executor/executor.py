"""The :class:`DbActionExecutor`: a plan executed in one transaction, verified and audited; its undo."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import pymysql

from postaltop.config import ActionsConfig
from postaltop.core.actions import ActionPlan, PlanError, Preview, undo_plan
from postaltop.sources import db_queries as q
from postaltop.sources.action_executor.results import (
    DENIED_CODES,
    ActionsDisabled,
    Drift,
    ExecResult,
    audit_record,
)
from postaltop.sources.action_executor.settle import CommitSettler
from postaltop.sources.postal_db import clean_error, error_code
from postaltop.store.audit import UNDOABLE_RESULTS, AuditRecord, AuditStore


@dataclass(slots=True)
class _Progress:
    """How far an execution got (what a database error during it means depends on that)."""

    phase: str = "before-commit"
    keys: tuple[Any, ...] = ()


class DbActionExecutor(CommitSettler):
    """Previews and executes plans against the configured database; appends to ``store``."""

    async def execute(self, plan: ActionPlan, preview: Preview) -> ExecResult:
        """Run ``plan`` if the selection still matches ``preview``; verify; audit. Never raises for DB errors.

        The audited result says what really happened:

        * ``refused`` / ``denied`` / ``aborted-drift`` / ``no-op`` / ``not-committed``: nothing changed;
        * ``ok``: committed and verified; ``verify-failed``: committed, but the checks did not hold (or could
          not run);
        * when the reply to COMMIT is lost the rows are read back on a new connection (after the old one is
          killed, so its transaction is over): ``ok`` / ``verify-failed`` when they hold the planned values,
          ``not-committed`` when they hold the previous ones, ``unknown`` when that cannot be decided.

        Raises:
            ActionsDisabled: when actions are not enabled.
        """
        if not self.enabled:
            raise ActionsDisabled()
        record = audit_record(plan, preview, db_user="")
        record.targets["database"] = self.connector.endpoint().describe()
        try:
            conn = await self._connect()
        except Exception as exc:  # refused, unreachable, not answering, tunnel down
            result = "denied" if error_code(exc) in DENIED_CODES else "refused"
            return self._finish(record, result, f"refused: {clean_error(exc)}; nothing changed")
        thread_id = conn.thread_id()
        progress = _Progress()
        try:
            async with conn.cursor() as cur:
                outcome = await self._transact(conn, cur, record, plan, preview, progress)
        except Drift as exc:
            await self._rollback(conn)
            record.before, record.after = {}, {}
            return self._finish(record, "aborted-drift", f"aborted, nothing changed: {exc}")
        except (pymysql.err.MySQLError, OSError, TimeoutError) as exc:
            conn.close()
            return await self._failed(record, plan, progress, thread_id, exc)
        finally:
            conn.close()
        return outcome

    async def _transact(
        self,
        conn: Any,
        cur: Any,
        record: AuditRecord,
        plan: ActionPlan,
        preview: Preview,
        progress: _Progress,
    ) -> ExecResult:
        """The transaction: lock and compare the selection, snapshot, write, snapshot, COMMIT, verify."""
        await self._exec(cur, q.CURRENT_USER)
        row = await cur.fetchone()
        record.db_user = str(row[0]) if row else "?"
        await asyncio.wait_for(conn.autocommit(False), self.statement_timeout)
        await self._exec(cur, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
        await asyncio.wait_for(conn.begin(), self.statement_timeout)
        await self._exec(cur, "SET @pt_now = UNIX_TIMESTAMP(NOW(6))")
        keys = progress.keys = await self._select(cur, plan, lock=True)
        if keys != tuple(preview.keys):
            raise Drift(
                f"the selection changed since the preview "
                f"({len(preview.keys)} {plan.selection_noun} "
                f"previewed, {len(keys)} now)"
            )
        if not keys and plan.selection is not None:
            await self._rollback(conn)
            return self._finish(record, "no-op", f"no {plan.selection_noun} to change")
        record.before = await self._snapshots(cur, plan, keys, lock=True)
        for st in plan.statements:
            await self._statement(cur, plan, st, keys)
        record.after = await self._snapshots(cur, plan, keys, lock=False)
        if self._before_commit is not None:
            await self._before_commit()
        progress.phase = "commit"
        await asyncio.wait_for(conn.commit(), self.statement_timeout)
        progress.phase = "verify"
        await asyncio.wait_for(conn.autocommit(True), self.statement_timeout)
        if self._after_commit is not None:
            await self._after_commit()
        checks = await self._checks(cur, plan, keys)
        return self._verified(record, plan, keys, checks)

    async def _failed(
        self, record: AuditRecord, plan: ActionPlan, progress: _Progress, thread_id: int, exc: BaseException
    ) -> ExecResult:
        """A database error during the transaction: what it means depends on how far it got."""
        if progress.phase == "before-commit":
            # COMMIT was never sent: the server rolls the transaction back (now, or when it notices the
            # connection is gone).
            record.before, record.after = {}, {}
            result = "denied" if error_code(exc) in DENIED_CODES else "not-committed"
            hint = (
                " (the database user lacks a privilege: see docs/actions.md for the GRANTs)"
                if result == "denied"
                else ""
            )
            return self._finish(record, result, f"nothing changed: {clean_error(exc)}{hint}")
        if progress.phase == "commit":
            return await self._settle(record, plan, progress.keys, thread_id, exc)
        return self._finish(
            record,
            "verify-failed",
            f"committed, but verification failed: could not verify ({clean_error(exc)})",
        )

    def plan_undo(self, audit_id: int) -> ActionPlan:
        """The plan that undoes audit entry ``audit_id`` (real, not demo).

        Raises:
            PlanError: unknown id, a demo entry, already undone, or nothing to undo.
        """
        record = self.store.get(audit_id)
        if record is None:
            raise PlanError(f"no audit entry #{audit_id}")
        if record.demo:
            raise PlanError(f"audit entry #{audit_id} is from the demo")
        if record.undone_by is not None:
            raise PlanError(f"audit entry #{audit_id} was already undone by #{record.undone_by}")
        if record.result not in UNDOABLE_RESULTS or not (record.before or record.after):
            raise PlanError(f"audit entry #{audit_id} changed nothing ({record.result})")
        summary = {
            "action": record.action,
            "server": record.server,
            "server_id": record.targets.get("server_id"),
        }
        return undo_plan(summary, audit_id, record.before, record.after)

    def last_undo_plan(self) -> ActionPlan:
        """Undo of the most recent real action not undone yet.

        Raises:
            PlanError: when there is none.
        """
        record = self.store.last_undoable(demo=False)
        if record is None or record.id is None:
            raise PlanError("nothing to undo: no action in the audit trail yet")
        return self.plan_undo(record.id)


async def plan_action(
    executor: Any,
    name: str,
    server_text: str,
    credential_text: str = "",
    *,
    value: str = "",
    actions: ActionsConfig | None = None,
) -> ActionPlan:
    """Resolve the typed targets with ``executor`` (DB or demo) and plan ``name`` (the UI's entry point).

    ``value`` is the action's free argument: the suspension reason, the mode, the send limit (``none`` clears
    it), recipient addresses (space separated) or ``@domain`` for the suppression list.

    Raises:
        PlanError / RefusedAction: unknown target, bad value, or an action only Postal can do.
    """
    from postaltop.core.actions import ActionArgs, MailFilter, build

    if not server_text.strip():
        if not credential_text.strip().lstrip("#").isdigit():
            raise PlanError("type the server (id or org/server)")
        server_text = str(await executor.server_of_credential(int(credential_text.strip().lstrip("#"))))
    server = await executor.resolve_server(server_text)
    credential = (
        await executor.resolve_credential(server, credential_text) if credential_text.strip() else None
    )
    value = value.strip()
    limit: int | None = None
    if name == "server-send-limit" and value.lower() not in ("", "none", "clear", "off"):
        if not value.isdigit():
            raise PlanError("the send limit is a whole number (or 'none' to clear it)")
        limit = int(value)
    words = value.split()
    domain = words[0][1:] if len(words) == 1 and words[0].startswith("@") else None
    args = ActionArgs(
        server=server,
        credential=credential,
        reason=(value or None) if name == "server-suspend" else None,
        mode=value.capitalize() if name == "server-mode" and value else None,
        limit=limit,
        addresses=[] if domain else words,
        domain=domain,
        filter=MailFilter(credential_id=credential.id if credential else None),
        ip_pools=actions.ip_pools if actions else False,
    )
    return build(name, args)


def attach_db_actions(app: Any, settings: Any) -> DbActionExecutor:
    """Give the UI (``x`` / ``u``) an executor on the configured database (writes only if enabled)."""
    from postaltop.sources.db_connect import connector_for

    actions = settings.actions
    executor = DbActionExecutor(
        settings.database, actions, AuditStore(operator=actions.operator), connector=connector_for(settings)
    )
    app.action_executor = executor
    app.actions_config = actions
    return executor
