"""What an execution says: its result, the checks after commit, the audit record; the SQL filled in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from postaltop.core.actions import ActionPlan, PlanError, Preview
from postaltop.sources import db_queries as q
from postaltop.store.audit import AuditRecord

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
