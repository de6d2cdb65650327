"""The :class:`ActionPlan`: one incident action, fully described before anything runs.

A plan is data, built by pure functions (one module per action family) and run by an executor
(``postaltop.sources.action_executor`` on MariaDB, ``postaltop.sources.demo_actions`` on the simulator):

* ``sentence``: what will happen, for humans;
* ``selection``: a SELECT of the keys of what will change (messages, addresses, a credential...). The preview
  counts it; the executor re-runs it with ``FOR UPDATE`` inside the transaction and aborts when the keys
  differ from the previewed ones (the rows changed meanwhile);
* ``statements``: the parameterised writes, each with the number of rows it must affect;
* ``snapshots``: the rows of every table the statements touch, read before and after the writes (the audit's
  before/after rows, and the data of the undo plan: see :mod:`postaltop.core.actions.restore`);
* ``checks``: verification queries run after commit, each with its expected result.

SQL templates use three placeholders filled by the executor from validated names only:
``{main}`` (Postal's main database), ``{msg}`` (the server's message database) and ``{ids}`` (one ``%s`` per
selected key, whose values are appended to the statement's parameters).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Expect = Literal["any", "one", "selected", "zero"]
"""Rows a statement must affect: anything, exactly one, one per selected key, none."""

Row = dict[str, Any]
"""One database row, column name -> value (column order kept)."""

REDACTED = "[redacted]"
"""What a secret column shows on screen, in the JSONL trail and in exports."""

SECRET_COLUMNS = frozenset({"key"})
"""Columns whose value is secret wherever they appear (``credentials.key``)."""

NO_WEBHOOKS = (
    "Direct SQL emits none of Postal's webhooks or e-mails (no MessageHeld/MessageSent webhook, "
    "no suspension or send-limit notification)."
)


class PlanError(ValueError):
    """An action cannot be planned (unknown target, bad argument, nothing to do...); message for the user."""


class RefusedAction(PlanError):
    """An action only Postal itself can do faithfully; :attr:`postal_command` says what to run instead."""

    def __init__(self, message: str, postal_command: str) -> None:
        super().__init__(f"{message}\nRun instead: {postal_command}")
        self.postal_command = postal_command


@dataclass(frozen=True, slots=True)
class Sql:
    """One parameterised statement (see the module docstring for the placeholders)."""

    text: str
    params: tuple[Any, ...] = ()
    expect: Expect = "any"
    per_key: bool = False
    """Run once per selected key, with the key appended to ``params`` (instead of ``{ids}`` expansion)."""
    secret: tuple[int, ...] = ()
    """Positions in ``params`` holding a secret (a credential key in an undo): never shown."""

    def shown_params(self) -> tuple[Any, ...]:
        """``params`` with the secret ones replaced by :data:`REDACTED`."""
        return tuple(REDACTED if i in self.secret else p for i, p in enumerate(self.params))

    def display(self, keys: Sequence[Any] = ()) -> str:
        """The statement for the preview: placeholders shown as ``?``, ``{ids}`` as the key count."""
        text = " ".join(self.text.split())
        if "{ids}" in text:
            text = text.replace("{ids}", f"<{len(keys)} selected>")
        return text


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Rows of one table that the plan may change: ``SELECT * FROM table WHERE where``."""

    label: str
    """``main.credentials``, ``msg.messages``...: also says which database the table is in."""
    table: str
    """Table template, e.g. ``{main}.`credentials```."""
    where: str
    params: tuple[Any, ...] = ()
    key: str = "id"


@dataclass(frozen=True, slots=True)
class Check:
    """A verification query returning one integer, and the value it must return after commit."""

    sql: Sql
    expected: int | None = None
    """``None``: the number of selected keys."""
    what: str = ""


@dataclass(frozen=True, slots=True)
class ActionPlan:
    """One incident action (see the module docstring)."""

    action: str
    """Registry name, e.g. ``credential-hold``."""
    sentence: str
    server_id: int
    server_name: str
    """``org/server`` permalink (or ``#id``)."""
    confirm_text: str
    """What the operator types to confirm a destructive action (the target's name)."""
    targets: Mapping[str, Any]
    selection: Sql | None
    selection_noun: str
    statements: tuple[Sql, ...]
    snapshots: tuple[Snapshot, ...]
    checks: tuple[Check, ...]
    destructive: bool = False
    undo_note: str = "Undo (u / postaltop act undo ID) restores the rows shown as 'before'."
    notes: tuple[str, ...] = ()
    undo_of: int | None = None
    """Audit id of the action this plan undoes (undo plans only)."""
    max_keys: int = 10_000
    """A selection larger than this is refused (narrow the filters)."""
    preset_keys: tuple[Any, ...] | None = None
    """Keys fixed at planning time (undo plans): no selection query, no drift re-check of a selection."""

    def summary(self) -> dict[str, Any]:
        """A JSON-friendly description (no secrets: plans never carry a credential key)."""
        return {
            "action": self.action,
            "sentence": self.sentence,
            "server_id": self.server_id,
            "server": self.server_name,
            "targets": dict(self.targets),
            "statements": [s.display() for s in self.statements],
            "undo_of": self.undo_of,
        }


@dataclass(frozen=True, slots=True)
class Preview:
    """What a plan would change right now: the selected keys and the current rows."""

    keys: tuple[Any, ...]
    before: Mapping[str, list[Row]] = field(default_factory=dict)
    """Snapshot label -> rows (secrets included: redact before showing)."""
    endpoint: str = ""
    """Where the plan would write: database user, host, port, direct or through which SSH tunnel."""
    notes: tuple[str, ...] = ()
    """What the operator must know before confirming (e.g. values a filter matched besides the typed one)."""

    @property
    def count(self) -> int:
        """How many keys (messages, addresses, rows) are selected."""
        return len(self.keys)


def redact_row(row: Mapping[str, Any]) -> Row:
    """``row`` with every secret column replaced by :data:`REDACTED`."""
    return {k: (REDACTED if k in SECRET_COLUMNS and v is not None else v) for k, v in row.items()}


def redact_rows(snapshots: Mapping[str, Sequence[Mapping[str, Any]]]) -> dict[str, list[Row]]:
    """Every row of every snapshot redacted."""
    return {label: [redact_row(r) for r in rows] for label, rows in snapshots.items()}


def expected_count(check: Check, selected: int) -> int:
    """The value ``check`` must return when ``selected`` keys were acted on."""
    return selected if check.expected is None else check.expected
