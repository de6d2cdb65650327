"""The servers table: one row per Postal mail server with the newest database (or simulated) figures.

It renders ``engine.latest_metrics`` (a :class:`~postaltop.core.dbmetrics.PollResult`) and nothing else.
``o`` cycles the sort column (shown with an arrow in the header), ``O`` reverses it, Enter posts
:class:`ServersTable.ServerSelected` (the main screen narrows the log panel with a filter).

Rates are over the poll's counting window. Bounce % = Bounced deliveries / Sent deliveries; spam % =
deliveries of spam-flagged messages / all outgoing deliveries (Sent + SoftFail + HardFail + Held).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from postaltop.core.dbmetrics import PollResult, ServerInfo, ServerSample, queue_latency_text
from postaltop.core.sanitize import display_text


class MetricsHolder(Protocol):
    """What the table reads from the engine."""

    @property
    def latest_metrics(self) -> PollResult | None:
        """The newest poll result."""


_PERMALINK = re.compile(r"^[a-z0-9-]+$")


@dataclass(frozen=True, slots=True)
class ServerRow:
    """The figures of one row, as numbers (for sorting and tests) — :func:`row_cells` formats them."""

    server_id: int
    name: str
    """``org/server``."""
    mode: str
    suspended: bool
    sent_per_min: float | None
    held: int | None
    queue_depth: int | None
    oldest_queued: float | None
    bounce_pct: float | None
    spam_pct: float | None
    send_limit_pct: float | None
    state: str
    """``ok``, ``stale 12s``, ``no message DB`` or an error."""


@dataclass(frozen=True, slots=True)
class Column:
    """A column: header label and the value it sorts by."""

    key: str
    label: str
    sort_value: Callable[[ServerRow], float | str]
    descending: bool = True
    """Natural sort direction (busiest first for figures, A→Z for names)."""


def _num(value: float | int | None) -> float:
    return -1.0 if value is None else float(value)


COLUMNS: tuple[Column, ...] = (
    Column("name", "Server", lambda r: r.name, descending=False),
    Column("mode", "Mode", lambda r: r.mode, descending=False),
    Column("suspended", "Susp", lambda r: float(r.suspended)),
    Column("sent", "Sent/min", lambda r: _num(r.sent_per_min)),
    Column("held", "Held", lambda r: _num(r.held)),
    Column("queue", "Queue", lambda r: _num(r.queue_depth)),
    Column("oldest", "Oldest", lambda r: _num(r.oldest_queued)),
    Column("bounce", "Bounce %", lambda r: _num(r.bounce_pct)),
    Column("spam", "Spam %", lambda r: _num(r.spam_pct)),
    Column("limit", "Limit %", lambda r: _num(r.send_limit_pct)),
    Column("state", "State", lambda r: r.state, descending=False),
)
COLUMN_KEYS = tuple(c.key for c in COLUMNS)


def pct(part: int, whole: int) -> float | None:
    """``part / whole * 100``; None when nothing happened (no denominator)."""
    return None if whole <= 0 else part * 100.0 / whole


def server_row(info: ServerInfo, sample: ServerSample | None) -> ServerRow:
    """The row of one server from its discovery info and its sample of the newest poll."""
    name = info.full_permalink
    if sample is None or (sample.stale and sample.stale_age is None and sample.window_seconds == 0):
        state = "no message DB" if not info.message_db_exists else (sample.error if sample else "no figures")
        return ServerRow(info.id, name, info.mode, info.suspended, None, None, None, None, None, None, None,
                         state or "no figures")  # fmt: skip
    counts = sample.counts
    deliveries = counts.sent + counts.soft_fail + counts.hard_fail + counts.held
    if not info.message_db_exists:
        state = "no message DB"
    elif sample.stale:
        state = f"stale {format_age(sample.stale_age)}" if sample.stale_age is not None else "stale"
    else:
        state = "ok"
    return ServerRow(
        server_id=info.id,
        name=name,
        mode=info.mode,
        suspended=info.suspended,
        sent_per_min=sample.sent_per_min,
        held=sample.held_total,
        queue_depth=sample.queue_depth,
        oldest_queued=sample.oldest_queued_age,
        bounce_pct=pct(counts.bounced, counts.sent),
        spam_pct=pct(counts.spam, deliveries),
        send_limit_pct=sample.send_limit_usage_pct,
        state=state,
    )


def server_rows(result: PollResult | None, sort_key: str = "name", reverse: bool = False) -> list[ServerRow]:
    """Every server's row of ``result``, sorted by the column ``sort_key`` (its natural direction)."""
    if result is None:
        return []
    rows = [server_row(info, result.sample(info.id)) for info in result.servers]
    column = next((c for c in COLUMNS if c.key == sort_key), COLUMNS[0])
    descending = column.descending != reverse
    rows.sort(key=lambda r: r.name)  # stable tie-break by name
    rows.sort(key=column.sort_value, reverse=descending)
    return rows


def format_age(seconds: float | None) -> str:
    """``42s``, ``3m05s``, ``2h04m``, ``-`` for none."""
    if seconds is None:
        return "-"
    total = int(seconds)
    if total < 60:
        return f"{total}s"
    if total < 3600:
        return f"{total // 60}m{total % 60:02d}s"
    return f"{total // 3600}h{total % 3600 // 60:02d}m"


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def row_cells(row: ServerRow) -> list[Text]:
    """The row's cells as plain :class:`Text` (names come from the database: never markup)."""
    cells = [
        display_text(row.name),
        display_text(row.mode),
        "yes" if row.suspended else "",
        _fmt(row.sent_per_min),
        "-" if row.held is None else f"{row.held:,}",
        "-" if row.queue_depth is None else f"{row.queue_depth:,}",
        format_age(row.oldest_queued),
        _fmt(row.bounce_pct),
        _fmt(row.spam_pct),
        _fmt(row.send_limit_pct),
        display_text(row.state),
    ]
    out = [Text(cell) for cell in cells]
    if row.suspended:
        out[2].stylize("bold")
    if row.state != "ok":
        out[-1].stylize("bold")
    return out


def narrowing_filter(info: ServerInfo) -> str:
    """A filter (existing query language) for the log lines that name one server.

    Postal's lines identify a server in three places (facts §4): the SMTP reply ``235 Granted for
    <org>/<server>``, the worker's ``Sending message <server_id>::<message_id>`` and the SMTP debug line
    ``Added bounce on server <id>``. Permalinks are ``[a-z0-9-]`` (validated again here), so they go into
    the regex as they are; ``.`` stands for the ``/`` that cannot appear inside ``/regex/``.
    """
    parts = [f"Sending message {info.id}::", f"bounce on server {info.id}( |$)"]
    if _PERMALINK.match(info.org_permalink) and _PERMALINK.match(info.permalink):
        parts.insert(0, f"Granted for {info.org_permalink}.{info.permalink}( |$)")
    return "/" + "|".join(parts) + "/"


class ServersTable(Vertical):
    """A caption line and the table; hidden until the main screen shows it (``-shown``)."""

    DEFAULT_CSS = """
    ServersTable {
        display: none;
        height: auto;
        max-height: 40%;
        border-top: solid $primary;
    }
    ServersTable.-shown {
        display: block;
    }
    ServersTable > #servers-caption {
        height: 1;
        color: $text-muted;
    }
    ServersTable > DataTable {
        height: auto;
        max-height: 16;
    }
    """

    BINDINGS = [
        Binding("o", "cycle_sort", "Sort", id="servers.sort"),
        Binding("O", "reverse_sort", "Reverse", show=False, id="servers.reverse"),
    ]

    class ServerSelected(Message):
        """Enter on a row: the user wants the log narrowed to this server."""

        def __init__(self, info: ServerInfo) -> None:
            super().__init__()
            self.info = info

    def __init__(
        self,
        engine: MetricsHolder | None = None,
        *,
        sort_key: str = "name",
        refresh_seconds: float = 0.5,
        widget_id: str | None = "servers-table",
    ) -> None:
        super().__init__(id=widget_id)
        self.engine = engine
        self.refresh_seconds = refresh_seconds
        self.latency_source: Callable[[], str | None] | None = None
        """Returns the queue-latency text (health metrics) for the caption; set by whoever reads them."""
        self.sort_key = sort_key
        self.reverse = False
        self.latency: str | None = None
        """Queue latency text from the health metrics, when known (shown in the caption)."""
        self._result: PollResult | None = None
        self._rows: list[ServerRow] = []
        self._drawn: tuple[object, ...] | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="servers-caption", markup=False)
        table: DataTable[Text] = DataTable(cursor_type="row", zebra_stripes=True)
        yield table

    @property
    def table(self) -> DataTable[Text]:
        """The data table."""
        return self.query_one(DataTable)

    @property
    def rows(self) -> list[ServerRow]:
        """The rows as drawn, in display order."""
        return list(self._rows)

    def on_mount(self) -> None:
        """Create the columns; follow the engine's newest poll result while shown."""
        self._draw_columns()
        if self.engine is not None:
            self.set_interval(self.refresh_seconds, self.refresh_from_engine)

    def toggle(self) -> bool:
        """Show the table (drawn now, and focused) or hide it; True when now shown."""
        if self.has_class("-shown"):
            self.remove_class("-shown")
            return False
        self.add_class("-shown")
        self.refresh_from_engine()
        self.table.focus()
        return True

    @property
    def focused_here(self) -> bool:
        """True when the table is shown and has the focus."""
        focused = self.app.focused
        return self.has_class("-shown") and focused is not None and self in focused.ancestors_with_self

    def refresh_from_engine(self) -> None:
        """Draw the engine's newest poll result (only while the table is shown)."""
        if self.engine is None or not self.has_class("-shown"):
            return
        latency = self.latency_source() if self.latency_source is not None else None
        self.show(self.engine.latest_metrics, latency)

    def _draw_columns(self) -> None:
        table = self.table
        table.clear(columns=True)
        for column in COLUMNS:
            label = column.label
            if column.key == self.sort_key:
                down = column.descending != self.reverse
                label = f"{label} {'▼' if down else '▲'}"
            table.add_column(label, key=column.key)

    def show(self, result: PollResult | None, latency: str | None = None) -> None:
        """Draw ``result`` (skipped when nothing changed since the last draw)."""
        if latency is not None:
            self.latency = latency
        key = (id(result), self.sort_key, self.reverse, self.latency)
        if key == self._drawn:
            return
        self._drawn = key
        self._result = result
        self._rows = server_rows(result, self.sort_key, self.reverse)
        table = self.table
        selected = self._selected_id()
        table.clear()
        for row in self._rows:
            table.add_row(*row_cells(row), key=str(row.server_id))
        if selected is not None:
            for index, row in enumerate(self._rows):
                if row.server_id == selected:
                    table.move_cursor(row=index, animate=False)
        self.query_one("#servers-caption", Static).update(self.caption(result))

    def caption(self, result: PollResult | None) -> Text:
        """``Servers · sorted by Sent/min ▼ · ok · queue latency 0.8 s`` (plain text)."""
        column = next(c for c in COLUMNS if c.key == self.sort_key)
        parts = [f"Servers · sort: {column.label} (o)"]
        if result is None:
            parts.append("no database figures yet")
        else:
            parts.append(display_text(result.status))
            window = next((s.window_seconds for s in result.samples if not s.stale), None)
            if window:
                parts.append(f"window {window:.0f}s")
        latency = self.latency
        if latency is None and result is not None:
            latency = queue_latency_text(result.health)
        if latency:
            parts.append(f"queue latency {display_text(latency)}")
        return Text(" · ".join(parts))

    def _selected_id(self) -> int | None:
        table = self.table
        if not self._rows or table.row_count == 0:
            return None
        index = min(max(table.cursor_row, 0), len(self._rows) - 1)
        return self._rows[index].server_id

    def selected_info(self) -> ServerInfo | None:
        """The server under the cursor."""
        server_id = self._selected_id()
        if server_id is None or self._result is None:
            return None
        return next((s for s in self._result.servers if s.id == server_id), None)

    def action_cycle_sort(self) -> None:
        """Sort by the next column."""
        index = COLUMN_KEYS.index(self.sort_key)
        self.sort_key = COLUMN_KEYS[(index + 1) % len(COLUMN_KEYS)]
        self.reverse = False
        self._redraw()

    def action_reverse_sort(self) -> None:
        """Reverse the sort direction."""
        self.reverse = not self.reverse
        self._redraw()

    def sort_by(self, key: str, *, reverse: bool = False) -> None:
        """Sort by the column ``key`` (one of :data:`COLUMN_KEYS`)."""
        if key not in COLUMN_KEYS:
            raise ValueError(f"unknown column {key!r}")
        self.sort_key, self.reverse = key, reverse
        self._redraw()

    def _redraw(self) -> None:
        self._draw_columns()
        self._drawn = None
        self.show(self._result)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a row."""
        event.stop()
        info = self.selected_info()
        if info is not None:
            self.post_message(self.ServerSelected(info))


def servers_in(result: PollResult | None) -> Sequence[ServerInfo]:
    """The servers of a poll result (empty when there is none)."""
    return () if result is None else result.servers
