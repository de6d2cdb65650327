"""The virtualised log panel: a Line API ``ScrollView`` over a ``FilteredView`` of the log store.

Only the rows on screen are built: ``render_line`` asks the view which sequence number sits at a
row, materialises that one event and turns it into a ``Strip`` of plain-text segments (never
markup), cached by ``(seq, width, theme)``. New data is pulled by :meth:`LogPanel.sync`, which the
screen calls on a 10-20 Hz timer when the engine's version changed, never once per line.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip

from postaltop.core.logstore import LogStore
from postaltop.core.view import FilteredView
from postaltop.ui.widgets.log_panel_rows import CACHED_STRIPS, LEVEL_CLASS, LogPanelRows
from postaltop.ui.widgets.log_row import Columns


class LogPanel(LogPanelRows, can_focus=True):
    """Shows the filtered log lines, follows the tail until the user scrolls up."""

    COMPONENT_CLASSES = {
        "log-panel--time",
        "log-panel--host",
        "log-panel--component",
        "log-panel--cursor",
        "log-panel--placeholder",
        "log-panel--late",
        *LEVEL_CLASS.values(),
    }

    DEFAULT_CSS = """
    LogPanel {
        background: $surface;
        color: $foreground;
        overflow-x: hidden;
        overflow-y: scroll;
        scrollbar-gutter: stable;
        /* While following, the thumb would sit at the bottom and re-render every frame (it is
           as costly as the rows): hide it, keeping its gutter so the row width never changes. */
        &.-following { overflow-y: hidden; }
        & > .log-panel--time { color: $log-time; }
        & > .log-panel--host { color: $log-host; }
        & > .log-panel--component { color: $log-component; }
        & > .log-panel--debug { color: $sev-debug; }
        & > .log-panel--info { color: $sev-info; }
        & > .log-panel--warn { color: $sev-warn; }
        & > .log-panel--error { color: $sev-error; text-style: bold; }
        & > .log-panel--fatal { color: $sev-fatal; text-style: bold reverse; }
        & > .log-panel--unknown { color: $sev-unknown; }
        & > .log-panel--cursor { background: $primary 35%; }
        & > .log-panel--placeholder { color: $foreground 60%; text-style: italic; }
        & > .log-panel--late { color: $warning; text-style: bold; }
    }
    """

    BINDINGS = [
        Binding("up,k", "cursor_up", "Up", show=False, id="log.up"),
        Binding("down,j", "cursor_down", "Down", show=False, id="log.down"),
        Binding("pageup", "page_up", "Page up", show=False, id="log.page_up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="log.page_down"),
        Binding("home,g", "first", "First line", show=False, id="log.first"),
        Binding("end,G", "follow", "Follow", show=False, id="log.end"),
        Binding("right,l", "scroll_message(8)", "Scroll right", show=False, id="log.right"),
        Binding("left,h", "scroll_message(-8)", "Scroll left", show=False, id="log.left"),
        Binding("shift+right,L", "scroll_message(40)", "Scroll far right", show=False, id="log.far_right"),
        Binding("shift+left,H", "scroll_message(-1000000)", "Line start", show=False, id="log.line_start"),
        Binding("enter", "open_detail", "Detail", id="log.detail"),
        Binding("y", "copy_line", "Copy line", id="log.copy"),
    ]

    follow: reactive[bool] = reactive(True)
    """True while the panel shows the newest lines as they arrive."""

    class FollowChanged(Message):
        """Follow mode or the count of lines that arrived while paused changed."""

        def __init__(self, follow: bool, new_lines: int) -> None:
            super().__init__()
            self.follow = follow
            self.new_lines = new_lines

    class DetailRequested(Message):
        """The user asked to see one event in full."""

        def __init__(self, seq: int) -> None:
            super().__init__()
            self.seq = seq

    def __init__(
        self,
        store: LogStore,
        view: FilteredView,
        *,
        follow: bool = True,
        id: str | None = None,  # noqa: A002 - Textual's parameter name
    ) -> None:
        super().__init__(id=id, classes="-following" if follow else None)
        self.store = store
        self.view = view
        self.set_reactive(LogPanel.follow, follow)
        self.new_lines = 0
        """Lines that matched while paused (shown as ``paused · N new``)."""
        self.cursor_seq: int | None = None
        """The selected event; None means the newest row (while following)."""
        self.placeholder = "Waiting for log lines…"
        self.theme_key = ""
        self.render_count = 0
        """Frames rendered (benchmarks wait for it to change)."""
        self.last_render_at = 0.0
        self.rendered_cursor_seq: int | None = None
        """The highlighted event as of the last render (benchmarks wait for it to show a keypress)."""
        self._top_seq: int | None = None
        self._columns = Columns(4, 4)
        self.message_offset = 0
        """Characters of every message scrolled off to the left (``←``/``→``); 0 shows each from its start."""
        self._cache: LRUCache[tuple[int, int, str, Columns, bool, int], Strip] = LRUCache(CACHED_STRIPS)
        self._styles: dict[str, Style] = {}
        self._programmatic_scroll = False
        self._frame_base = Style()
        self._frame_width = 0
        self._frame_selected: int | None = None
        self._thumb_drawn: tuple[bool, int, int, int] | None = None
        self.marker: Callable[[int], str | None] | None = None
        """Inline alert markers: seq -> style of a mark in the first cell, or None."""

    # -- data -------------------------------------------------------------------------

    def sync(self) -> int:
        """Pull new matches from the view and update size, scroll position and counters.

        Returns:
            How many new rows matched.
        """
        window = self.scrollable_content_region.height
        before = self._visible_key(window)
        added = self.view.refresh()
        columns_changed = self._update_columns()
        height = len(self.view)
        width = self.scrollable_content_region.width
        self._set_virtual_height(height, width)
        if self.follow:
            self._scroll_to_row(max(0, height - window))
            self.refresh()
        else:
            if added:
                self.new_lines += added
                self.post_message(self.FollowChanged(False, self.new_lines))
            self._restore_top()
            # Paused on a full window: lines arriving below it change nothing on screen (the
            # scrollbar is updated on its own). Skipping the repaint keeps frames cheap, so a
            # keypress is not queued behind a full panel render 10-20 times a second.
            if columns_changed or before is None or before != self._visible_key(window):
                self.refresh()
        return added

    def _visible_key(self, window: int) -> tuple[int, int | None, int | None] | None:
        """What the paused panel shows (top row, its event, the cursor's); None if the window is not full."""
        top = int(self.scroll_offset.y)
        n = len(self.view)
        if n - top < window or not 0 <= top < n:
            return None
        cursor = self.cursor_seq
        if cursor is not None and cursor not in self.store:
            return None
        return top, self.view.seq_at(top), cursor

    def reset_view(self) -> None:
        """The view's query changed: re-read it, keep the cursor's event in view when it still matches."""
        self._cache.clear()
        self.new_lines = 0
        height = len(self.view)
        self._set_virtual_height(height, self.scrollable_content_region.width)
        if self.follow or self.cursor_seq is None:
            self.follow = True
            self._scroll_to_row(max(0, height - self.scrollable_content_region.height))
        else:
            # Paused: select the old line if it still matches, else the nearest line of the new view
            # (nothing when the view is empty), so Enter and trace act on a row that is shown.
            row = self._row_near(self.cursor_seq)
            self.cursor_seq = self.view.seq_at(row) if height else None
            self._scroll_to_row(max(0, row - self.scrollable_content_region.height // 2))
            self.post_message(self.FollowChanged(False, self.new_lines))
        self.refresh()

    def _set_virtual_height(self, height: int, width: int) -> None:
        size = Size(max(1, width), height)
        old = self.virtual_size
        if old == size:
            return
        if old.width != size.width or not self.is_mounted:
            self.virtual_size = size  # a real layout change
            return
        # Only the row count changed. Assigning the reactive would re-layout the whole screen
        # 10-20 times a second; the scrollbar gutter is always reserved (scrollbar-gutter: stable),
        # so no widget moves: update the value and the scrollbar only.
        self.set_reactive(LogPanel.virtual_size, size)
        thumb = self._thumb_key(size.height)
        if thumb != self._thumb_drawn:
            # Only when the scrollbar would look different (1/8 of a cell): rendering it costs
            # as much as the rows, and a paused panel's row count grows on every sync.
            self._thumb_drawn = thumb
            self._scroll_update(size)
        else:
            self.scroll_y = self.validate_scroll_y(self.scroll_y)

    def _thumb_key(self, rows: int) -> tuple[bool, int, int, int]:
        """The scrollbar thumb's geometry in eighths of a cell (what its glyphs can show)."""
        track = self.scrollable_content_region.height
        if rows <= 0 or track <= 0:
            return self.follow, track, 0, 0
        eighths = track * 8
        return self.follow, track, eighths * track // rows, eighths * int(self.scroll_offset.y) // rows

    def _update_columns(self) -> bool:
        columns = Columns.for_names(self.store.hosts.names, self.store.components.names)
        if columns != self._columns:
            self._columns = columns
            self._cache.clear()
            return True
        return False

    def _row_near(self, seq: int) -> int:
        """The row of ``seq``, or of the first match after it (the last row if none; 0 if empty)."""
        row = self.view.nearest_row(seq)
        return 0 if row is None else row

    def _restore_top(self) -> None:
        # Eviction or a new filter shifts row numbers; the anchor is the event at the top.
        if self._top_seq is not None and len(self.view):
            self._scroll_to_row(self._row_near(self._top_seq))

    def _scroll_to_row(self, row: int) -> None:
        self._programmatic_scroll = True
        try:
            self.scroll_to(
                y=row, animate=False, immediate=True, force=True
            )  # overflow is hidden while following
        finally:
            self._programmatic_scroll = False
        self._remember_top()

    def _remember_top(self) -> None:
        row = int(self.scroll_offset.y)
        self._top_seq = self.view.seq_at(row) if 0 <= row < len(self.view) else None

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        """Scrolling away from the tail (wheel, scrollbar) pauses following."""
        super().watch_scroll_y(old_value, new_value)
        if self._programmatic_scroll:
            return
        self._remember_top()
        if self.follow and round(new_value) < self.max_scroll_y:
            self._pause()

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        """The wheel pauses following (the scrollbar is hidden, so the base class would not scroll)."""
        if self.follow:
            event.stop()
            self.cursor_seq = self.selected_seq
            self._pause()
            self._scroll_to_row(max(0, int(self.scroll_offset.y) - 3))

    def watch_follow(self, follow: bool) -> None:
        self.set_class(follow, "-following")
        if follow:
            self.new_lines = 0
            self.cursor_seq = None
        self.post_message(self.FollowChanged(follow, self.new_lines))

    def _pause(self) -> None:
        if self.follow:
            self.new_lines = 0
            self.follow = False

    # -- cursor and actions -----------------------------------------------------------

    def _cursor_row(self) -> int:
        seq = self.selected_seq
        return -1 if seq is None else self._row_near(seq)

    def _move_cursor(self, delta: int) -> None:
        n = len(self.view)
        if not n:
            return
        row = max(0, min(n - 1, self._cursor_row() + delta))
        if delta > 0 and row == n - 1 and self.cursor_seq is not None and self._cursor_row() == n - 1:
            self.action_follow()  # moving down past the newest line resumes the tail
            return
        was_following = self.follow
        old_row = self._cursor_row()
        if delta < 0:
            self._pause()
        self.cursor_seq = self.view.seq_at(row)
        height = self.scrollable_content_region.height
        top = int(self.scroll_offset.y)
        if row < top:
            self._scroll_to_row(row)
        elif row >= top + height:
            self._scroll_to_row(row - height + 1)
        if was_following == self.follow and int(self.scroll_offset.y) == top:
            # Only the highlight moved: repaint its old and new rows, not the whole panel.
            self.refresh_line(old_row)
            self.refresh_line(row)
        else:
            self.refresh()

    def action_cursor_up(self) -> None:
        """Select the previous line (pauses following)."""
        self._move_cursor(-1)

    def action_cursor_down(self) -> None:
        """Select the next line."""
        self._move_cursor(1)

    def action_page_up(self) -> None:
        """Move a page up (pauses following)."""
        self._move_cursor(-max(1, self.scrollable_content_region.height - 1))

    def action_page_down(self) -> None:
        """Move a page down."""
        self._move_cursor(max(1, self.scrollable_content_region.height - 1))

    def action_first(self) -> None:
        """Jump to the oldest retained line (pauses following)."""
        self._move_cursor(-len(self.view))

    def action_follow(self) -> None:
        """Resume following the newest lines."""
        self.cursor_seq = None
        if not self.follow:
            self.follow = True
        self._scroll_to_row(max(0, len(self.view) - self.scrollable_content_region.height))
        self.refresh()

    def action_toggle_follow(self) -> None:
        """Pause when following, follow when paused."""
        if self.follow:
            self.cursor_seq = self.selected_seq
            self._pause()
            self.refresh()
        else:
            self.action_follow()

    def action_scroll_message(self, cells: int) -> None:
        """Scroll the message column sideways (long lines are never cut for good: ``«``/``»`` mark more)."""
        offset = max(0, self.message_offset + int(cells))
        if offset != self.message_offset:
            self.message_offset = offset
            self.refresh()

    def action_open_detail(self) -> None:
        """Open the detail view of the selected line."""
        seq = self.selected_seq
        if seq is not None:
            self.post_message(self.DetailRequested(seq))

    def action_copy_line(self) -> None:
        """Copy the selected raw line to the clipboard."""
        seq = self.selected_seq
        if seq is None:
            self.notify("Nothing to copy", severity="warning", markup=False)
            return
        self.app.copy_to_clipboard(self.store.event(seq).raw)
        self.notify(f"Copied line {seq} to the clipboard", markup=False)

    # -- size --------------------------------------------------------------------------

    def on_resize(self) -> None:
        """Width changed: cached strips are the wrong width; keep following the tail."""
        self._cache.clear()
        if self.follow:
            self._set_virtual_height(len(self.view), self.scrollable_content_region.width)
            self._scroll_to_row(max(0, len(self.view) - self.scrollable_content_region.height))
