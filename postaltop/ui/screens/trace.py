"""The message trace screen: every retained line about one message, and its database rows.

Opened with ``T`` on the selected event of the main screen (or Enter / ``T`` in the detail screen).
The log part comes from :func:`postaltop.core.trace.trace`; when a database source is configured,
the app's ``message_lookup`` (a coroutine function ``ref -> LookupResult``) adds the message row and
its deliveries, loaded in a worker so the screen opens at once. All text is untrusted and shown
through ``display_text`` in Text objects.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from postaltop.core.logstore import LogStore
from postaltop.core.sanitize import display_text
from postaltop.core.trace import TraceResult, trace
from postaltop.ui.services import app_services

Lookup = Callable[[str], Awaitable[Any]]
"""``ref -> LookupResult`` (postaltop.sources.message_lookup)."""


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    millis = round(ts * 1000)
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(millis // 1000)) + f".{millis % 1000:03d}"


def lines_table(result: TraceResult) -> Table:
    """The trace's log lines: time, host, component, line (Text cells, never markup)."""
    table = Table(box=None, padding=(0, 1), show_header=True, header_style="bold", show_edge=False)
    table.add_column("time (UTC)", no_wrap=True)
    table.add_column("host", no_wrap=True)
    table.add_column("component", no_wrap=True)
    table.add_column("line", overflow="fold")
    for event in result.events:
        table.add_row(
            Text(_when(event.ts)),
            Text(display_text(event.host)),
            Text(display_text(event.component)),
            Text(display_text(event.text)),
        )
    return table


def db_renderable(found: Any) -> Text | Table:
    """The message row(s) and deliveries of a lookup result, or its note."""
    records = getattr(found, "records", [])
    if not records:
        return Text(display_text(getattr(found, "note", "") or "not found in the database"))
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for record in records:
        msg = record.message
        table.add_row(Text("message"), Text(display_text(record.ref)))
        for key in ("token", "scope", "status", "mail_from", "rcpt_to", "subject", "message_id"):
            table.add_row(
                Text(key), Text(display_text(str(msg.get(key) if msg.get(key) is not None else "-")))
            )
        table.add_row(Text("timestamp"), Text(_when(msg.get("timestamp"))))
        table.add_row(Text("held / bounce"), Text(f"{bool(msg.get('held'))} / {bool(msg.get('bounce'))}"))
        for d in record.deliveries:
            detail = " ".join(str(d.get(k) or "") for k in ("details", "output")).strip()
            text = (
                f"{_when(d.get('timestamp'))}  {d.get('status')}  log_id={d.get('log_id') or '-'}  {detail}"
            )
            table.add_row(Text(f"delivery #{d.get('id')}"), Text(display_text(text)))
        if not record.deliveries:
            table.add_row(Text("deliveries"), Text("none"))
    return table


class TraceScreen(Screen[None]):
    """One message's path."""

    BINDINGS = [Binding("escape,q", "close", "Back", id="trace.close")]

    DEFAULT_CSS = """
    TraceScreen { background: $background; }
    TraceScreen VerticalScroll { padding: 1 2; }
    TraceScreen .section { color: $primary; text-style: bold; margin-top: 1; }
    TraceScreen #trace-lines, TraceScreen #trace-db { width: 100%; }
    """

    def __init__(self, store: LogStore, ref: str, lookup: Lookup | None = None) -> None:
        super().__init__()
        self.ref = ref
        self.result = trace(store, ref)
        self.lookup = lookup
        self.db_result: Any = None

    def compose(self) -> ComposeResult:
        result = self.result
        hosts = ", ".join(display_text(h) for h in result.hosts) or "none"
        with VerticalScroll():
            yield Static(Text(f"Message trace: {display_text(self.ref)}", style="bold"), classes="section")
            summary = f"ids: {', '.join(display_text(r) for r in result.refs)}  ·  hosts: {hosts}"
            yield Static(Text(summary), id="trace-summary")
            yield Static(Text("Database"), classes="section")
            yield Static(
                Text("loading…" if self.lookup else "no database source is configured"), id="trace-db"
            )
            more = " (first lines only)" if result.truncated else ""
            yield Static(Text(f"Log lines ({len(result.events)}){more}"), classes="section")
            yield Static(
                lines_table(result) if result.events else Text("no retained line mentions it"),
                id="trace-lines",
            )
        yield Footer()

    def on_mount(self) -> None:
        """Start the database lookup."""
        if self.lookup is not None:
            self.run_worker(self._load(), group="trace-db", exclusive=True)

    async def _load(self) -> None:
        assert self.lookup is not None
        target = self.query_one("#trace-db", Static)
        # the most specific id found in the logs (server::message) resolves best in the database
        ref = next((r for r in self.result.refs if "::" in r), self.ref)
        try:
            self.db_result = await self.lookup(ref)
        except Exception as exc:  # the database being down must not break the screen
            target.update(Text(f"database lookup failed: {display_text(str(exc))[:300]}"))
            return
        target.update(db_renderable(self.db_result))

    def action_close(self) -> None:
        """Back."""
        self.dismiss()


def open_trace(app: Any, store: LogStore, text: str) -> bool:
    """Push the trace of the message a log line (``text``) is about; tell the user when it names none.

    Returns:
        True when a trace screen was opened.
    """
    from postaltop.core.trace import message_refs

    refs = message_refs(text)
    if not refs:
        app.notify(
            "This line carries no message id (server::message, queued_message, log_id, trace_id)",
            markup=False,
            severity="warning",
        )
        return False
    services = app_services(app)
    app.push_screen(TraceScreen(store, refs[0], services.message_lookup if services is not None else None))
    return True
