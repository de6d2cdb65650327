"""The log panel's rows: each visible line drawn from plain text into a cached ``Strip`` (never markup)."""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.segment import Segment
from rich.style import Style
from textual.cache import LRUCache
from textual.scroll_view import ScrollView
from textual.strip import Strip

from postaltop.core.events import Level
from postaltop.core.logstore import LogStore
from postaltop.core.view import FilteredView
from postaltop.ui.widgets.log_row import LEVEL_WIDTH, TIME_WIDTH, Columns, fit_cells, message_of, row_cells

CACHED_STRIPS = 512
"""Rendered rows kept for reuse (a few screens). Every cached strip is about a dozen long-lived
objects that each full garbage collection walks, so the cache is kept small."""


LEVEL_CLASS = {
    Level.UNKNOWN: "log-panel--unknown",
    Level.DEBUG: "log-panel--debug",
    Level.INFO: "log-panel--info",
    Level.WARN: "log-panel--warn",
    Level.ERROR: "log-panel--error",
    Level.FATAL: "log-panel--fatal",
}


OUT_OF_ORDER_S = 1.0
"""A row this many seconds older than the row above it arrived out of order (after later lines)."""


LATE_MARK = "↑"
"""Shown after the time of an out-of-order row: it belongs further up."""


def scrolled(message: str, offset: int, room: int, *, cut: bool = False) -> str:
    """The part of ``message`` shown from character ``offset`` in ``room`` cells.

    ``«`` replaces the first character when text is hidden on the left, ``»`` the last one when more
    follows on the right (so a cut is always visible). ``cut``: the message was already shortened
    before it got here (more follows even if it fits).
    """
    shown = message[offset:]
    if offset and shown:
        shown = "«" + shown[1:]
    if room > 1 and (len(shown) > room or (cut and shown)):
        shown = shown[: room - 1] + "»"
    return shown


class LogPanelRows(ScrollView):
    """Draws the rows of :class:`~postaltop.ui.widgets.log_panel.LogPanel` (which sets the state below)."""

    store: LogStore
    view: FilteredView
    cursor_seq: int | None
    placeholder: str
    theme_key: str
    render_count: int
    last_render_at: float
    rendered_cursor_seq: int | None
    message_offset: int
    marker: Callable[[int], str | None] | None
    _columns: Columns
    _cache: LRUCache[tuple[int, int, str, Columns, bool, int], Strip]
    _styles: dict[str, Style]
    _frame_base: Style
    _frame_width: int
    _frame_selected: int | None

    @property
    def selected_seq(self) -> int | None:
        """The event under the cursor (the newest one while following); always a row of the view."""
        cursor = self.cursor_seq
        if cursor is not None and cursor in self.store and self.view.row_of(cursor) is not None:
            return cursor
        n = len(self.view)
        return self.view.seq_at(n - 1) if n else None

    def notify_style_update(self) -> None:
        """Theme or CSS changed: drop styles and cached strips."""
        super().notify_style_update()
        self._styles.clear()
        self._cache.clear()

    def cursor_style(self) -> Style:
        """The cursor row's background, blended as the CSS says (partial styles drop the alpha)."""
        style = self._styles.get("cursor")
        if style is None:
            bgcolor = self.get_component_rich_style("log-panel--cursor").bgcolor
            style = self._styles["cursor"] = Style(bgcolor=bgcolor)
        return style

    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            style = self._styles[name] = self.get_component_rich_style(name, partial=True)
        return style

    def render_lines(self, crop):  # type: ignore[no-untyped-def]
        """Render the visible rows; per-frame values are computed once here, not per row."""
        self.render_count += 1
        self.last_render_at = time.perf_counter()
        self._frame_base = self.rich_style
        self._frame_width = self.scrollable_content_region.width
        self._frame_selected = self.selected_seq if (self.cursor_seq is not None or self.has_focus) else None
        self.rendered_cursor_seq = self._frame_selected
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        """Build (or fetch from cache) the strip of screen row ``y``."""
        width = self._frame_width
        base = self._frame_base
        row = int(self.scroll_offset.y) + y
        n = len(self.view)
        if n == 0:
            if y == 0:
                text = (" " + self.placeholder)[:width]
                placeholder = Segment(text, base + self._style("log-panel--placeholder"))
                return Strip([placeholder]).extend_cell_length(width, base)
            return Strip.blank(width, base)
        if row >= n:
            return Strip.blank(width, base)
        seq = self.view.seq_at(row)
        late = row > 0 and self._arrived_late(seq, self.view.seq_at(row - 1))
        key = (seq, width, self.theme_key, self._columns, late, self.message_offset)
        strip = self._cache.get(key)
        if strip is None:
            strip = self._build_strip(seq, width, base, late)
            self._cache[key] = strip
        if seq == self._frame_selected:
            # post_style: the cursor's background must win over each cell's own (base) background.
            cursor = self.cursor_style()
            strip = Strip(Segment.apply_style(iter(strip), post_style=cursor), strip.cell_length)
        mark = self.marker(seq) if self.marker is not None else None
        if mark is not None:
            strip = Strip.join([Strip([Segment("▌", base + Style.parse(mark))], 1), strip.crop(1, width)])
        return strip

    def _arrived_late(self, seq: int, above: int) -> bool:
        """True when line ``seq`` is at least a second older than the row above it (out of order)."""
        if seq not in self.store or above not in self.store:
            return False
        block, i = self.store.locate(seq)
        above_block, j = self.store.locate(above)
        return above_block.ts[j] - block.ts[i] >= OUT_OF_ORDER_S

    def _build_strip(self, seq: int, width: int, base: Style, late: bool = False) -> Strip:
        if seq not in self.store:
            return Strip.blank(width, base)
        event = self.store.event(seq)
        columns = self._columns
        fixed = TIME_WIDTH + columns.host + columns.component + LEVEL_WIDTH + 4
        room = max(0, width - fixed)
        offset = self.message_offset
        # Colour codes removed by the sanitiser make the shown text shorter than the raw: read a margin more.
        budget = offset + room + 64
        time_s, host, comp, level, message = row_cells(event, columns, budget=budget)
        message = scrolled(message, offset, room, cut=len(message_of(event)) > budget)
        sep = Segment(" ", base)
        segments = [
            Segment(time_s, base + self._style("log-panel--time")),
            Segment(LATE_MARK, base + self._style("log-panel--late")) if late else sep,
            Segment(host, base + self._style("log-panel--host")),
            sep,
            Segment(comp, base + self._style("log-panel--component")),
            sep,
            Segment(level, base + self._style(LEVEL_CLASS.get(event.level, "log-panel--unknown"))),
            sep,
            Segment(fit_cells(message, room), base),
        ]
        if fixed > width:
            return Strip(segments).crop_extend(0, width, base)
        return Strip(segments, width)
