"""Opening the incident actions from the main screen: ``x`` (the menu, its target prefilled) and ``u`` (undo).

The target comes from where the operator is: the selected alert when the alert list has the focus (its
scope and suggested action), the selected server when the servers table has it, else the server and
credential named by the selected log line.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from textual.app import App

from postaltop.core.actions import ActionPlan, PlanError, Preview
from postaltop.core.actions.context import ActionContext, context_from_alert, context_from_text
from postaltop.runtime.interfaces import ActionService

NO_ACTIONS = (
    "Actions need the database: configure [database] (and [actions] enabled = true); "
    "in `postaltop demo` they work on the simulation."
)


def alert_context(alert: Any) -> ActionContext:
    """The actions menu's target for ``alert``: its scope and suggested action."""
    action_id = getattr(getattr(alert, "action", None), "action_id", "")
    return context_from_alert(alert.scope.kind.value, alert.scope.key, action_id)


def focused_context(alert: Any, servers: Any, line_text: str | None) -> ActionContext:
    """The target of ``x``: the focused alert, else the focused servers table's row, else the log line.

    Args:
        alert: the selected alert when the alert list has the focus (else None).
        servers: the servers table when it is shown and has the focus (else None).
        line_text: the selected log line's text (None when no line is selected).
    """
    if alert is not None:
        return alert_context(alert)
    info = servers.selected_info() if servers is not None else None
    if info is not None:
        return ActionContext(f"{info.org_permalink}/{info.permalink}")
    return ActionContext() if line_text is None else context_from_text(line_text)


def open_actions_menu(app: App[Any], actions: ActionService | None, context: ActionContext) -> None:
    """Open the actions menu on ``context`` (or say why actions are not available here)."""
    from postaltop.ui.screens.actions import ActionsScreen

    if actions is None:
        app.notify(NO_ACTIONS, severity="warning", markup=False, timeout=8)
        return
    app.push_screen(ActionsScreen(actions, context))


async def open_undo(app: App[Any], actions: ActionService) -> None:
    """Preview (and confirm) the undo of the last action not undone yet."""
    from postaltop.ui.screens.action_preview import ActionPreviewScreen

    try:
        plan = actions.last_undo_plan()
        preview = await actions.preview(plan)
    except PlanError as exc:
        app.notify(str(exc), markup=False, timeout=6)
        return
    app.push_screen(ActionPreviewScreen(actions, plan, preview))


def response_preview_opener(app: App[Any]) -> Callable[..., None]:
    """How the response bar shows a policy's plan: the action preview, where Escape declines it."""
    from postaltop.ui.screens.action_preview import ActionPreviewScreen

    def open_preview(
        actions: ActionService,
        plan: ActionPlan,
        preview: Preview,
        execute: Callable[[ActionPlan, Preview], Awaitable[Any]],
        answered: Callable[[Any], None],
    ) -> None:
        screen = ActionPreviewScreen(actions, plan, preview, execute=execute, cancel_word="decline")
        app.push_screen(screen, answered)

    return open_preview
