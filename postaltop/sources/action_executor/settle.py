"""When the reply to COMMIT is lost: end the old session, read the rows back, say what happened."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pymysql

from postaltop.core.actions import ActionPlan
from postaltop.sources.action_executor.results import ExecResult
from postaltop.sources.action_executor.rows import PlanRows
from postaltop.sources.postal_db import clean_error
from postaltop.store.audit import AuditRecord


class CommitSettler(PlanRows):
    """Decides the outcome of a commit whose reply was lost."""

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
