"""The filter bar: an input for the filter language, the live match count, inline errors, history.

It owns the filter: it parses what is typed, applies it to the view (in a worker thread for a large store),
remembers and persists it, and tells the screen when the view holds the new result (``on_shown``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.events import Key
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, Static

if TYPE_CHECKING:  # not at import: the start screen shows this bar; the query language loads with a filter
    from postaltop.core.query import Query, QueryError
    from postaltop.core.view import FilteredView
    from postaltop.runtime.interfaces import FilterHistory

DEBOUNCE_S = 0.3
"""Live filtering waits this long after the last key stroke."""

HISTORY_LIMIT = 50


def query_error_text(exc: QueryError) -> str:
    """``invalid filter: message (column N)`` for the inline error (plain text)."""
    message = exc.message or str(exc)
    if "column" not in message:
        message += f" (column {exc.position + 1})"
    return f"invalid filter: {message}"


class FilterInput(Input):
    """The text field; Up/Down walk the history, Escape clears."""

    BINDINGS = [
        Binding("escape", "clear_filter", "Clear filter", id="filter.clear"),
        Binding("up", "history_previous", "Older filter", show=False, id="filter.history_up"),
        Binding("down", "history_next", "Newer filter", show=False, id="filter.history_down"),
    ]

    def action_clear_filter(self) -> None:
        """Delegate to the bar (it owns the state)."""
        bar = self.parent.parent if self.parent is not None else None
        if isinstance(bar, FilterBar):
            bar.clear()

    def action_history_previous(self) -> None:
        """Show the previous (older) filter."""
        bar = self.parent.parent if self.parent is not None else None
        if isinstance(bar, FilterBar):
            bar.walk_history(-1)

    def action_history_next(self) -> None:
        """Show the next (newer) filter."""
        bar = self.parent.parent if self.parent is not None else None
        if isinstance(bar, FilterBar):
            bar.walk_history(1)


class FilterBar(Static):
    """Holds the filter input and its status (match count or error)."""

    DEFAULT_CSS = """
    FilterBar {
        height: 1;
        layout: horizontal;
        background: $panel;
    }
    FilterBar Horizontal { height: 1; }
    FilterBar #filter-prompt { width: 10; color: $foreground 70%; padding: 0 1; }
    FilterBar FilterInput {
        width: 1fr; height: 1; border: none; padding: 0; background: $panel;
        &:focus { border: none; background: $boost; }
    }
    FilterBar #filter-status { width: auto; max-width: 60%; padding: 0 1; color: $foreground 80%; }
    FilterBar #filter-status.-error { color: $error; text-style: bold; }
    """

    class Applied(Message):
        """The user asked for this filter (Enter, or after the live debounce)."""

        def __init__(self, text: str, *, final: bool) -> None:
            super().__init__()
            self.text = text
            self.final = final
            """True for Enter and Escape (worth remembering), False for a live preview."""

    def __init__(
        self,
        *,
        text: str = "",
        history: list[str] | None = None,
        live: bool = True,
        view: FilteredView | None = None,
        filters: FilterHistory | None = None,
        on_shown: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(id="filter-bar")
        self.view = view
        """The view the filter applies to."""
        self.filters = filters
        """Where applied filters persist (best effort: a failed write never disturbs filtering)."""
        self.on_shown = on_shown
        """Called with the filter's text once the view holds its result (the screen redraws)."""
        self._generation = 0
        """Counts filter requests, so a slow result never replaces a newer filter's."""
        self.history: list[str] = list(history or [])[-HISTORY_LIMIT:]
        self.active_text = text
        """The filter currently applied (the last valid one)."""
        self.live = live
        self._history_pos: int | None = None
        self._debounce: Timer | None = None
        self._suppress_change = False
        self.error_text: str | None = None
        """The invalid-filter message shown, if any."""
        self._status_text = ""
        # Built here, not in compose, so the screen can update them before they are mounted.
        self._input = FilterInput(
            value=text,
            placeholder='words, "phrases", /regex/, level>=warn, host:mx1, -exclude',
            id="filter-input",
            select_on_focus=False,
        )
        self._status = Static(Text(""), id="filter-status")

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Static(Text("filter /"), id="filter-prompt")
            yield self.input
            yield self._status

    @property
    def input(self) -> FilterInput:
        """The text field."""
        return self._input

    # -- status -----------------------------------------------------------------------

    def show_count(self, matched: int, total: int) -> None:
        """Show ``matched of total`` (or just the total when nothing is filtered)."""
        status = self._status
        if self.error_text is not None:
            if self.input.value.strip() != self.active_text.strip():
                # the invalid filter is still in the input: keep saying so (the live count redraws
                # several times a second and would otherwise wipe the message at once)
                return
            status.remove_class("-error")
            self.error_text = None
        label = f"{total:,} lines" if not self.active_text.strip() else f"{matched:,} of {total:,}"
        if label != self._status_text:
            # auto width: a re-layout only when the width changes (not 10-20 times a second)
            status.update(Text(label), layout=len(label) != len(self._status_text))
            self._status_text = label

    def show_error(self, message: str) -> None:
        """Show an invalid-filter message (plain text; the previous filter stays active)."""
        status = self._status
        status.add_class("-error")
        self.error_text = message
        self._status_text = message
        status.update(Text(message))

    # -- applying ----------------------------------------------------------------------

    def apply(self, text: str, *, final: bool, now: float, threaded: bool) -> bool:
        """Parse and apply a filter to the view; on error show it and keep the previous one.

        Args:
            final: Enter (remember and persist it) rather than the live preview.
            now: the time relative filters (``since:15m``) count from.
            threaded: prepare the result in a worker thread (a large store); the old result stays
                on screen until the new one is ready.

        Returns:
            True when the filter was applied (or is being applied).
        """
        if self.view is None:
            return False
        from postaltop.core.query import QueryError, parse_query

        try:
            query = parse_query(text, now=now)
        except QueryError as exc:
            self.show_error(query_error_text(exc))
            return False
        self._generation += 1
        if threaded:
            work = self._apply_in_thread(self.view, query, text, final, self._generation)
            self.run_worker(work, group="filter")
            return True
        self.view.set_query(query)
        self._shown(text, final=final)
        return True

    async def _apply_in_thread(
        self, view: FilteredView, query: Query, text: str, final: bool, generation: int
    ) -> None:
        """Prepare ``query``'s result off the loop; install it unless a newer filter (``generation``, taken
        when this one was asked for) came meanwhile."""
        prepared = await asyncio.to_thread(view.prepare, query)
        if generation != self._generation:
            return  # a newer filter was asked for meanwhile
        view.install(prepared)
        self._shown(text, final=final)

    def _shown(self, text: str, *, final: bool) -> None:
        """The view holds the new filter's result: the screen redraws, then it is remembered."""
        self.active_text = text
        if self.on_shown is not None:
            self.on_shown(text)
        if final:
            self.remember(text)
            if self.filters is not None:
                self.filters.save(text, self.history)

    # -- editing ----------------------------------------------------------------------

    def clear(self) -> None:
        """Empty the input and remove the filter."""
        self._cancel_debounce()
        self._set_value("")
        self.post_message(self.Applied("", final=True))

    def set_text(self, text: str) -> None:
        """Put ``text`` in the input (without applying it)."""
        self._set_value(text)

    def _set_value(self, text: str) -> None:
        self._suppress_change = True
        self.input.value = text
        self.input.cursor_position = len(text)
        self._suppress_change = False

    def remember(self, text: str) -> None:
        """Add an applied filter to the history (most recent last, no duplicates)."""
        text = text.strip()
        if not text:
            return
        if text in self.history:
            self.history.remove(text)
        self.history.append(text)
        del self.history[:-HISTORY_LIMIT]
        self._history_pos = None

    def walk_history(self, step: int) -> None:
        """Move through the history: -1 older, +1 newer (past the newest: an empty input)."""
        if not self.history:
            return
        pos = len(self.history) if self._history_pos is None else self._history_pos
        pos = max(0, min(len(self.history), pos + step))
        self._history_pos = pos
        self._set_value(self.history[pos] if pos < len(self.history) else "")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter applies the filter."""
        event.stop()
        self._cancel_debounce()
        self.post_message(self.Applied(event.value, final=True))

    def on_input_changed(self, event: Input.Changed) -> None:
        """Live filtering after a short pause in typing."""
        event.stop()
        if self._suppress_change or not self.live:
            return
        self._cancel_debounce()
        value = event.value
        self._debounce = self.set_timer(
            DEBOUNCE_S, lambda: self.post_message(self.Applied(value, final=False))
        )

    def _cancel_debounce(self) -> None:
        if self._debounce is not None:
            self._debounce.stop()
            self._debounce = None

    def on_key(self, event: Key) -> None:
        """Typing resets the history walk."""
        if event.key not in ("up", "down"):
            self._history_pos = None
