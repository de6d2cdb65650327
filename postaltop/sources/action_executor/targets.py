"""Typed targets (a server by id or permalink, a credential by id or name) resolved on the database."""

# ruff: noqa: S608  # identifiers: {main}/{msg}/{ids} placeholders or validated names; values: params

from __future__ import annotations

from postaltop.core.actions import CredentialRef, PlanError, ServerRef
from postaltop.sources import db_queries as q
from postaltop.sources.action_executor.base import ExecutorBase


class TargetResolver(ExecutorBase):
    """Resolves what the operator typed into live servers and credentials."""

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
