"""The demo's action executor: the same plans as on MariaDB, applied to the simulator's model.

``postaltop demo`` has no database: its "main database" is :class:`~postaltop.core.sim.model.Installation`
and its queue is the fleet's dequeuer. A plan built by :mod:`postaltop.core.actions` (the SQL is shown in the
preview as it would run on Postal) is applied here by flipping the model fields the simulated worker reads
with Postal's semantics — ``credentials.hold``, the deleted credential, ``suspended``, ``mode``,
``send_limit`` — or, for ``hold-queued``, by taking unlocked ready rows out of the queue as Held. Everything
goes through the same preview / confirm / audit flow; audit entries are marked ``demo``. Held messages and
suppression lists are counted, not stored, by the simulator, so ``release-held``, ``cancel-hold`` and the
suppression actions are refused in the demo.
"""

from __future__ import annotations

from typing import Any

from postaltop.config import ActionsConfig
from postaltop.core.actions import ActionPlan, CredentialRef, MailFilter, PlanError, Preview, ServerRef
from postaltop.core.actions.plan import Row
from postaltop.core.sim import Fleet
from postaltop.core.sim.model import Credential, MailServer
from postaltop.core.sim.worker import QueuedMessage
from postaltop.sources.action_executor import ActionsDisabled, ExecResult, audit_record
from postaltop.store.audit import AuditRecord, AuditStore

NOT_MODELLED = {"release-held", "cancel-hold", "suppress-add", "suppress-remove"}


class DemoActionExecutor:
    """Previews and applies plans to a running :class:`Fleet`; appends demo entries to ``store``."""

    demo = True

    def __init__(
        self, fleet: Fleet, actions: ActionsConfig, store: AuditStore, *, allow: bool = True
    ) -> None:
        self.fleet = fleet
        self.actions = actions
        self.store = store
        self.enabled = actions.enabled or allow
        self._taken: dict[int, QueuedMessage] = {}
        """Queue rows taken out by hold-queued (by queued id), for undo."""

    # ------------------------------------------------------------------------------ targets

    def _server(self, server_id: int) -> MailServer:
        for srv in self.fleet.installation.servers:
            if srv.id == server_id:
                return srv
        raise PlanError(f"no server #{server_id} in the demo")

    def _credential(self, cred_id: int) -> Credential:
        for cred in self.fleet.installation.credentials:
            if cred.id == cred_id:
                return cred
        raise PlanError(f"no credential #{cred_id} in the demo")

    async def resolve_server(self, text: str) -> ServerRef:
        """A demo server by id or ``org/server``."""
        wanted = text.strip().lstrip("#")
        for srv in self.fleet.installation.servers:
            if wanted in (str(srv.id), srv.full_permalink):
                return ServerRef(srv.id, srv.full_permalink)
        names = ", ".join(s.full_permalink for s in self.fleet.installation.servers)
        raise PlanError(f"no server {text!r} in the demo (servers: {names})")

    async def server_of_credential(self, credential_id: int) -> int:
        """The server id of demo credential ``credential_id``."""
        return self._credential(credential_id).server_id

    async def resolve_credential(self, server: ServerRef, text: str) -> CredentialRef:
        """A credential of ``server`` by id or name."""
        srv = self._server(server.id)
        wanted = text.strip().lstrip("#")
        for cred in srv.credentials:
            if wanted in (str(cred.id), cred.name) or text.strip() == cred.name:
                return CredentialRef(cred.id, cred.name, cred.type, server)
        names = ", ".join(f"#{c.id} {c.name!r}" for c in srv.credentials)
        raise PlanError(f"{server.name} has no credential {text!r} (its credentials: {names})")

    # ------------------------------------------------------------------------------ rows

    @staticmethod
    def _cred_row(cred: Credential) -> Row:  # never the key
        return {
            "id": cred.id,
            "server_id": cred.server_id,
            "name": cred.name,
            "type": cred.type,
            "hold": int(cred.hold),
            "deleted": int(cred.deleted),
        }

    @staticmethod
    def _server_row(srv: MailServer) -> Row:
        return {
            "id": srv.id,
            "permalink": srv.full_permalink,
            "mode": srv.mode,
            "suspended": int(srv.suspended),
            "send_limit": srv.send_limit,
        }

    def _queued(self, plan: ActionPlan) -> list[QueuedMessage]:
        f = MailFilter(**{k: v for k, v in plan.targets.items() if k in MailFilter.__slots__})
        if f.sender or f.hold_reason or f.older_than_s is not None or f.newer_than_s is not None:
            raise PlanError("the demo's queue filters by credential and recipient domain only")
        out = []
        for waiting in self.fleet.worker._ready.values():
            for qm in waiting:
                if qm.taken or qm.server.id != plan.server_id or qm.domain is None:
                    continue
                if f.credential_id is not None and (
                    qm.credential is None or qm.credential.id != f.credential_id
                ):
                    continue
                if f.recipient_domain and qm.domain.name != f.recipient_domain.strip().lstrip("@"):
                    continue
                out.append(qm)
        return sorted(out, key=lambda q: q.message_id)

    def _state(self, plan: ActionPlan) -> tuple[tuple[Any, ...], dict[str, list[Row]]]:
        """(keys that would change, current rows)."""
        action, t = plan.action, plan.targets
        if action in NOT_MODELLED:
            raise PlanError(
                f"{action} is not modelled by the demo (held messages and suppressions are only counted)"
            )
        if action.startswith("credential-"):
            cred = self._credential(int(t["credential_id"]))
            change = {
                "credential-hold": not cred.hold,
                "credential-release": cred.hold,
                "credential-revoke": not cred.deleted,
            }[action]
            return ((cred.id,) if change else ()), {"sim.credentials": [self._cred_row(cred)]}
        if action.startswith("server-"):
            srv = self._server(plan.server_id)
            change = {
                "server-suspend": not srv.suspended,
                "server-unsuspend": srv.suspended,
                "server-mode": srv.mode != plan.statements[0].params[0],
                "server-send-limit": srv.send_limit != plan.statements[0].params[0],
            }[action]
            return ((srv.id,) if change else ()), {"sim.servers": [self._server_row(srv)]}
        if action == "hold-queued":
            queued = self._queued(plan)
            rows = [
                {
                    "id": q.id,
                    "message_id": q.message_id,
                    "rcpt": q.rcpt,
                    "credential_id": q.credential.id if q.credential else None,
                    "status": "Pending",
                }
                for q in queued
            ]
            return tuple(q.message_id for q in queued), {"sim.queue": rows}
        if action == "undo":
            return tuple(plan.preset_keys or ()), {}
        raise PlanError(f"{action} is not available in the demo")

    # ------------------------------------------------------------------------------ preview / execute

    async def preview(self, plan: ActionPlan) -> Preview:
        """The keys and rows the plan would change in the simulated installation."""
        keys, before = self._state(plan)
        return Preview(keys, before)

    async def execute(self, plan: ActionPlan, preview: Preview) -> ExecResult:
        """Apply the plan to the model (aborted if the model changed since the preview); audit as demo."""
        if not self.enabled:
            raise ActionsDisabled()
        record = audit_record(plan, preview, db_user="demo", demo=True)
        if plan.action == "undo":
            return self._undo(plan, record)
        keys, before = self._state(plan)
        if keys != tuple(preview.keys):
            return self._finish(
                record, "aborted-drift", "aborted, nothing changed: the simulation moved on since the preview"
            )
        if not keys:
            return self._finish(record, "no-op", f"no {plan.selection_noun} to change")
        self._apply(plan)
        _keys, after = self._state(plan) if plan.action != "hold-queued" else ((), {"sim.queue": []})
        record.before, record.after = before, after
        n = len(keys)
        return self._finish(
            record, "ok", f"done in the simulation ({n} {plan.selection_noun}); watch the log"
        )

    def _apply(self, plan: ActionPlan) -> None:
        action, t = plan.action, plan.targets
        if action.startswith("credential-"):
            cred = self._credential(int(t["credential_id"]))
            if action == "credential-revoke":
                cred.deleted = True
            else:
                cred.hold = action == "credential-hold"
            return
        srv = self._server(plan.server_id)
        if action == "server-suspend":
            srv.suspended = True
        elif action == "server-unsuspend":
            srv.suspended = False
        elif action == "server-mode":
            srv.mode = str(plan.statements[0].params[0])
        elif action == "server-send-limit":
            limit = plan.statements[0].params[0]
            srv.send_limit = None if limit is None else int(limit)
        elif action == "hold-queued":
            now = self.fleet.position
            for qm in self._queued(plan):
                qm.taken = True  # the worker's pickup of this row finds it gone
                waiting = self.fleet.worker._ready.get(qm.batch_key, [])
                if qm in waiting:
                    waiting.remove(qm)
                self.fleet.worker._count(now, "held", qm)
                self._taken[qm.id] = qm

    def _undo(self, plan: ActionPlan, record: AuditRecord) -> ExecResult:
        original = self.store.get(int(plan.undo_of or 0))
        if original is None:
            return self._finish(record, "error", "the action to undo is not in the audit trail")
        for row in original.before.get("sim.credentials", []):
            cred = self._credential(int(row["id"]))
            cred.hold, cred.deleted = bool(row["hold"]), bool(row["deleted"])
        for row in original.before.get("sim.servers", []):
            srv = self._server(int(row["id"]))
            srv.mode, srv.suspended, srv.send_limit = row["mode"], bool(row["suspended"]), row["send_limit"]
        requeued = 0
        for row in original.before.get("sim.queue", []):
            qm = self._taken.pop(int(row["id"]), None)
            if qm is not None:
                qm.taken = False
                self.fleet.worker.enqueue(qm, self.fleet.position)
                requeued += 1
        record.before, record.after = original.after, original.before
        return self._finish(record, "ok", f"undone in the simulation (action #{plan.undo_of})")

    def _finish(self, record: AuditRecord, result: str, message: str) -> ExecResult:
        record.result, record.detail = result, message
        self.store.append(record)
        return ExecResult(result, message, record, [])

    # ------------------------------------------------------------------------------ undo

    def plan_undo(self, audit_id: int) -> ActionPlan:
        """The demo undo of entry ``audit_id``: the model fields put back as its before rows show."""
        record = self.store.get(audit_id)
        if record is None or not record.demo:
            raise PlanError(f"no demo audit entry #{audit_id}")
        if record.undone_by is not None:
            raise PlanError(f"demo action #{audit_id} was already undone by #{record.undone_by}")
        changes = sum(len(rows) for rows in record.before.values())
        return ActionPlan(
            action="undo",
            sentence=f"Undo demo action #{audit_id} ({record.action} on {record.server}): "
            f"put back {changes} row(s) "
            "as they were before it.",
            server_id=int(record.targets.get("server_id", 0)),
            server_name=record.server,
            confirm_text=f"undo {audit_id}",
            targets={
                "server_id": record.targets.get("server_id"),
                "undo_of": audit_id,
                "action": record.action,
            },
            selection=None,
            selection_noun="rows",
            statements=(),
            snapshots=(),
            checks=(),
            destructive=True,
            undo_of=audit_id,
            preset_keys=(audit_id,),
        )

    def last_undo_plan(self) -> ActionPlan:
        """Undo of the most recent demo action not undone yet."""
        record = self.store.last_undoable(demo=True)
        if record is None or record.id is None:
            raise PlanError("nothing to undo: no demo action in the audit trail yet")
        return self.plan_undo(record.id)


def attach_demo_actions(app: Any, fleet: Fleet, actions: ActionsConfig) -> DemoActionExecutor:
    """Give the UI (``x`` / ``u``) a demo executor; the demo's actions are always allowed (no real DB)."""
    executor = DemoActionExecutor(fleet, actions, AuditStore(operator=actions.operator), allow=True)
    app.action_executor = executor
    app.actions_config = actions
    return executor
