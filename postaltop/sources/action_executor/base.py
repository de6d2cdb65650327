"""The executor's connection: one dedicated connection per plan, statements bounded in time, the audit."""

# ruff: noqa: S608  # identifiers: {main}/{msg}/{ids} placeholders or validated names; values: params

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import aiomysql
from pymysql.constants import CLIENT

from postaltop.config import ActionsConfig, DatabaseConfig
from postaltop.core.actions import ActionPlan, Sql
from postaltop.core.actions.plan import Row, Snapshot
from postaltop.sources import db_queries as q
from postaltop.sources.action_executor.results import CheckResult, ExecResult, render
from postaltop.sources.db_connect import DbConnector, NotAnswering
from postaltop.sources.postal_db import clean_error
from postaltop.store.audit import AuditRecord, AuditStore


class ExecutorBase:
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
