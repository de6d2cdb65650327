"""Server actions: suspend / unsuspend, Live / Development mode, send limit (facts §3.5-3.7).

All are plain column updates that Postal reads fresh for every message it processes; Postal's own form
save bumps ``updated_at``, so do these. Postal's ``Server#suspend`` also e-mails the organization's users:
direct SQL does not.
"""

# ruff: noqa: S608  # identifiers: {main}/{msg}/{ids} placeholders or validated names; values: params

from __future__ import annotations

from postaltop.core.actions.plan import NO_WEBHOOKS, ActionPlan, Check, PlanError, Snapshot, Sql
from postaltop.core.actions.refs import ServerRef

_TABLE = "{main}.`servers`"
MODES = ("Live", "Development")
MAX_REASON = 255


def _snapshot(server: ServerRef) -> Snapshot:
    return Snapshot("main.servers", _TABLE, "id = %s", (server.id,))


def _plan(
    server: ServerRef,
    action: str,
    sentence: str,
    where: str,
    where_params: tuple[object, ...],
    set_sql: str,
    set_params: tuple[object, ...],
    check: str,
    check_params: tuple[object, ...],
    destructive: bool = False,
    notes: tuple[str, ...] = (),
) -> ActionPlan:
    live = "deleted_at IS NULL AND id = %s"
    return ActionPlan(
        action=action,
        sentence=sentence,
        server_id=server.id,
        server_name=server.name,
        confirm_text=server.name,
        targets={"server_id": server.id, "server": server.name},
        selection=Sql(f"SELECT id FROM {_TABLE} WHERE {live} AND {where}", (server.id, *where_params)),
        selection_noun="server",
        statements=(
            Sql(
                f"UPDATE {_TABLE} SET {set_sql}, updated_at = UTC_TIMESTAMP(6) WHERE {live} AND {where}",
                (*set_params, server.id, *where_params),
                expect="selected",
            ),
        ),
        snapshots=(_snapshot(server),),
        checks=(
            Check(
                Sql(f"SELECT COUNT(*) FROM {_TABLE} WHERE id = %s AND {check}", (server.id, *check_params)),
                1,
                check,
            ),
        ),
        destructive=destructive,
        notes=(NO_WEBHOOKS, *notes),
    )


def suspend(server: ServerRef, reason: str) -> ActionPlan:
    """``suspended_at = now, suspension_reason``: every message of the server is Held when processed."""
    reason = " ".join(reason.split())
    if not reason:
        raise PlanError("a suspension needs a reason (shown to the server's users in Postal)")
    if len(reason) > MAX_REASON:
        raise PlanError(f"the reason is longer than {MAX_REASON} characters")
    return _plan(
        server,
        "server-suspend",
        f"Suspend {server.name} ({reason!r}): SMTP refuses its mail (535 Mail server has been suspended) and "
        "the worker holds every queued message of it, released ones included.",
        "suspended_at IS NULL",
        (),
        "suspended_at = UTC_TIMESTAMP(6), suspension_reason = %s",
        (reason,),
        "suspended_at IS NOT NULL AND suspension_reason <=> %s",
        (reason,),
        destructive=True,
        notes=("Postal would also e-mail the organization's users; this does not.",),
    )


def unsuspend(server: ServerRef) -> ActionPlan:
    """Clear ``suspended_at`` and ``suspension_reason``; messages held meanwhile stay Held."""
    return _plan(
        server,
        "server-unsuspend",
        f"Unsuspend {server.name}: new mail is accepted again; messages held while suspended stay Held "
        "until released or expired.",
        "suspended_at IS NOT NULL",
        (),
        "suspended_at = NULL, suspension_reason = NULL",
        (),
        "suspended_at IS NULL AND suspension_reason IS NULL",
        (),
        notes=("An organization-level suspension (organizations.suspended_at) is not changed.",),
    )


def set_mode(server: ServerRef, mode: str) -> ActionPlan:
    """``servers.mode``: Development holds every non-manual message when processed."""
    if mode not in MODES:
        raise PlanError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    effect = (
        "the worker holds every message that is not manually released ('Server is in development mode.')"
        if mode == "Development"
        else "messages are delivered again (messages already held stay Held)"
    )
    return _plan(
        server,
        "server-mode",
        f"Switch {server.name} to {mode} mode: {effect}.",
        "mode <> %s",
        (mode,),
        "mode = %s",
        (mode,),
        "mode = %s",
        (mode,),
    )


def set_send_limit(server: ServerRef, limit: int | None) -> ActionPlan:
    """``servers.send_limit`` (outgoing messages per rolling 60 minutes; ``None`` clears it)."""
    if limit is not None and not 0 <= limit <= 2_147_483_647:
        raise PlanError("the send limit must be a whole number from 0 up")
    if limit is None:
        sentence = f"Clear the send limit of {server.name}: no hourly limit."
    else:
        sentence = (
            f"Set the send limit of {server.name} to {limit} outgoing messages per rolling 60 minutes; "
            "over it the worker holds outgoing messages (manual releases included)."
        )
        if limit == 0:
            sentence += " 0 holds every further outgoing message: an emergency brake."
    return _plan(
        server,
        "server-send-limit",
        sentence,
        "NOT (send_limit <=> %s)",
        (limit,),
        "send_limit = %s",
        (limit,),
        "send_limit <=> %s",
        (limit,),
    )
