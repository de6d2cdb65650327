"""Guess an action's target (server, credential) from a Postal log line, to prefill the actions menu."""

from __future__ import annotations

import re
from dataclasses import dataclass

_GRANTED = re.compile(r"Granted for ([a-z0-9-]+/[a-z0-9-]+)")
_SENDING = re.compile(r"Sending message ([0-9]+)::[0-9]+")
_CRED = re.compile(r"credential ([0-9]+)\b")
_SERVER_TAG = re.compile(r"\bserver[=_ ]([a-z0-9-]+/[a-z0-9-]+)")


@dataclass(frozen=True, slots=True)
class ActionContext:
    """What the selected line tells about the target (empty strings when nothing)."""

    server: str = ""
    credential: str = ""
    suggested: str = ""
    """An action to preselect in the menu (from an alert's suggested action)."""


def context_from_text(text: str) -> ActionContext:
    """Server (``org/server`` or id) and credential id mentioned in ``text``, if any."""
    server = ""
    for pattern in (_GRANTED, _SERVER_TAG, _SENDING):
        match = pattern.search(text)
        if match:
            server = match.group(1)
            break
    cred = _CRED.search(text)
    return ActionContext(server, cred.group(1) if cred else "")


ALERT_ACTIONS = {
    "hold_credential": "credential-hold",
    "suspend_server": "server-suspend",
    "pause_sending": "hold-queued",
    "inspect_queue": "hold-queued",
    "raise_send_limit": "server-send-limit",
}
"""An alert's suggested ``action_id`` -> the incident action preselected by ``x``."""


def context_from_alert(kind: str, key: str, action_id: str) -> ActionContext:
    """The target of an alert's scope (``credential``: its id; ``server``: ``org/server``) and its action."""
    suggested = ALERT_ACTIONS.get(action_id, "")
    if kind == "credential":
        return ActionContext("", key, suggested)
    if kind == "server":
        return ActionContext(key, "", suggested)
    return ActionContext("", "", suggested)
