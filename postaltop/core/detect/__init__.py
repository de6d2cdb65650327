"""Detectors: small pure classes that turn per-minute figures or log facts into :class:`Finding` objects.

Each module holds one detector: :mod:`.static` (fixed thresholds), :mod:`.zscore` (robust z-score of an
EWMA against the hour-of-week baseline), :mod:`.ramp` (CUSUM for slow ramps), :mod:`.burst` (SMTP AUTH
failures per IP / user per minute), :mod:`.ratio` (bounce and spam rates with minimum volumes),
:mod:`.novelty` (many new recipient domains) and :mod:`.queue` (queue growth). They keep only small
per-scope state, take the time as an argument and never raise on odd input (NaN, gaps, counters going
backwards are skipped).
"""

from __future__ import annotations

import math

from postaltop.core.alerts import Scope, SuggestedAction

ACTIONS: dict[str, SuggestedAction] = {
    "credential": SuggestedAction(
        "hold the credential's messages (x → hold credential)", "x", "hold_credential"
    ),
    "server": SuggestedAction(
        "look at the server; suspend it if abused (x → suspend server)", "x", "suspend_server"
    ),
    "ip": SuggestedAction(
        "block the address at the firewall; check the credential it tried", "x", "block_ip"
    ),
    "domain": SuggestedAction("check the list being mailed; pause the campaign (x)", "x", "pause_sending"),
    "queue": SuggestedAction("check workers and remote MX deferrals (x → actions)", "x", "inspect_queue"),
    "global": SuggestedAction("find the scope responsible in the servers table (s)", "s", ""),
}
"""Suggested action per scope kind (the actions menu ``x`` offers the matching incident action)."""


def action_for(scope: Scope) -> SuggestedAction:
    """The suggested action for an alert about ``scope``."""
    return ACTIONS.get(scope.kind.value, ACTIONS["global"])


def finite(value: float) -> bool:
    """True for a usable number (not NaN/inf)."""
    return math.isfinite(value)


def fmt_rate(value: float) -> str:
    """``412/min`` or ``0.4/min``."""
    return f"{value:.0f}/min" if abs(value) >= 10 else f"{value:.1f}/min"
