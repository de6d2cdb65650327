"""Plain-text previews of plans, shared by the CLI and the preview screen (secrets never shown)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from postaltop.core.actions.plan import ActionPlan, Preview, Row, Sql, redact_row

MAX_ROWS_SHOWN = 5
MAX_STATEMENTS_SHOWN = 6
MAX_VALUE_CHARS = 60


def value_text(value: Any) -> str:
    """One SQL value for display (short, no newlines)."""
    if value is None:
        return "NULL"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    text = " ".join(str(value).split()) if isinstance(value, str) else str(value)
    if isinstance(value, str):
        text = repr(text)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


def sql_lines(sql: Sql, keys: Sequence[Any] = ()) -> list[str]:
    """The statement and its parameters (secret ones redacted)."""
    lines = [sql.display(keys)]
    params = sql.shown_params()
    if params:
        lines.append("  params: " + ", ".join(value_text(p) for p in params))
    if "{ids}" in sql.text and keys:
        shown = ", ".join(value_text(k) for k in keys[:10])
        lines.append(f"  selected: {shown}" + (f" … ({len(keys)} in all)" if len(keys) > 10 else ""))
    if sql.per_key:
        lines.append(f"  run once per selected key ({len(keys)})")
    return lines


def row_text(row: Row) -> str:
    """One row as ``col=value`` pairs, secrets redacted."""
    return ", ".join(f"{k}={value_text(v)}" for k, v in redact_row(row).items())


def rows_lines(snapshots: Mapping[str, Sequence[Row]], limit: int = MAX_ROWS_SHOWN) -> list[str]:
    """The current rows per table (first ``limit`` of each)."""
    lines: list[str] = []
    for label, rows in snapshots.items():
        lines.append(f"{label}: {len(rows)} row(s)")
        for row in rows[:limit]:
            lines.append("  " + row_text(row))
        if len(rows) > limit:
            lines.append(f"  … {len(rows) - limit} more")
    return lines


def preview_lines(plan: ActionPlan, preview: Preview, *, with_rows: bool = True) -> list[str]:
    """The whole preview as text lines."""
    lines = [plan.sentence, ""]
    if preview.endpoint:
        lines[1:1] = [f"Database: {preview.endpoint}"]
    for note in preview.notes:
        lines.insert(len(lines) - 1, note)
    # no SQL at all (e.g. the demo's undo): "Affected: 0 row change(s)" over an empty SQL list read as
    # "this does nothing", while the sentence above says what it changes
    no_sql = plan.selection is None and not plan.statements
    if plan.selection is not None:
        lines.append(f"Affected: {preview.count} {plan.selection_noun}")
    elif not no_sql:
        lines.append(f"Affected: {len(plan.statements)} row change(s)")
    if no_sql:
        lines.append("SQL: none (nothing is written to a database)")
    else:
        lines += ["", "SQL (one transaction; aborted if the selection changed since this preview):"]
    if plan.selection is not None:
        lines += ["  " + line for line in sql_lines(plan.selection)]
    for st in plan.statements[:MAX_STATEMENTS_SHOWN]:
        lines += ["  " + line for line in sql_lines(st, preview.keys)]
    if len(plan.statements) > MAX_STATEMENTS_SHOWN:
        lines.append(f"  … {len(plan.statements) - MAX_STATEMENTS_SHOWN} more statements of the same shapes")
    if plan.checks:
        lines += ["", "Verified after commit:"]
        for check in plan.checks[:MAX_ROWS_SHOWN]:
            expected = preview.count if check.expected is None else check.expected
            lines.append(f"  {check.what or check.sql.display(preview.keys)} = {expected}")
        if len(plan.checks) > MAX_ROWS_SHOWN:
            lines.append(f"  … {len(plan.checks) - MAX_ROWS_SHOWN} more checks")
    if with_rows and preview.before:
        lines += ["", "Rows now (before):"]
        lines += ["  " + line for line in rows_lines(preview.before)]
    lines += ["", f"Undo: {plan.undo_note}"]
    lines += [f"Note: {note}" for note in plan.notes]
    return lines


def needs_typed_confirmation(plan: ActionPlan, protected: Sequence[str]) -> bool:
    """Destructive actions, and every action on a protected server, need the target's name typed."""
    return plan.destructive or plan.server_name in protected or str(plan.server_id) in protected
