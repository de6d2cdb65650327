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

The package in layers: ``results`` (results, checks, the audit record, SQL rendering), ``base`` (the
connection and the audit), ``targets`` (servers and credentials from what was typed), ``rows`` (preview,
selection, snapshots, statements, checks), ``settle`` (a lost COMMIT reply) and ``executor``
(:class:`DbActionExecutor`: execute and undo; :func:`plan_action`).
"""

from postaltop.sources.action_executor.executor import DbActionExecutor, attach_db_actions, plan_action
from postaltop.sources.action_executor.results import (
    DENIED_CODES,
    ENABLE_HINT,
    ActionsDisabled,
    CheckResult,
    Drift,
    ExecResult,
    audit_record,
    render,
)

__all__ = [
    "DENIED_CODES",
    "ENABLE_HINT",
    "ActionsDisabled",
    "CheckResult",
    "DbActionExecutor",
    "Drift",
    "ExecResult",
    "attach_db_actions",
    "audit_record",
    "plan_action",
    "render",
]
