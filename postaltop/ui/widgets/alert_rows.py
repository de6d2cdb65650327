"""One alert as a row of the alert list: severity, short scope, what, age, count and state, as plain text."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text

from postaltop.core.alerts import Alert, AlertState, Scope, ScopeKind, Severity
from postaltop.core.sanitize import display_text

if TYPE_CHECKING:
    from postaltop.monitoring import Monitor


def fmt_age(seconds: float) -> str:
    """``42s``, ``7m``, ``3h``, ``2d``."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h"
    return f"{s // 86400}d"


SCOPE_SHORT = {
    ScopeKind.CREDENTIAL: "cred",
    ScopeKind.SERVER: "srv",
    ScopeKind.IP: "ip",
    ScopeKind.HOST: "host",
    ScopeKind.DOMAIN: "dom",
    ScopeKind.GLOBAL: "all",
}
"""Scope kinds as the list's narrow scope column shows them."""


PERCENT_METRICS = ("bounce_rate", "spam_rate")


LIMIT_KINDS = ("auth_burst", "static", "novelty", "queue_growth", "ratio:bounce", "ratio:spam", "source_down")
"""Alert kinds whose "expected" is a fixed limit (drawn as a line), not a baseline."""


def cut_middle(text: str, width: int) -> str:
    """``acme/transactional-eu-west`` -> ``acme/tra…eu-west`` (both ends carry meaning in scope names)."""
    if len(text) <= width:
        return text
    if width <= 1:
        return text[:width]
    head = (width - 1) // 2
    return text[:head] + "…" + text[len(text) - (width - 1 - head) :]


def short_scope(scope: Scope, width: int) -> str:
    """``cred main smtp``, ``srv acme/transactional``, ``ip 192.0.2.221``, cut in the middle to ``width``.

    A credential labelled ``name on org/server`` drops its server first when it does not fit.
    """
    if scope.kind is ScopeKind.GLOBAL:
        return "all servers"[:width]
    name = display_text(scope.label or scope.key)
    prefix = SCOPE_SHORT.get(scope.kind, scope.kind.value)
    if scope.kind is ScopeKind.CREDENTIAL and len(prefix) + 1 + len(name) > width and " on " in name:
        name = name.rsplit(" on ", 1)[0]  # ``main smtp on acme/transactional``: the name says more
    return cut_middle(f"{prefix} {name}", width)


def fmt_value(metric: str, value: float | None) -> str:
    """A metric value as the list and the detail show it (``412/min``, ``9%``, ``1,204``)."""
    if value is None or value != value:
        return "-"
    if metric in PERCENT_METRICS:
        return f"{value:.0%}"
    if metric in ("queue_depth", "new_domains", "source_up"):
        return f"{value:,.0f}"
    return f"{value:,.0f}/min" if abs(value) >= 10 else f"{value:,.1f}/min"


def short_what(alert: Alert) -> str:
    """What is wrong, in a few words (the full sentence is in the detail)."""
    kind, metric = alert.kind, alert.metric
    observed, expected = alert.observed, alert.expected
    if kind == "source_down":
        head, _, _ = alert.why.partition(";")
        return head.split(" down: ", 1)[-1] if " down: " in head else head
    if kind == "auth_burst":
        return f"{observed:,.0f} AUTH failures"
    if kind == "novelty":
        return f"{observed:,.0f} new domains"
    if metric == "queue_depth":
        return f"queue {observed:,.0f}" + ("" if expected is None else f" (limit {expected:,.0f})")
    if metric in PERCENT_METRICS:
        limit = "" if expected is None else f" > {expected:.0%}"
        return f"{metric.split('_')[0]} {observed:.0%}{limit}"
    if expected is not None:
        unit = "/min" if metric not in ("queue_depth", "new_domains", "source_up") else ""
        ramp = "ramp: " if kind == "ramp" else ""
        return f"{ramp}{metric} {observed:,.0f} vs {expected:,.0f}{unit}"
    return display_text(alert.why)


def state_label(alert: Alert, now: float) -> tuple[str, str]:
    """The state column: ``acked``, ``silenced 42m``, ``held`` (source down), ``resolved``; and its style."""
    if alert.state is AlertState.RESOLVED:
        return "resolved", "dim"
    if alert.silence is not None:
        left = fmt_age(alert.silence.until - now)
        return ("ack+sil" if alert.ack is not None else "sil " + left), "magenta"
    if alert.ack is not None:
        return "acked", "green"
    if alert.inhibited:
        return "held", "dim"
    return "open", "bold"


STATE_WIDTH = 8


AGE_WIDTH = 3


COUNT_WIDTH = 4


def scope_width(width: int) -> int:
    """Columns of the scope in a list ``width`` columns wide."""
    return max(14, min(28, width // 4))


def alert_line(alert: Alert, now: float, selected: bool = False, width: int = 100) -> Text:
    """One alert as a row: severity, scope, what, age, count, state (``width``: the list's columns)."""
    if alert.state is AlertState.RESOLVED:
        badge, style = " OK ", "dim"
    elif alert.severity is Severity.CRITICAL:
        badge, style = "CRIT", "bold white on red"
    else:
        badge, style = "WARN", "bold black on yellow"
    scope_w = scope_width(width)
    fixed = 2 + 4 + 1 + scope_w + 1 + 1 + AGE_WIDTH + 1 + COUNT_WIDTH + 1 + STATE_WIDTH
    what_w = max(8, width - fixed)
    dim = alert.state is AlertState.RESOLVED or alert.silenced
    line = Text(style="dim" if dim else "")
    line.append("▶ " if selected else "  ", style="bold")
    line.append(badge, style=style)
    line.append(" ")
    line.append(short_scope(alert.scope, scope_w).ljust(scope_w), style="bold")
    line.append(" ")
    what = short_what(alert)
    line.append((what if len(what) <= what_w else what[: what_w - 1] + "…").ljust(what_w))
    since = alert.fired_at or alert.first_seen
    line.append(" " + fmt_age(now - since).rjust(AGE_WIDTH), style="dim")
    count = f"x{alert.count}" if alert.count < 1000 else f"x{min(alert.count // 1000, 9)}k+"
    line.append(" " + count.rjust(COUNT_WIDTH), style="dim")
    label, label_style = state_label(alert, now)
    line.append(" " + label[:STATE_WIDTH].ljust(STATE_WIDTH), style=label_style)
    return line


def header_line(width: int) -> Text:
    """The column titles."""
    scope_w = scope_width(width)
    fixed = 2 + 4 + 1 + scope_w + 1 + 1 + AGE_WIDTH + 1 + COUNT_WIDTH + 1 + STATE_WIDTH
    what_w = max(8, width - fixed)
    return Text(
        "  SEV  "
        + "SCOPE".ljust(scope_w)
        + " "
        + "WHAT".ljust(what_w)
        + " "
        + "AGE".rjust(AGE_WIDTH)
        + " "
        + "COUNT".rjust(COUNT_WIDTH)
        + " "
        + "STATE",
        style="dim bold",
    )


def empty_text(monitor: Monitor | None) -> Text:
    """What an empty list says: never "all normal" while a source is down or baselines are learning."""
    text = Text()
    down = dict(monitor.down_sources) if monitor is not None else {}
    if down:
        shown = ", ".join(
            f"{display_text(name)} ({display_text(why)})" for name, why in list(down.items())[:4]
        )
        more = f" and {len(down) - 4} more" if len(down) > 4 else ""
        text.append("No alerts yet, but ", style="bold")
        text.append(
            f"{len(down)} source{'s' if len(down) != 1 else ''} down: {shown}{more}", style="bold red"
        )
        text.append(". Their alerts are held until they are back.", style="dim")
        return text
    text.append("No alerts. ", style="dim")
    learning = monitor is None or not monitor.bootstrapped
    text.append("Baselines learning." if learning else "Everything within its normal band.", style="dim")
    return text
