"""Incident actions as pure plans (:class:`ActionPlan`); executors live in ``postaltop.sources``."""

from postaltop.core.actions.catalog import ACTIONS, REFUSED, ActionArgs, ActionSpec, build
from postaltop.core.actions.mail import MailFilter
from postaltop.core.actions.plan import (
    NO_WEBHOOKS,
    REDACTED,
    ActionPlan,
    Check,
    PlanError,
    Preview,
    RefusedAction,
    Snapshot,
    Sql,
    redact_row,
    redact_rows,
)
from postaltop.core.actions.refs import CredentialRef, ServerRef
from postaltop.core.actions.restore import undo_plan

__all__ = [
    "ACTIONS",
    "NO_WEBHOOKS",
    "REDACTED",
    "REFUSED",
    "ActionArgs",
    "ActionPlan",
    "ActionSpec",
    "Check",
    "CredentialRef",
    "MailFilter",
    "PlanError",
    "Preview",
    "RefusedAction",
    "ServerRef",
    "Snapshot",
    "Sql",
    "build",
    "redact_row",
    "redact_rows",
    "undo_plan",
]
