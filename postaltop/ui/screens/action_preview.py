"""The preview / confirm / result screen of one action plan (also used for undo).

Shows the sentence, the affected count, the SQL with its parameters (secrets redacted), the rows as they are
now, the verification, the undo and the fact that direct SQL emits none of Postal's webhooks or e-mails.
Confirming needs the target's name typed for destructive actions and protected servers (red frame), ``y``
otherwise. After the run it shows the result and the verification; Escape closes (or cancels before).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from postaltop.core.actions import NO_WEBHOOKS, ActionPlan, Preview
from postaltop.core.actions.describe import needs_typed_confirmation, preview_lines
from postaltop.runtime.interfaces import ActionService


class ActionPreviewScreen(ModalScreen[Any]):
    """Preview, confirm, run, show the result. Dismisses with the ``ExecResult`` (None when cancelled)."""

    BINDINGS = [Binding("escape", "close", "Cancel / close", id="action_preview.close")]

    DEFAULT_CSS = """
    ActionPreviewScreen { align: center middle; }
    ActionPreviewScreen #preview-box { width: 95%; height: 90%; padding: 0 1; border: round $primary;
        background: $surface; }
    ActionPreviewScreen.protected #preview-box { border: heavy $error; }
    ActionPreviewScreen #preview-body { height: 1fr; }
    ActionPreviewScreen #preview-warning { color: $warning; }
    ActionPreviewScreen #preview-result { height: auto; }
    ActionPreviewScreen #preview-result.ok { color: $success; }
    ActionPreviewScreen #preview-result.failed { color: $error; }
    """

    def __init__(
        self,
        actions: ActionService,
        plan: ActionPlan,
        preview: Preview,
        *,
        execute: Callable[[ActionPlan, Preview], Awaitable[Any]] | None = None,
        cancel_word: str = "cancel",
    ) -> None:
        super().__init__()
        self.actions = actions
        self.execute = execute or actions.execute
        """Runs the plan (a response policy's goes through its kill switch first)."""
        self.cancel_word = cancel_word
        """What Escape does before the run (``cancel``; ``decline`` for a policy's response)."""
        self.plan = plan
        self.preview = preview
        protected = actions.protected_servers
        self.typed = needs_typed_confirmation(plan, protected)
        self.is_protected = plan.server_name in protected or str(plan.server_id) in protected
        self.result: Any = None

    @property
    def confirm_word(self) -> str:
        """What must be typed to run the plan."""
        return self.plan.confirm_text if self.typed else "y"

    def compose(self) -> ComposeResult:
        title = f"{'Undo' if self.plan.undo_of else 'Action'}: {self.plan.action} on {self.plan.server_name}"
        if self.actions.demo:
            title += "  (demo)"
        with Vertical(id="preview-box"):
            yield Static(Text(title, style="bold"))
            with VerticalScroll(id="preview-body"):
                yield Static(Text("\n".join(preview_lines(self.plan, self.preview))), id="preview-text")
            yield Static(Text(NO_WEBHOOKS), id="preview-warning")
            empty = self.plan.selection is not None and self.preview.count == 0
            if not self.actions.enabled:
                yield Static(Text(self.actions.enable_hint), id="preview-result", classes="failed")
            elif empty:
                yield Static(
                    Text(f"Nothing to do: no {self.plan.selection_noun} match."), id="preview-result"
                )
            else:
                yield Static(Text(""), id="preview-result")
                prompt = f"Type {self.confirm_word!r} and Enter to run it; Escape {self.cancel_word}s"
                yield Input(placeholder=prompt, id="preview-confirm")
            can_run = self.actions.enabled and not empty
            keys = f"Type {self.confirm_word!r} + Enter: run · Escape: {self.cancel_word}"
            keys = keys if can_run else "Escape: close"
            yield Static(Text(keys, style="dim"), id="preview-keys")

    def on_mount(self) -> None:
        """Frame protected servers in red; focus the confirmation."""
        if self.is_protected:
            self.add_class("protected")
        inputs = self.query("#preview-confirm")
        if inputs:
            inputs.first().focus()

    @on(Input.Submitted, "#preview-confirm")
    def _confirm(self, event: Input.Submitted) -> None:
        event.stop()
        answer = event.value.strip()
        ok = answer == self.confirm_word or (not self.typed and answer.lower() in ("y", "yes"))
        result = self.query_one("#preview-result", Static)
        if not ok:
            result.update(
                Text(f"Not confirmed: type {self.confirm_word!r} exactly (Escape {self.cancel_word}s).")
            )
            return
        event.input.disabled = True
        result.update(Text("Running…"))
        self.run_worker(self.run_plan(), group="action-run", exclusive=True)

    async def run_plan(self) -> Any:
        """Execute, then show the result and the verification."""
        out = self.query_one("#preview-result", Static)
        try:
            self.result = await self.execute(self.plan, self.preview)
        except Exception as exc:
            out.update(Text(f"Not run: {exc}"))
            out.add_class("failed")
            return None
        res = self.result
        lines = [f"[{res.result}] {res.message}"]
        failed = [c for c in res.checks if not c.ok]
        shown = failed if len(res.checks) > 5 else res.checks
        if len(res.checks) > 5 and not failed:
            lines.append(f"verify ok: all {len(res.checks)} checks")
        lines += [
            f"verify {'ok' if c.ok else 'FAILED'}: {c.what}: expected {c.expected}, found {c.got}"
            for c in shown
        ]
        if res.record.id is not None:
            lines.append(
                f"Audit #{res.record.id}" + (" · u undoes it" if res.ok and not self.plan.undo_of else "")
            )
        lines.append("Escape closes.")
        self.query_one("#preview-keys", Static).update(Text("Escape: close", style="dim"))
        out.update(Text("\n".join(lines)))
        out.add_class("ok" if res.ok else "failed")
        return res

    def action_close(self) -> None:
        """Cancel (before running) or close (after)."""
        self.dismiss(self.result)
