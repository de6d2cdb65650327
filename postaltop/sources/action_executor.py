"""Run an :class:`~postaltop.core.actions.ActionPlan` on Postal's MariaDB: preview, execute, verify, audit.

One plan = one transaction on one dedicated connection (never the monitor's pool):

1. ``SET @pt_now = UNIX_TIMESTAMP(NOW(6))`` (one timestamp for every row the plan writes);
2. the selection again, ``FOR UPDATE``: if its keys differ from the previewed ones the rows changed since the
   preview, and the plan is aborted (``aborted-drift``) with nothing changed;
3. the snapshots (``before`` rows, locked), the statements (each must affect the rows it expects, otherwise
   abort), the snapshots again (``after`` rows); COMMIT;
4. after commit, the verification queries; a mismatch is reported as ``verify-failed``;
5. every attempt — done, aborted, denied — is appended to the audit trail.

Main and message databases must be on the same MariaDB server (Postal's default): one transaction covers
both.
Identifiers come only from validated names (``db_queries.main_db_ident`` / ``message_db_ident``).
"""

# ruff: noqa: S608  # identifiers: {main}/{msg}/{ids} placeholders or validated names; values: params

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiomysql
import pymysql
from pymysql.constants import CLIENT

from postaltop.config import ActionsConfig, DatabaseConfig
from postaltop.core.actions import (
    ActionPlan,
    CredentialRef,
    PlanError,
    Preview,
    ServerRef,
    Sql,
    undo_plan,
)
from postaltop.core.actions.plan import Row, Snapshot, expected_count
from postaltop.sources import db_queries as q
from postaltop.sources.db_connect import DbConnector, NotAnswering
from postaltop.sources.postal_db import clean_error, error_code
from postaltop.store.audit import UNDOABLE_RESULTS, AuditRecord, AuditStore

DENIED_CODES = {1044, 1045, 1142, 1143, 1227, 1370}
ENABLE_HINT = (
    "Actions are disabled: postaltop is read-only. To allow them set `enabled = true` in the [actions] "
    "section of the configuration, or pass --allow-actions to `postaltop act`."
)


class ActionsDisabled(PlanError):
    """Actions are not enabled in the configuration."""

    def __init__(self) -> None:
        super().__init__(ENABLE_HINT)


class Drift(Exception):
    """The rows changed between preview and execution: the transaction was rolled back."""


@dataclass(slots=True)
class CheckResult:
    """One verification query after commit."""

    what: str
    expected: int
    got: int

    @property
    def ok(self) -> bool:
        """Whether the database holds what the plan expects."""
        return self.expected == self.got


@dataclass(slots=True)
class ExecResult:
    """What happened; ``record`` is the audit entry (its ``id`` is the undo handle)."""

    result: str
    message: str
    record: AuditRecord
    checks: list[CheckResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Committed and verified."""
        return self.result == "ok"


def render(
    text: str, main_db: str, prefix: str, server_id: int, params: Sequence[Any], keys: Sequence[Any]
) -> tuple[str, tuple[Any, ...]]:
    """Fill ``{main}``, ``{msg}``, ``{ids}`` (keys appended to ``params``; ``{ids}`` follows every ``%s``)."""
    out = text.replace("{main}", q.main_db_ident(main_db))
    if "{msg}" in out:
        out = out.replace("{msg}", q.message_db_ident(prefix, server_id))
    if "{ids}" not in out:
        return out, tuple(params)
    head, _, tail = out.partition("{ids}")
    if "%s" in tail:
        raise ValueError("{ids} must come after every other parameter")
    if not keys:
        return head + "NULL" + tail, tuple(params)
    return head + ", ".join(["%s"] * len(keys)) + tail, (*params, *keys)


def audit_record(plan: ActionPlan, preview: Preview, *, db_user: str, demo: bool = False) -> AuditRecord:
    """The audit record of executing ``plan`` as previewed: ``error`` until the execution says otherwise."""
    return AuditRecord(
        action=plan.action,
        server=plan.server_name,
        targets=dict(plan.targets),
        sentence=plan.sentence,
        statements=[s.display(preview.keys) for s in plan.statements],
        result="error",
        db_user=db_user,
        demo=demo,
        undo_of=plan.undo_of,
    )


class DbActionExecutor:
    """Previews and executes plans against the configured database; appends to ``store``."""

    def __init__(
        self,
        config: DatabaseConfig,
        actions: ActionsConfig,
        store: AuditStore,
        *,
        allow: bool = False,
        environ: Mapping[str, str] | None = None,
        my_cnf: Path | None = None,
        after_commit: Callable[[], Awaitable[None]] | None = None,
        connector: DbConnector | None = None,
    ) -> None:
        self.config = config
        self.connector = connector or DbConnector(config, environ=environ, my_cnf=my_cnf)
        """Where and how to connect: the same factory as the poller (tunnel, TLS, login, deadlines)."""
        self.statement_timeout = max(10.0, 3 * float(config.query_timeout))
        """Seconds one statement of an action may take (row locks may make it wait a little)."""
        self.actions = actions
        self.store = store
        self.enabled = actions.enabled or allow
        self.prefix = q.validate_prefix(config.message_db_prefix)
        self._after_commit = after_commit
        """Test seam: runs between COMMIT and verification (a concurrent writer, a failing verify)."""
        self._before_commit: Callable[[], Awaitable[None]] | None = None
        """Test seam: runs inside the transaction just before COMMIT (a concurrent worker)."""

    # ------------------------------------------------------------------------------ connection

    async def _connect(self) -> aiomysql.Connection:
        # affected rows = matched rows: the drift checks count matches
        return await self.connector.connect(autocommit=True, client_flag=CLIENT.FOUND_ROWS)

    async def _exec(self, cur: Any, text: str, params: Any = None) -> int:
        """One statement within :attr:`statement_timeout` (a database that stops answering mid-action)."""
        try:
            return int(await asyncio.wait_for(cur.execute(text, params), self.statement_timeout) or 0)
        except TimeoutError:
            raise NotAnswering("the database", self.statement_timeout) from None

    def _render(
        self, plan: ActionPlan, sql: Sql | Snapshot, keys: Sequence[Any]
    ) -> tuple[str, tuple[Any, ...]]:
        if isinstance(sql, Snapshot):
            text = f"SELECT * FROM {sql.table} WHERE {sql.where}"
            params: tuple[Any, ...] = sql.params
        else:
            text, params = sql.text, sql.params
        return render(text, self.config.database, self.prefix, plan.server_id, params, keys)

    async def _rows(self, cur: Any, text: str, params: tuple[Any, ...]) -> list[Row]:
        await self._exec(cur, text, params or None)
        names = [d[0] for d in cur.description or ()]
        return [dict(zip(names, row, strict=True)) for row in await cur.fetchall()]

    # ------------------------------------------------------------------------------ resolving targets

    async def resolve_server(self, text: str) -> ServerRef:
        """A live server by id or ``org/server`` permalink.

        Raises:
            PlanError: when no live server matches.
        """
        main = q.main_db_ident(self.config.database)
        sql = (
            f"SELECT s.id, o.permalink, s.permalink FROM {main}.`servers` s JOIN {main}.`organizations` o "
            "ON o.id = s.organization_id WHERE s.deleted_at IS NULL AND o.deleted_at IS NULL"
        )
        conn = await self._connect()
        try:
            async with conn.cursor() as cur:
                await self._exec(cur, sql)
                rows = list(await cur.fetchall())
        finally:
            conn.close()
        wanted = text.strip().lstrip("#")
        for sid, org, srv in rows:
            if wanted == str(sid) or wanted == f"{org}/{srv}":
                return ServerRef(int(sid), f"{org}/{srv}")
        raise PlanError(f"no live server {text!r} (give its id or org/server permalink)")

    async def server_of_credential(self, credential_id: int) -> int:
        """The server id of credential ``credential_id``.

        Raises:
            PlanError: when there is no such credential.
        """
        main = q.main_db_ident(self.config.database)
        conn = await self._connect()
        try:
            async with conn.cursor() as cur:
                await self._exec(
                    cur, f"SELECT server_id FROM {main}.`credentials` WHERE id = %s", (credential_id,)
                )
                row = await cur.fetchone()
        finally:
            conn.close()
        if row is None:
            raise PlanError(f"no credential #{credential_id}")
        return int(row[0])

    async def resolve_credential(self, server: ServerRef, text: str) -> CredentialRef:
        """A credential of ``server`` by id or name (never by key).

        Raises:
            PlanError: when none or several match.
        """
        main = q.main_db_ident(self.config.database)
        conn = await self._connect()
        try:
            async with conn.cursor() as cur:
                await self._exec(
                    cur,
                    f"SELECT id, name, type FROM {main}.`credentials` WHERE server_id = %s ORDER BY id",
                    (server.id,),
                )
                rows = list(await cur.fetchall())
        finally:
            conn.close()
        wanted = text.strip().lstrip("#")
        found = [r for r in rows if str(r[0]) == wanted] or [r for r in rows if r[1] == text.strip()]
        if len(found) != 1:
            names = ", ".join(f"#{r[0]} {r[1]!r}" for r in rows) or "none"
            raise PlanError(f"{server.name} has no single credential {text!r} (its credentials: {names})")
        cid, name, kind = found[0]
        return CredentialRef(int(cid), str(name), str(kind), server)

    # ------------------------------------------------------------------------------ preview / execute

    async def preview(self, plan: ActionPlan) -> Preview:
        """Select the keys and read the current rows (no locks, nothing written).

        Raises:
            PlanError: when the selection is larger than the plan allows.
        """
        conn = await self._connect()
        try:
            async with conn.cursor() as cur:
                keys = await self._select(cur, plan, lock=False)
                before = await self._snapshots(cur, plan, keys, lock=False)
                notes = await self._widened(cur, plan, keys)
        finally:
            conn.close()
        return Preview(keys, before, endpoint=self.connector.endpoint().describe(), notes=notes)

    async def _widened(self, cur: Any, plan: ActionPlan, keys: Sequence[Any]) -> tuple[str, ...]:
        """The distinct sender / recipient-domain values the selection matched, when they differ from
        the typed value: the database's collation compares case- and width-insensitively (a fullwidth
        ``g`` matches ``g``), so the operator sees what will really be touched."""
        notes: list[str] = []
        if not keys or plan.selection is None:
            return ()
        for target, expr, label in (
            ("recipient_domain", "SUBSTRING_INDEX(m.rcpt_to, '@', -1)", "recipient domains"),
            ("sender", "m.mail_from", "senders"),
        ):
            typed = plan.targets.get(target)
            if not isinstance(typed, str) or not typed:
                continue
            typed = typed.strip().lstrip("@") if target == "recipient_domain" else typed.strip()
            text, params = render(
                f"SELECT {expr}, COUNT(*) FROM {{msg}}.`messages` m WHERE m.id IN ({{ids}}) "
                f"GROUP BY BINARY {expr} "
                "ORDER BY COUNT(*) DESC LIMIT 20",
                self.config.database,
                self.prefix,
                plan.server_id,
                (),
                keys,
            )
            await self._exec(cur, text, params or None)
            found = [
                (v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v), int(n))
                for v, n in await cur.fetchall()
            ]
            if any(value != typed for value, _ in found):
                shown = ", ".join(f"{value!r} ({n})" for value, n in found)
                notes.append(
                    f"Note: the database's collation widens the {target.replace('_', ' ')} match: "
                    f"the selection holds these distinct {label}: {shown}"
                )
        return tuple(notes)

    async def _select(self, cur: Any, plan: ActionPlan, *, lock: bool) -> tuple[Any, ...]:
        if plan.selection is None:
            return tuple(plan.preset_keys or ())
        text, params = self._render(plan, plan.selection, ())
        await self._exec(cur, text + (" FOR UPDATE" if lock else ""), params or None)
        keys = tuple(row[0] for row in await cur.fetchall())
        limit = min(plan.max_keys, self.actions.max_rows)
        if len(keys) > limit:
            raise PlanError(f"{len(keys)} {plan.selection_noun} selected (limit {limit}): narrow the filters")
        return keys

    async def _snapshots(
        self, cur: Any, plan: ActionPlan, keys: Sequence[Any], *, lock: bool
    ) -> dict[str, list[Row]]:
        out: dict[str, list[Row]] = {}
        for snap in plan.snapshots:
            text, params = self._render(plan, snap, keys)
            rows = await self._rows(
                cur, text + f" ORDER BY `{snap.key}`" + (" FOR UPDATE" if lock else ""), params
            )
            out.setdefault(snap.label, []).extend(rows)
        return out

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
        phase = "before-commit"
        keys: tuple[Any, ...] = ()
        try:
            async with conn.cursor() as cur:
                await self._exec(cur, q.CURRENT_USER)
                row = await cur.fetchone()
                record.db_user = str(row[0]) if row else "?"
                await asyncio.wait_for(conn.autocommit(False), self.statement_timeout)
                await self._exec(cur, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
                await asyncio.wait_for(conn.begin(), self.statement_timeout)
                await self._exec(cur, "SET @pt_now = UNIX_TIMESTAMP(NOW(6))")
                keys = await self._select(cur, plan, lock=True)
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
                phase = "commit"
                await asyncio.wait_for(conn.commit(), self.statement_timeout)
                phase = "verify"
                await asyncio.wait_for(conn.autocommit(True), self.statement_timeout)
                if self._after_commit is not None:
                    await self._after_commit()
                checks = await self._checks(cur, plan, keys)
        except Drift as exc:
            await self._rollback(conn)
            record.before, record.after = {}, {}
            return self._finish(record, "aborted-drift", f"aborted, nothing changed: {exc}")
        except (pymysql.err.MySQLError, OSError, TimeoutError) as exc:
            conn.close()
            if phase == "before-commit":
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
            if phase == "commit":
                return await self._settle(record, plan, keys, thread_id, exc)
            return self._finish(
                record,
                "verify-failed",
                f"committed, but verification failed: could not verify ({clean_error(exc)})",
            )
        finally:
            conn.close()
        return self._verified(record, plan, keys, checks)

    async def _rollback(self, conn: aiomysql.Connection) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(conn.rollback(), self.statement_timeout)

    async def _checks(self, cur: Any, plan: ActionPlan, keys: tuple[Any, ...]) -> list[CheckResult]:
        checks: list[CheckResult] = []
        for check in plan.checks:
            text, params = self._render(plan, check.sql, keys)
            await self._exec(cur, text, params or None)
            got_row = await cur.fetchone()
            got = int(got_row[0]) if got_row and got_row[0] is not None else 0
            checks.append(CheckResult(check.what, expected_count(check, len(keys)), got))
        return checks

    def _verified(
        self,
        record: AuditRecord,
        plan: ActionPlan,
        keys: tuple[Any, ...],
        checks: list[CheckResult],
        note: str = "",
    ) -> ExecResult:
        failed = [c for c in checks if not c.ok]
        if failed:
            detail = "; ".join(f"{c.what}: expected {c.expected}, found {c.got}" for c in failed)
            return self._finish(
                record, "verify-failed", f"committed{note}, but verification failed: {detail}", checks
            )
        n = len(keys) if plan.selection is not None else len(plan.statements)
        return self._finish(record, "ok", f"done{note} and verified ({n} {plan.selection_noun})", checks)

    async def _settle(
        self, record: AuditRecord, plan: ActionPlan, keys: tuple[Any, ...], thread_id: int, exc: BaseException
    ) -> ExecResult:
        """The COMMIT's reply was lost: end the old session, read the rows back, say what happened."""
        lost = clean_error(exc)
        try:
            conn = await self._connect()
        except Exception as again:
            return self._finish(
                record,
                "unknown",
                f"commit outcome unknown: the reply to COMMIT was lost ({lost}) and the rows could not be "
                f"read back ({clean_error(again)}); check the rows before acting again",
            )
        try:
            async with conn.cursor() as cur:
                await self._end_session(cur, thread_id)
                now = await self._snapshots(cur, plan, keys, lock=False)
                if now == record.after:
                    checks = await self._checks(cur, plan, keys)
                    return self._verified(
                        record, plan, keys, checks, note=" (COMMIT's reply was lost; read back)"
                    )
                if now == record.before:
                    record.after = {}
                    return self._finish(
                        record,
                        "not-committed",
                        f"nothing changed: the reply to COMMIT was lost ({lost}) and the rows read back "
                        "hold their previous values",
                    )
                return self._finish(
                    record,
                    "unknown",
                    f"commit outcome unknown: the reply to COMMIT was lost ({lost}) and the rows read back "
                    "match neither the previous nor the planned values (changed by someone else meanwhile)",
                )
        except Exception as again:
            return self._finish(
                record,
                "unknown",
                f"commit outcome unknown: the reply to COMMIT was lost ({lost}); reading back failed "
                f"({clean_error(again)})",
            )
        finally:
            conn.close()

    async def _end_session(self, cur: Any, thread_id: int) -> None:
        """Make sure the old session is gone (its transaction committed or rolled back) before reading."""
        with contextlib.suppress(pymysql.err.MySQLError):
            await self._exec(cur, "KILL %s", (thread_id,))
        for _ in range(50):
            await self._exec(
                cur, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = %s", (thread_id,)
            )
            row = await cur.fetchone()
            if not row or not int(row[0]):
                return
            await asyncio.sleep(0.1)
        raise TimeoutError(f"the old session {thread_id} is still running")

    async def _statement(self, cur: Any, plan: ActionPlan, st: Sql, keys: tuple[Any, ...]) -> None:
        runs = [(k,) for k in keys] if st.per_key else [()]
        for extra in runs:
            text, params = self._render(plan, st, () if st.per_key else keys)
            affected = await self._exec(cur, text, (*params, *extra) or None)
            want = {"one": 1, "selected": len(keys), "zero": 0}.get(st.expect)
            if want is not None and affected != want:
                raise Drift(
                    f"a statement changed {affected} rows instead of {want}: the rows changed meanwhile"
                )

    def refuse(self, action: str, server: str, exc: BaseException) -> ExecResult:
        """Audit an action that failed before any write (the database could not be reached or read)."""
        reason = clean_error(exc)
        record = AuditRecord(
            action=action,
            server=server or "?",
            targets={"database": self.connector.endpoint().describe()},
            sentence=f"{action} on {server or '?'}: not run",
            statements=[],
            result="refused",
        )
        return self._finish(record, "refused", f"refused: {reason}; nothing changed")

    def _finish(
        self, record: AuditRecord, result: str, message: str, checks: list[CheckResult] | None = None
    ) -> ExecResult:
        record.result = result
        record.detail = message
        self.store.append(record)
        return ExecResult(result, message, record, checks or [])

    # ------------------------------------------------------------------------------ undo

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
