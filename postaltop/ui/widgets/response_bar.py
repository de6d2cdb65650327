"""Pending automatic responses: the notice that stays until each is answered, and ``r`` to answer it.

When the TUI runs ``[[respond]]`` policies it never acts by itself: each decision of a policy (``act`` or
``notify``) becomes a pending response, announced once and then kept on this line above the status line
until the operator answers it. ``r`` opens the action preview pre-filled with the policy's plan; typing the
confirmation runs it (audited with the policy and the alert, undone with ``u``), Escape declines it (not
asked again about that scope until the policy's cooldown passes).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from rich.text import Text
from textual.message import Message
from textual.widgets import Static

from postaltop.core.actions import ActionPlan, PlanError, Preview
from postaltop.core.respond.prompt import PendingResponse
from postaltop.core.sanitize import display_text
from postaltop.runtime.interfaces import ActionService, ResponseService

OpenPreview = Callable[
    [
        ActionService,
        ActionPlan,
        Preview,
        Callable[[ActionPlan, Preview], Awaitable[Any]],
        Callable[[Any], None],
    ],
    None,
]
"""``(actions, plan, preview, execute, answered)``: push the action preview; ``answered(result)`` when closed
(None: declined)."""

REVIEW_EVERY = 1.0
"""Seconds between two reviews of the open alerts by the policies."""


def policies_text(service: ResponseService) -> str:
    """``Response policies: 'night-hold' (act: credential-hold). Nothing runs until you confirm it (r).``"""
    names = ", ".join(f"{p.name!r} ({p.mode.value}: {p.action})" for p in service.policies)
    text = f"Response policies: {names}. The TUI asks before running any: r answers a pending one."
    if service.killed():
        text += " The kill switch is on: they ask nothing."
    return display_text(text)


def pending_text(items: list[PendingResponse]) -> Text:
    """The notice: the oldest pending response, how many wait, and the key."""
    text = Text()
    text.append(" RESPONSE PENDING ", style="bold black on yellow")
    text.append(" ")
    text.append(display_text(items[0].text))
    more = f" · {len(items) - 1} more waiting" if len(items) > 1 else ""
    text.append(f"{more} · ")
    text.append(" r ", style="bold reverse")
    text.append(" review, confirm or decline")
    return text


class ResponseBar(Static):
    """One line while responses wait for the operator (hidden otherwise); reviews the alerts every second."""

    DEFAULT_CSS = """
    ResponseBar { display: none; height: auto; max-height: 2; padding: 0 1; background: $warning 20%; }
    ResponseBar.-pending { display: block; }
    """

    class Changed(Message):
        """The pending responses changed (the screen shows or hides the ``r`` key)."""

    def __init__(
        self, service: ResponseService | None, monitor: Any, open_preview: OpenPreview | None = None
    ) -> None:
        super().__init__(id="response-bar")
        self.service = service
        self.monitor = monitor
        self.open_preview = open_preview
        """Shows the action preview of a response (the screen's; Escape there declines it)."""

    @property
    def has_pending(self) -> bool:
        """True while a response waits for an answer."""
        return self.service is not None and bool(self.service.pending)

    def on_mount(self) -> None:
        """Say which policies run, then review the alerts every second."""
        if self.service is None:
            return
        self.notify(policies_text(self.service), title="Automatic response", markup=False, timeout=10)
        self.set_interval(REVIEW_EVERY, self.review)

    def review(self) -> list[PendingResponse]:
        """Let the policies decide on the monitor's alerts now; announce what became pending."""
        if self.service is None:
            return []
        before = len(self.service.pending)
        new = self.service.review(self.monitor.alerts, self.monitor.now)
        for item in new:
            note = f"{item.text}. The {item.mode_note}. Press r to review it."
            self.notify(display_text(note), title="Response pending", severity="warning", markup=False)
        if new or len(self.service.pending) != before:
            self.redraw()
        return new

    def redraw(self) -> None:
        """Show the oldest pending response, or hide the line."""
        items = list(self.service.pending) if self.service is not None else []
        self.set_class(bool(items), "-pending")
        self.update(pending_text(items) if items else Text(""))
        self.post_message(self.Changed())

    def open_next(self, alert_key: str | None = None) -> bool:
        """Open the preview of the oldest pending response (of ``alert_key`` when given); False if none."""
        service = self.service
        items = [] if service is None else [p for p in service.pending if alert_key in (None, p.alert_key)]
        if service is None or not items:
            self.notify("No automatic response is waiting for an answer.", markup=False, timeout=4)
            return False
        self.run_worker(self._open(service, items[0]), group="response", exclusive=True)
        return True

    async def _open(self, service: ResponseService, item: PendingResponse) -> None:
        try:
            plan, preview = await service.prepare(item)
        except PlanError as exc:
            self.notify(display_text(str(exc)), severity="warning", markup=False, timeout=8)
            self.redraw()
            return

        def answered(result: Any) -> None:
            if item not in service.pending or (result is None and service.killed()):
                pass  # lapsed while the preview was open, or stopped by the kill switch: the review says so
            elif result is None:
                service.declined(item)
                self.notify("Response declined: not asked again until its cooldown passes.", markup=False)
            else:
                service.confirmed(item, result)
            self.review()
            self.redraw()

        if self.open_preview is not None:
            self.open_preview(service.actions, plan, preview, service.execute, answered)
