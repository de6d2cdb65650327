"""A plan's rows: the selection, the snapshots, the statements and the checks, on one cursor."""

# ruff: noqa: S608  # identifiers: {main}/{msg}/{ids} placeholders or validated names; values: params

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

import aiomysql

from postaltop.core.actions import ActionPlan, PlanError, Preview, Sql
from postaltop.core.actions.plan import Row, expected_count
from postaltop.sources.action_executor.results import CheckResult, Drift, ExecResult, render
from postaltop.sources.action_executor.targets import TargetResolver
from postaltop.store.audit import AuditRecord


class PlanRows(TargetResolver):
    """Preview (no locks, nothing written) and the per-row steps of an execution."""

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
