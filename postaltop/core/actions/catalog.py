"""The action catalogue: names, what each needs, and the actions only Postal can do faithfully (refused).

Shared by the CLI (``postaltop act NAME ...``), the UI's actions menu and the demo, so every entry point
plans the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from postaltop.core.actions import credentials, mail, servers, suppressions
from postaltop.core.actions.plan import ActionPlan, PlanError, RefusedAction
from postaltop.core.actions.refs import CredentialRef, ServerRef


@dataclass(frozen=True, slots=True)
class ActionArgs:
    """Everything an action may take, resolved (ids known) except free values."""

    server: ServerRef
    credential: CredentialRef | None = None
    reason: str | None = None
    mode: str | None = None
    limit: int | None = None
    addresses: list[str] = field(default_factory=list)
    domain: str | None = None
    filter: mail.MailFilter = field(default_factory=mail.MailFilter)
    ip_pools: bool = False


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """One catalogue entry."""

    name: str
    title: str
    needs: tuple[str, ...]
    """``credential``, ``reason``, ``mode``, ``limit``, ``recipients`` (addresses or domain)."""
    build: Callable[[ActionArgs], ActionPlan]


def _cred(args: ActionArgs) -> CredentialRef:
    if args.credential is None:
        raise PlanError("this action needs a credential (--credential ID or name)")
    return args.credential


def _suppress_add(a: ActionArgs) -> ActionPlan:
    return suppressions.add(
        a.server, addresses=a.addresses, domain=a.domain, reason=a.reason or suppressions.DEFAULT_REASON
    )


def _need_mode(a: ActionArgs) -> str:
    if a.mode is None:
        raise PlanError("give the mode: Live or Development")
    return a.mode


ACTIONS: dict[str, ActionSpec] = {
    spec.name: spec
    for spec in (
        ActionSpec(
            "credential-hold",
            "Hold a credential's mail",
            ("credential",),
            lambda a: credentials.hold(_cred(a)),
        ),
        ActionSpec(
            "credential-release",
            "Release a credential's hold",
            ("credential",),
            lambda a: credentials.release_hold(_cred(a)),
        ),
        ActionSpec(
            "credential-revoke",
            "Revoke (delete) a credential",
            ("credential",),
            lambda a: credentials.revoke(_cred(a)),
        ),
        ActionSpec(
            "server-suspend",
            "Suspend the server",
            ("reason",),
            lambda a: servers.suspend(a.server, a.reason or ""),
        ),
        ActionSpec("server-unsuspend", "Unsuspend the server", (), lambda a: servers.unsuspend(a.server)),
        ActionSpec(
            "server-mode",
            "Switch Live / Development",
            ("mode",),
            lambda a: servers.set_mode(a.server, _need_mode(a)),
        ),
        ActionSpec(
            "server-send-limit",
            "Set or clear the send limit",
            ("limit",),
            lambda a: servers.set_send_limit(a.server, a.limit),
        ),
        ActionSpec(
            "hold-queued",
            "Hold queued mail (not locked)",
            ("filter",),
            lambda a: mail.hold_queued(a.server, a.filter),
        ),
        ActionSpec(
            "release-held",
            "Release held mail (requeue)",
            ("filter",),
            lambda a: mail.release_held(a.server, a.filter, ip_pools=a.ip_pools),
        ),
        ActionSpec(
            "cancel-hold",
            "Cancel holds (never sent)",
            ("filter",),
            lambda a: mail.cancel_hold(a.server, a.filter),
        ),
        ActionSpec("suppress-add", "Add to the suppression list", ("recipients",), _suppress_add),
        ActionSpec(
            "suppress-remove",
            "Remove from the suppression list",
            ("recipients",),
            lambda a: suppressions.remove(a.server, addresses=a.addresses, domain=a.domain),
        ),
    )
}
"""Every action, by name."""

REFUSED: dict[str, tuple[str, str]] = {
    "remove-from-queue": (
        "Deleting a queue row alone leaves the message Pending forever (Postal's 'Remove from queue' does "
        "exactly that); use hold-queued, which records a Held delivery, or Postal itself.",
        "postal console  # then: QueuedMessage.find(ID).destroy (or use hold-queued)",
    ),
    "delete-server": (
        "Deleting a server drops its message database and is done by Postal's deletion task.",
        "Postal web UI: Settings > Delete server (or `postal console`: Server.find(ID).soft_destroy)",
    ),
    "resend-webhooks": (
        "Webhook payloads are Ruby-serialised by Postal; a third-party tool must not forge them.",
        "postal console  # WebhookRequest.trigger(...) from Postal's own code",
    ),
    "retry-message": (
        "Retrying one message by hand is best done where Postal records who did it.",
        "Postal web UI: the message > Retry "
        "(or `postal console`: message.add_to_message_queue(manual: true))",
    ),
}
"""Actions asked for that only Postal can do faithfully: name -> (why, what to run instead)."""


def build(name: str, args: ActionArgs) -> ActionPlan:
    """Plan action ``name``.

    Raises:
        RefusedAction: for an action only Postal can do faithfully.
        PlanError: unknown action or missing/invalid arguments.
    """
    if name in REFUSED:
        why, command = REFUSED[name]
        raise RefusedAction(why, command)
    spec = ACTIONS.get(name)
    if spec is None:
        raise PlanError(f"unknown action {name!r}; actions: {', '.join(ACTIONS)}")
    return spec.build(args)
