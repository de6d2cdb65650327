"""The actions menu (``x``): pick an action for the selected context, or type the target.

A labelled form (server, credential, value) above the list of actions. The server and credential are
prefilled from the selected alert or log line when it names them; the value field takes the action's free
argument (suspension reason, mode, send limit, recipients or ``@domain``). Focus starts in the first field;
Enter moves on to the list; Enter on an action checks the fields (a missing one is said under it, inline),
plans it and opens the preview; Escape closes.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from postaltop.core.actions import ACTIONS, PlanError
from postaltop.core.actions.context import ActionContext
from postaltop.runtime.interfaces import ActionService, AuditEntry

AUDIT_OPTION = "audit-trail"

VALUE_HINTS = {
    "server-suspend": "reason (required)",
    "server-mode": "Live or Development",
    "server-send-limit": "messages per 60 min, or none",
    "suppress-add": "addresses (space separated) or @domain",
    "suppress-remove": "addresses (space separated) or @domain",
}

VALUE_NEEDS = ("reason", "mode", "limit", "recipients")
"""What an action needs typed in the value field (see ``ActionSpec.needs``)."""


def field_errors(name: str, server: str, credential: str, value: str) -> dict[str, str]:
    """Missing fields for action ``name``: ``{"server"|"credential"|"value": message}`` (empty when complete).

    The server may be left empty when the credential is given by its id (the server is looked up).
    """
    spec = ACTIONS.get(name)
    if spec is None:
        return {}
    errors: dict[str, str] = {}
    if not server.strip() and not credential.strip().lstrip("#").isdigit():
        errors["server"] = "required: a server id or org/server (or give the credential by id)"
    if "credential" in spec.needs and not credential.strip():
        errors["credential"] = "required for this action: a credential id or name"
    if any(need in spec.needs for need in VALUE_NEEDS) and not value.strip() and name != "server-send-limit":
        errors["value"] = f"required: {VALUE_HINTS.get(name, 'a value')}"
    return errors


class ActionsScreen(ModalScreen[None]):
    """Menu of incident actions for one server / credential."""

    BINDINGS = [Binding("escape", "close", "Close", id="actions.close")]

    DEFAULT_CSS = """
    ActionsScreen { align: center middle; }
    ActionsScreen #actions-box { width: 90%; max-width: 110; height: auto; max-height: 95%; padding: 0 1;
        border: round $primary; background: $surface; }
    ActionsScreen #actions-readonly { color: $warning; }
    ActionsScreen .field { height: 1; margin-top: 1; }
    ActionsScreen .field Label { width: 12; text-style: bold; }
    ActionsScreen Input { width: 1fr; height: 1; border: none; padding: 0 1; background: $boost; }
    ActionsScreen Input:focus { border: none; background: $primary 25%; }
    ActionsScreen .field-error { color: $error; padding-left: 12; height: auto; display: none; }
    ActionsScreen .field-error.-shown { display: block; }
    ActionsScreen #actions-error { color: $error; text-style: bold; height: auto; }
    ActionsScreen OptionList { height: auto; max-height: 14; margin-top: 1; }
    ActionsScreen #actions-help { color: $foreground 70%; }
    """

    def __init__(self, actions: ActionService, context: ActionContext) -> None:
        super().__init__()
        self.actions = actions
        self.context = context

    def compose(self) -> ComposeResult:
        with Vertical(id="actions-box"):
            title = "Incident actions" + (" (demo: applied to the simulation)" if self.actions.demo else "")
            yield Static(Text(title, style="bold"))
            if not self.actions.enabled:
                hint = "Read-only: preview only. " + self.actions.enable_hint
                yield Static(Text(hint), id="actions-readonly")
            for field, label, value, hint in (
                ("server", "Server", self.context.server, "id or org/server"),
                (
                    "credential",
                    "Credential",
                    self.context.credential,
                    "id or name (credential actions, filter)",
                ),
                ("value", "Value", "", "reason / mode / limit / recipients"),
            ):
                with Horizontal(classes="field"):
                    yield Label(label, markup=False)
                    yield Input(value=value, placeholder=hint, id=f"actions-{field}")
                yield Static("", id=f"actions-{field}-error", classes="field-error")
            options = [
                Option(Text(f"{spec.name:19} {spec.title}"), id=spec.name) for spec in ACTIONS.values()
            ]
            options.append(
                Option(Text(f"{AUDIT_OPTION:19} Past actions (audit trail), with undo"), id=AUDIT_OPTION)
            )
            yield OptionList(*options, id="actions-list")
            yield Static("", id="actions-error")
            yield Static(
                Text("Tab: next field · Enter: next, or preview the highlighted action · Escape: close"),
                id="actions-help",
            )

    def on_mount(self) -> None:
        """Start in the first field (Enter moves on to the list); preselect a suggested action."""
        options = self.query_one("#actions-list", OptionList)
        suggested = self.context.suggested
        options.highlighted = list(ACTIONS).index(suggested) if suggested in ACTIONS else 0
        self.query_one("#actions-server").focus()

    @on(OptionList.OptionHighlighted)
    def _hint(self, event: OptionList.OptionHighlighted) -> None:
        name = event.option.id or ""
        self.query_one("#actions-value", Input).placeholder = VALUE_HINTS.get(name, "(not needed)")

    def show_errors(self, errors: dict[str, str], general: str = "") -> None:
        """Say under each field what is missing (and a planning error under the form); focus the first."""
        for field in ("server", "credential", "value"):
            line = self.query_one(f"#actions-{field}-error", Static)
            line.update(Text(errors.get(field, "")))
            line.set_class(field in errors, "-shown")
        self.query_one("#actions-error", Static).update(Text(general))
        for field in ("server", "credential", "value"):
            if field in errors:
                self.query_one(f"#actions-{field}", Input).focus()
                break

    @on(Input.Submitted)
    def _next(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one("#actions-list").focus()

    @on(OptionList.OptionSelected, "#actions-list")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id == AUDIT_OPTION:
            self.app.push_screen(AuditScreen(self.actions))
            return
        self.run_worker(self.open_preview(event.option.id or ""), group="actions-plan", exclusive=True)

    async def open_preview(self, name: str) -> None:
        """Plan ``name`` for the typed targets and push the preview screen (errors are notified)."""
        from postaltop.ui.screens.action_preview import ActionPreviewScreen

        server = self.query_one("#actions-server", Input).value
        credential = self.query_one("#actions-credential", Input).value
        value = self.query_one("#actions-value", Input).value
        errors = field_errors(name, server, credential, value)
        self.show_errors(errors)
        if errors:
            return
        try:
            plan = await self.actions.plan(name, server, credential, value=value)
            preview = await self.actions.preview(plan)
        except PlanError as exc:
            self.show_errors({}, f"Cannot plan {name}: {exc}")
            return
        except Exception as exc:
            self.notify(
                f"Cannot preview: {type(exc).__name__}: {exc}", severity="error", markup=False, timeout=10
            )
            return
        self.app.push_screen(ActionPreviewScreen(self.actions, plan, preview))

    def action_close(self) -> None:
        """Close the menu."""
        self.dismiss(None)


class AuditScreen(ModalScreen[None]):
    """The audit trail (newest first, secrets redacted); Enter on an entry previews its undo."""

    BINDINGS = [Binding("escape", "close", "Close", id="audit.close")]

    DEFAULT_CSS = """
    AuditScreen { align: center middle; }
    AuditScreen #audit-box { width: 95%; height: 85%; padding: 0 1; border: round $primary;
        background: $surface; }
    AuditScreen OptionList { height: 1fr; }
    """

    def __init__(self, actions: ActionService) -> None:
        super().__init__()
        self.actions = actions

    def compose(self) -> ComposeResult:
        demo = self.actions.demo
        records = list(reversed(self.actions.audit_trail()))
        with Vertical(id="audit-box"):
            yield Static(Text("Audit trail" + (" (demo)" if demo else "") + " · Enter: undo · Escape: close"))
            options = [Option(Text(self.describe(r)), id=str(r.id)) for r in records]
            yield OptionList(*options, id="audit-list")
            if not records:
                yield Static(Text("No actions yet."))

    @staticmethod
    def describe(record: AuditEntry) -> str:
        """One entry, two lines."""
        import datetime as dt

        when = dt.datetime.fromtimestamp(record.ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
        state = f" undone by #{record.undone_by}" if record.undone_by else ""
        state += f" (undo of #{record.undo_of})" if record.undo_of else ""
        head = f"#{record.id} {when}Z {record.os_user}/{record.db_user} {record.action} {record.server}"
        return f"{head} [{record.result}]{state}\n   {record.sentence}"

    def on_mount(self) -> None:
        """Focus the list."""
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _undo(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.run_worker(self.open_undo(int(event.option.id or 0)), group="audit-undo", exclusive=True)

    async def open_undo(self, audit_id: int) -> None:
        """Preview the undo of entry ``audit_id``."""
        from postaltop.ui.screens.action_preview import ActionPreviewScreen

        try:
            plan = self.actions.plan_undo(audit_id)
            preview = await self.actions.preview(plan)
        except PlanError as exc:
            self.notify(str(exc), markup=False, timeout=6)
            return
        self.app.push_screen(ActionPreviewScreen(self.actions, plan, preview))

    def action_close(self) -> None:
        """Close the trail."""
        self.dismiss(None)
