"""Undo: a plan that puts back the rows an action changed, exactly, from its before/after snapshots.

For every snapshot table, comparing the rows read inside the action's transaction before and after its writes:

* a row only in *after* (inserted by the action) is deleted, but only if it is still exactly as the action
  left it;
* a row only in *before* (deleted by the action) is re-inserted with every column (same id: a revoked
  credential comes back with its key);
* a row in both that differs is updated back, again only if it still holds the action's values.

Each such statement must affect exactly one row, so anything that changed the rows since (a worker sent a
released message, someone edited the credential) aborts the undo instead of overwriting newer state.
"""

# ruff: noqa: S608  # identifiers: {main}/{msg}/{ids} placeholders or validated names; values: params

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from postaltop.core.actions.plan import SECRET_COLUMNS, ActionPlan, Check, PlanError, Row, Snapshot, Sql

_COLUMN = re.compile(r"^[A-Za-z0-9_]{1,64}$")
_TABLES = {
    "main.credentials": "{main}.`credentials`",
    "main.servers": "{main}.`servers`",
    "main.queued_messages": "{main}.`queued_messages`",
    "msg.messages": "{msg}.`messages`",
    "msg.deliveries": "{msg}.`deliveries`",
    "msg.suppressions": "{msg}.`suppressions`",
}


def _col(name: str) -> str:
    if not _COLUMN.match(name):
        raise PlanError(f"unexpected column name {name!r}")
    return f"`{name}`"


def _match(row: Mapping[str, Any]) -> tuple[str, tuple[Any, ...]]:
    return " AND ".join(f"{_col(c)} <=> %s" for c in row), tuple(row.values())


def _secret(columns: Sequence[str], offset: int = 0) -> tuple[int, ...]:
    """Positions of secret columns among ``columns`` (shifted by ``offset``)."""
    return tuple(offset + i for i, c in enumerate(columns) if c in SECRET_COLUMNS)


def changed_rows(
    before: Sequence[Row], after: Sequence[Row], key: str = "id"
) -> tuple[list[Row], list[Row], list[tuple[Row, Row]]]:
    """``(inserted, deleted, updated as (before, after))`` between two snapshots of one table."""
    old = {r[key]: r for r in before}
    new = {r[key]: r for r in after}
    inserted = [new[k] for k in new if k not in old]
    deleted = [old[k] for k in old if k not in new]
    updated = [(old[k], new[k]) for k in old if k in new and old[k] != new[k]]
    return inserted, deleted, updated


def _remove(table: str, row: Row) -> Sql:
    """Delete a row the action inserted (matched on every column)."""
    where, params = _match(row)
    return Sql(f"DELETE FROM {table} WHERE {where}", params, "one", secret=_secret(list(row)))


def _reinsert(table: str, row: Row) -> Sql:
    """Insert back a row the action deleted, with every column as it was."""
    cols = ", ".join(_col(c) for c in row)
    marks = ", ".join(["%s"] * len(row))
    return Sql(
        f"INSERT INTO {table} ({cols}) VALUES ({marks})",
        tuple(row.values()),
        "one",
        secret=_secret(list(row)),
    )


def _restore(table: str, old: Row, new: Row) -> Sql:
    """Set back the columns the action changed, where the row is still exactly as the action left it."""
    diff = [c for c in old if old[c] != new.get(c)]
    sets = ", ".join(f"{_col(c)} = %s" for c in diff)
    where, params = _match(new)
    hidden = (*_secret(diff), *_secret(list(new), len(diff)))
    return Sql(
        f"UPDATE {table} SET {sets} WHERE {where}", (*(old[c] for c in diff), *params), "one", secret=hidden
    )


def _gone_check(table: str, row_id: Any, what: str) -> Check:
    """Verification after commit: no row has ``row_id`` any more."""
    return Check(Sql(f"SELECT COUNT(*) FROM {table} WHERE `id` = %s", (row_id,)), 0, what)


def _count_check(table: str, row: Row, expected: int, what: str) -> Check:
    """Verification after commit: ``expected`` rows match ``row`` on every column."""
    where, params = _match(row)
    return Check(
        Sql(f"SELECT COUNT(*) FROM {table} WHERE {where}", params, secret=_secret(list(row))), expected, what
    )


def undo_plan(
    original: ActionPlan | Mapping[str, Any],
    audit_id: int,
    before: Mapping[str, Sequence[Row]],
    after: Mapping[str, Sequence[Row]],
) -> ActionPlan:
    """The plan that restores ``before`` where the action left ``after`` (see the module docstring)."""
    summary = original.summary() if isinstance(original, ActionPlan) else dict(original)
    server_id = int(summary["server_id"])
    server_name = str(summary.get("server") or f"#{server_id}")
    statements: list[Sql] = []
    checks: list[Check] = []
    snapshots: list[Snapshot] = []
    counts = {"re-inserted": 0, "deleted": 0, "restored": 0}
    for label in sorted(set(before) | set(after)):
        table = _TABLES.get(label)
        if table is None:
            raise PlanError(f"cannot undo changes to {label}")
        inserted, deleted, updated = changed_rows(list(before.get(label, [])), list(after.get(label, [])))
        ids: list[Any] = []
        for row in inserted:
            statements.append(_remove(table, row))
            checks.append(_gone_check(table, row["id"], f"{label} #{row['id']} removed"))
            ids.append(row["id"])
            counts["deleted"] += 1
        for row in deleted:
            statements.append(_reinsert(table, row))
            checks.append(_count_check(table, row, 1, f"{label} #{row['id']} back"))
            ids.append(row["id"])
            counts["re-inserted"] += 1
        for old, new in updated:
            statements.append(_restore(table, old, new))
            checks.append(_count_check(table, old, 1, f"{label} #{old['id']} restored"))
            ids.append(old["id"])
            counts["restored"] += 1
        if ids:
            marks = ", ".join(["%s"] * len(ids))
            snapshots.append(Snapshot(label, table, f"`id` IN ({marks})", tuple(ids)))
    if not statements:
        raise PlanError(f"action #{audit_id} changed nothing: there is nothing to undo")
    done = ", ".join(f"{n} row(s) {what}" for what, n in counts.items() if n)
    return ActionPlan(
        action="undo",
        sentence=f"Undo action #{audit_id} ({summary.get('action')} on {server_name}): "
        f"{done}, exactly as before it.",
        server_id=server_id,
        server_name=server_name,
        confirm_text=f"undo {audit_id}",
        targets={"server_id": server_id, "undo_of": audit_id, "action": summary.get("action")},
        selection=None,
        selection_noun="row changes",
        statements=tuple(statements),
        snapshots=tuple(snapshots),
        checks=tuple(checks),
        destructive=True,
        undo_note="An undo is an action too: it is audited and can itself be undone.",
        notes=("Aborted (nothing changed) if any of these rows changed after the action.",),
        undo_of=audit_id,
        preset_keys=(),
    )
