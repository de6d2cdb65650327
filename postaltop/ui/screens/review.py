"""The guided review: one screen per checklist step, a finding per step, a report at the end.

Keys: ``n``/``right`` next step, ``p``/``left`` previous, ``f`` write a finding (note, then follow-up;
Enter saves), ``s`` cycle the finding's severity, ``0`` nothing found, ``w`` write the report and
finish, ``q`` leave (progress is kept: ``postaltop review --resume``). Everything shown from logs is
plain :class:`~rich.text.Text` built with ``display_text``, never markup.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Input, ProgressBar, Static
from textual.worker import get_current_worker

from postaltop.core.review.charts import render_chart
from postaltop.core.review.model import SEVERITIES, Evidence, Table
from postaltop.core.review.window import fmt_time
from postaltop.core.sanitize import display_text
from postaltop.runtime.interfaces import GuidedReview

_SEVERITY_STYLE = {"critical": "bold red", "high": "bold red", "medium": "yellow", "low": "cyan", "info": ""}


def _table_text(table: Table, width: int = 48) -> Text:
    text = Text(table.title + "\n", style="bold")
    if not table.rows:
        text.append("  (none)\n", style="dim")
        return text
    cols = len(table.headers)
    widths = [len(h) for h in table.headers]
    cells = [[display_text(c)[:width] for c in row] for row in table.rows]
    for row in cells:
        for i, c in enumerate(row[:cols]):
            widths[i] = max(widths[i], len(c))
    text.append("  " + "  ".join(h.ljust(widths[i]) for i, h in enumerate(table.headers)) + "\n", style="dim")
    for row in cells:
        text.append("  " + "  ".join(c.ljust(widths[i]) for i, c in enumerate(row[:cols])) + "\n")
    return text


def evidence_text(ev: Evidence, max_lines: int = 15) -> Text:
    """The step's evidence as plain text: problems, summary, charts, tables, log lines."""
    text = Text()
    for p in ev.problems:
        text.append(f"● {p.severity.upper()} ", style=_SEVERITY_STYLE.get(p.severity, ""))
        text.append(display_text(p.text) + "\n")
    if ev.problems:
        text.append("\n")
    for s in ev.summary:
        text.append(display_text(s) + "\n")
    if ev.note:
        text.append(display_text(ev.note) + "\n", style="italic dim")
    for chart in ev.charts:
        text.append("\n")
        for row in render_chart(chart):
            text.append(row + "\n")
    for table in ev.tables:
        text.append("\n")
        text.append_text(_table_text(table))
    if ev.lines:
        shown = ev.lines[-max_lines:]
        text.append(f"\nLog lines (last {len(shown)} of {ev.line_total:,}; filter: ", style="bold")
        text.append(display_text(ev.filter_text) + ")\n", style="bold")
        for line in shown:
            text.append(f"{fmt_time(line.ts)} {display_text(line.host)} ", style="dim")
            text.append(display_text(line.text)[:400] + "\n")
    return text


class ReviewScreen(Screen[None]):
    """One checklist step at a time."""

    DEFAULT_CSS = """
    ReviewScreen #review-head {
        height: 1; background: $primary; color: $background; text-style: bold; padding: 0 1;
    }
    ReviewScreen #review-question { height: auto; padding: 0 1; color: $warning; }
    ReviewScreen #review-body { height: 1fr; padding: 0 1; }
    ReviewScreen #review-finding { height: 1; padding: 0 1; background: $panel; }
    ReviewScreen #review-form { height: 3; }
    ReviewScreen #review-form Input { width: 1fr; }
    """
    BINDINGS = [
        Binding("n,right", "step(1)", "Next", id="review.next"),
        Binding("p,left", "step(-1)", "Previous", id="review.previous"),
        Binding("f", "finding", "Finding", id="review.finding"),
        Binding("s", "severity", "Severity", id="review.severity"),
        Binding("0", "nothing", "Nothing found", id="review.nothing"),
        Binding("w", "write", "Write report", id="review.write"),
        Binding("escape", "leave_form", "Back", show=False, id="review.escape"),
        Binding("q", "quit_review", "Quit (resume later)", id="review.quit"),
    ]

    def __init__(self, session: GuidedReview) -> None:
        super().__init__()
        self.session = session
        self.severity = "medium"

    def compose(self) -> ComposeResult:
        yield Static(id="review-head")
        yield Static(id="review-question")
        with VerticalScroll(id="review-body"):
            yield Static(id="review-evidence")
        yield Static(id="review-finding")
        with Horizontal(id="review-form"):
            yield Input(placeholder="note (f to start; Enter moves on)", id="review-note")
            yield Input(placeholder="follow-up (Enter saves)", id="review-follow")
        yield Footer()

    def on_mount(self) -> None:
        """Show the current step."""
        self.show_step()

    def show_step(self) -> None:
        """Redraw everything for the current step."""
        s = self.session
        head = (
            f"Review #{s.review_id} · {s.review.window.label()} · step {s.position + 1}/{len(s.steps)}: "
            f"{s.step.title}"
        )
        self.query_one("#review-head", Static).update(Text(display_text(head)))
        self.query_one("#review-question", Static).update(Text(display_text(s.step.question)))
        self.query_one("#review-evidence", Static).update(evidence_text(s.current))
        self.query_one("#review-body", VerticalScroll).scroll_home(animate=False)
        found = s.findings.get(s.step.id)
        note = self.query_one("#review-note", Input)
        follow = self.query_one("#review-follow", Input)
        note.value = found.note if found is not None else ""
        follow.value = found.follow_up if found is not None else ""
        if found is not None and not found.nothing_found:
            self.severity = found.severity
        self._show_finding()

    def _show_finding(self, extra: str = "") -> None:
        found = self.session.findings.get(self.session.step.id)
        text = Text()
        if found is None:
            text.append("No finding yet. ", style="dim")
        elif found.nothing_found:
            text.append("Recorded: nothing found. ", style="green")
        else:
            text.append(f"Recorded: {found.severity.upper()} ", style=_SEVERITY_STYLE.get(found.severity, ""))
            text.append(display_text(found.note)[:80] + " ")
        text.append(f"· severity for a new finding: {self.severity} (s) ", style="dim")
        done = len(self.session.findings)
        text.append(f"· {done}/{len(self.session.steps)} steps answered", style="dim")
        if extra:
            text.append(" · " + extra, style="bold")
        self.query_one("#review-finding", Static).update(text)

    # -- actions --------------------------------------------------------------------------

    def action_step(self, delta: int) -> None:
        """Next / previous step."""
        if self.session.move(delta):
            self.show_step()
        elif delta > 0:
            self._show_finding("last step: press w to write the report")

    def action_finding(self) -> None:
        """Start writing a finding."""
        self.query_one("#review-note", Input).focus()

    def action_severity(self) -> None:
        """Cycle the severity of the next finding."""
        self.severity = SEVERITIES[(SEVERITIES.index(self.severity) + 1) % len(SEVERITIES)]
        self._show_finding()

    def action_nothing(self) -> None:
        """Record "nothing found" for this step."""
        note = self.query_one("#review-note", Input).value
        self.session.record("info", note, nothing_found=True)
        self._show_finding("saved")

    def action_leave_form(self) -> None:
        """Leave the inputs (keys drive the screen again)."""
        self.query_one("#review-body", VerticalScroll).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in the note moves to the follow-up; Enter there saves the finding."""
        if event.input.id == "review-note":
            self.query_one("#review-follow", Input).focus()
            return
        note = self.query_one("#review-note", Input).value
        follow = self.query_one("#review-follow", Input).value
        self.session.record(self.severity, note, follow)
        self.action_leave_form()
        self._show_finding("saved")

    def action_write(self) -> None:
        """Write the report and finish the review."""
        paths = self.session.finish()
        names = ", ".join(str(p) for p in paths)
        self._show_finding(f"report written: {names}")
        self.notify(f"Report written: {names}", markup=False, timeout=10)

    def action_quit_review(self) -> None:
        """Leave; the review stays open for ``--resume`` unless it was finished."""
        self.app.exit(0)


ProgressSink = Callable[[float, str], None]
Prepare = Callable[[ProgressSink], Callable[[], GuidedReview]]
"""Reads the review's window (in a worker thread, reporting its progress to the sink) and returns what
creates the session (called on the UI thread: the review's store belongs to it)."""


class ReadingCancelled(Exception):
    """Raised in the reading thread when the review is closed before its window is read."""


class ReviewLoading(Screen[None]):
    """Shown while the review's window is read: what is being read, and how far it got."""

    DEFAULT_CSS = """
    ReviewLoading { align: center middle; }
    ReviewLoading #review-loading-text { width: auto; height: 1; margin-bottom: 1; }
    ReviewLoading ProgressBar { width: auto; }
    """

    def compose(self) -> ComposeResult:
        yield Static("Reading the review's window…", id="review-loading-text")
        yield ProgressBar(total=100, show_eta=False, id="review-loading-bar")
        yield Footer()

    def show(self, share: float, text: str) -> None:
        """Where the reading is: ``share`` done (0-1) and a line saying what."""
        self.query_one("#review-loading-text", Static).update(Text(display_text(text)))
        self.query_one("#review-loading-bar", ProgressBar).update(progress=round(share * 100, 1))


class ReviewApp(App[int]):
    """The review as its own small application (``postaltop review``).

    Given a ``session``, it opens at once; given ``prepare`` instead, it shows :class:`ReviewLoading` while
    ``prepare`` reads the window in a thread, then the review (``failure`` keeps what ``prepare`` raised).
    """

    TITLE = "postaltop review"

    def __init__(
        self, session: GuidedReview | None = None, theme: str | None = None, *, prepare: Prepare | None = None
    ) -> None:
        super().__init__()
        self.session = session
        self.prepare = prepare
        self.failure: BaseException | None = None
        from postaltop.ui.themes import load_themes

        for item in load_themes().values():
            self.register_theme(item)
        if theme and theme in self.available_themes:
            self.theme = theme

    def on_mount(self) -> None:
        """Open the review screen, or the loading screen while the window is read."""
        if self.session is not None:
            self.push_screen(ReviewScreen(self.session))
            return
        loading = ReviewLoading()
        self.push_screen(loading)
        self.run_worker(lambda: self._prepare(loading), thread=True, exclusive=True)

    def _prepare(self, loading: ReviewLoading) -> None:
        """Read the window (in a worker thread), then open the review on the UI thread.

        Closing the app cancels the worker: the next progress report raises :class:`ReadingCancelled`, so
        the reading stops instead of keeping the process alive until it is done.
        """
        assert self.prepare is not None
        worker = get_current_worker()

        def sink(share: float, text: str) -> None:
            if worker.is_cancelled:
                raise ReadingCancelled("the review was closed while its window was read")
            self.call_from_thread(loading.show, share, text)

        try:
            finish = self.prepare(sink)
        except Exception as exc:  # shown by the command once the app has closed
            if not worker.is_cancelled:
                self.call_from_thread(self._preparation_failed, exc)
            return
        if not worker.is_cancelled:
            self.call_from_thread(self._open_review, finish)

    def _open_review(self, finish: Callable[[], GuidedReview]) -> None:
        try:
            self.session = finish()
        except Exception as exc:  # shown by the command once the app has closed
            self._preparation_failed(exc)
            return
        self.switch_screen(ReviewScreen(self.session))

    def _preparation_failed(self, exc: BaseException) -> None:
        self.failure = exc
        self.exit(2)
