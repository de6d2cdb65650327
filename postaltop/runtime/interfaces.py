"""What the front ends see of a running :class:`~postaltop.runtime.Runtime`: typed, and free of I/O imports.

The UI imports this module (never ``sources/`` or ``store/``): it renders the engine's and the monitor's
state and sends intents through these protocols. The runtime hands it objects that satisfy them (database or
demo action executors, the message lookup, the filter history file).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # annotations only: the UI imports these protocols before its first frame
    from postaltop.core.actions.plan import ActionPlan, Preview
    from postaltop.core.alerts import Alert
    from postaltop.core.respond.policy import ResponsePolicy
    from postaltop.core.respond.prompt import Answer, PendingResponse
    from postaltop.core.review.checklist import Step
    from postaltop.core.review.model import Evidence, Finding
    from postaltop.core.review.window import Window

MessageLookup = Callable[[str], Awaitable[Any]]
"""``ref -> LookupResult``: the trace screen's reader of a message row and its deliveries."""


class AuditEntry(Protocol):
    """One audited action as the audit trail lists it."""

    id: int | None
    ts: float
    os_user: str
    db_user: str
    action: str
    server: str
    result: str
    sentence: str
    undone_by: int | None
    undo_of: int | None


class ActionService(Protocol):
    """Incident actions on the database (or the simulation): plan, preview, run, undo, audit trail."""

    @property
    def demo(self) -> bool:
        """True when the actions apply to the simulation."""

    @property
    def enabled(self) -> bool:
        """True when writes are allowed by the configuration."""

    @property
    def enable_hint(self) -> str:
        """What to change to allow writes (shown while they are disabled)."""

    @property
    def protected_servers(self) -> list[str]:
        """Servers whose actions need the typed confirmation."""

    async def plan(self, name: str, server: str, credential: str = "", *, value: str = "") -> ActionPlan:
        """Resolve the typed targets and plan action ``name``."""

    async def preview(self, plan: ActionPlan) -> Preview:
        """What ``plan`` would change, read now."""

    async def execute(self, plan: ActionPlan, preview: Preview) -> Any:
        """Run ``plan`` (checked against ``preview``), audited; returns the execution result."""

    def plan_undo(self, audit_id: int) -> ActionPlan:
        """The plan that undoes audit entry ``audit_id``."""

    def last_undo_plan(self) -> ActionPlan:
        """The plan that undoes the newest undoable action."""

    def audit_trail(self) -> list[AuditEntry]:
        """Audited actions of this kind (demo or real), oldest first."""


class ResponseService(Protocol):
    """The ``[[respond]]`` policies when the TUI runs them: every decision is a question to the operator."""

    pending: list[PendingResponse]
    """Responses waiting for an answer, oldest first."""

    @property
    def policies(self) -> tuple[ResponsePolicy, ...]:
        """The configured policies."""

    @property
    def actions(self) -> ActionService:
        """The actions a confirmed response runs through."""

    def killed(self) -> bool:
        """Whether the kill switch is on now."""

    def review(self, alerts: list[Alert], now: float) -> list[PendingResponse]:
        """Decide on the alerts at ``now``; returns the responses newly pending."""

    async def prepare(self, item: PendingResponse) -> tuple[ActionPlan, Preview]:
        """The response's plan and its preview (raises ``PlanError`` when it cannot be planned)."""

    async def execute(self, plan: ActionPlan, preview: Preview) -> Any:
        """Run a confirmed response (refused when the kill switch went on meanwhile)."""

    def confirmed(self, item: PendingResponse, result: Any) -> None:
        """The operator ran it."""

    def declined(self, item: PendingResponse, why: str = "") -> None:
        """The operator said no (recorded; not asked again until the cooldown passes)."""

    def about(self, alert_key: str) -> tuple[list[PendingResponse], list[Answer], list[str]]:
        """One alert's pending responses, answers, and what policies wait on."""


class FilterHistory(Protocol):
    """Where the last filter and the filter history persist between runs."""

    def load(self) -> tuple[str, list[str]]:
        """The last filter and the history, oldest first."""

    def save(self, last: str, history: list[str]) -> bool:
        """Persist ``last`` and ``history`` (oldest first); False when the file could not be written."""


class ReplayControls(Protocol):
    """The replay clock as the replay screen drives it (``postaltop.recording.replay.ReplayController``)."""

    position: float
    speed: float
    paused: bool
    restart_at: float | None

    @property
    def progress(self) -> float:
        """0..1 of the recording's time span."""

    @property
    def finished(self) -> bool:
        """True when every record was fed."""

    def toggle_pause(self) -> bool:
        """Pause or resume; True when now paused."""

    def set_speed(self, speed: float) -> None:
        """Change the speed."""

    def jump(self, seconds: float) -> bool:
        """Move the clock; False when going back needs a restart."""

    def open_alerts(self) -> Mapping[str, Any]:
        """Recorded alerts still firing at the current position, by key (``title``, ``scope``)."""


class ReviewHeader(Protocol):
    """A guided review's stored header (``postaltop.store.reviews.ReviewRecord``)."""

    @property
    def window(self) -> Window:
        """The reviewed time window."""


class GuidedReview(Protocol):
    """A guided review in progress (``postaltop.store.reviews.ReviewSession``): steps, evidence, findings."""

    review_id: int
    position: int
    steps: list[Step]
    findings: dict[str, Finding]

    @property
    def review(self) -> ReviewHeader:
        """The stored header."""

    @property
    def step(self) -> Step:
        """The current step."""

    @property
    def current(self) -> Evidence:
        """The current step's evidence."""

    def move(self, delta: int) -> bool:
        """Go ``delta`` steps forward/back; False at either end."""

    def record(self, severity: str, note: str, follow_up: str = "", nothing_found: bool = False) -> Finding:
        """Save the current step's finding."""

    def finish(self) -> list[Path]:
        """Close the review and write its reports; returns their paths."""
