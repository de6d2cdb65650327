"""``postaltop act ACTION [SERVER [CREDENTIAL]] [options]`` (alias ``action``) and ``postaltop undo ID``.

Prints the plan (sentence, SQL with parameters, affected count, rows, undo); ``--dry-run`` stops there and
changes nothing. Otherwise asks for confirmation (the target's name for destructive actions and protected
servers) unless ``--yes``, runs the plan in one transaction, verifies it and appends it to the audit trail.
Exit codes: 0 done (or dry run / nothing to do), 1 not done (aborted, denied, verify failed), 2 usage,
configuration, disabled or refused.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from typing import TYPE_CHECKING, Any

from postaltop.cli import Command, _err, _out, add_subcommand, load_from_args, register_command

if TYPE_CHECKING:
    from postaltop.config import ActionsConfig
    from postaltop.core.actions import ActionPlan
    from postaltop.sources.action_executor import DbActionExecutor, ExecResult

_DURATION = re.compile(r"^([0-9]+(?:\.[0-9]+)?)([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration(text: str) -> float:
    """``90s``, ``10m``, ``2h``, ``7d`` -> seconds."""
    match = _DURATION.match(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"expected a number with s/m/h/d, e.g. 30m, not {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def _limit(text: str) -> int | None:
    if text.lower() in ("none", "off", "clear"):
        return None
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number or 'none', not {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("the send limit cannot be negative")
    return value


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", action="store_true", help="print the plan and change nothing")
    parser.add_argument("--yes", action="store_true", help="run without asking (still audited)")
    parser.add_argument(
        "--allow-actions",
        action="store_true",
        help="allow writes for this run even if [actions] enabled is false",
    )


def _configure_act(parser: argparse.ArgumentParser) -> None:
    from postaltop.core.actions import ACTIONS, REFUSED

    names = [*ACTIONS, "undo", "list"]
    parser.add_argument(
        "action",
        metavar="ACTION",
        help=f"one of: {', '.join(names)} (refused, with what to run instead: {', '.join(REFUSED)})",
    )
    parser.add_argument(
        "targets",
        nargs="*",
        metavar="TARGET",
        help="SERVER (id or org/server), then CREDENTIAL; for undo: AUDIT_ID",
    )
    parser.add_argument("--server", help="server id or org/server permalink")
    parser.add_argument("--credential", help="credential id or name (never its key)")
    parser.add_argument("--reason", help="suspension reason / suppression reason")
    parser.add_argument("--mode", choices=("Live", "Development"), help="server mode")
    parser.add_argument(
        "--limit", type=_limit, default=argparse.SUPPRESS, help="send limit per 60 minutes, or 'none'"
    )
    parser.add_argument(
        "--recipient", action="append", default=[], metavar="ADDRESS", help="recipient address (repeat)"
    )
    parser.add_argument("--domain", help="recipient domain (suppression: every address of it)")
    parser.add_argument("--sender", help="bulk: envelope sender (mail_from)")
    parser.add_argument("--recipient-domain", help="bulk: recipient domain")
    parser.add_argument("--hold-reason", help="bulk: text in the latest delivery's details")
    parser.add_argument("--older-than", type=duration, help="bulk: messages older than (e.g. 30m)")
    parser.add_argument("--newer-than", type=duration, help="bulk: messages newer than (e.g. 2h)")
    parser.add_argument("--filter-credential", help="bulk: only messages of this credential (id or name)")
    _common(parser)
    parser.set_defaults(handler=_run_act)


def _configure_undo(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("audit_id", type=int, metavar="AUDIT_ID", help="the id listed by `postaltop audit`")
    _common(parser)
    parser.set_defaults(handler=_run_undo)


def _run_undo(args: argparse.Namespace) -> int:
    args.action, args.targets = "undo", [str(args.audit_id)]
    return _run_act(args)


def _run_act(args: argparse.Namespace) -> int:
    from postaltop.core.actions import ACTIONS, REFUSED

    if args.action == "list":
        for spec in ACTIONS.values():
            _out(f"{spec.name:20} {spec.title}")
        for name, (why, _cmd) in REFUSED.items():
            _out(f"{name:20} refused: {why}")
        return 0
    if args.action in REFUSED:
        why, command = REFUSED[args.action]
        _err(f"postaltop act: refused: {why}\nRun instead: {command}")
        return 2
    if args.action != "undo" and args.action not in ACTIONS:
        _err(f"postaltop act: error: unknown action {args.action!r}; `postaltop act list` shows them")
        return 2
    loaded = load_from_args(args)
    if loaded.settings.database is None:
        _err("postaltop act: error: no [database] section in the configuration: actions need the database")
        return 2
    return asyncio.run(_act(args, loaded.settings))


async def _act(args: argparse.Namespace, settings: Any) -> int:
    import pymysql

    from postaltop.core.actions import PlanError, RefusedAction
    from postaltop.core.actions.describe import needs_typed_confirmation, preview_lines
    from postaltop.runtime.actions import database_actions
    from postaltop.sources.action_executor import DbActionExecutor
    from postaltop.sources.ssh import SshError

    built = database_actions(settings, allow=getattr(args, "allow_actions", False))
    assert built is not None  # the caller checked that a [database] is configured
    executor, actions = built.executor, built.config
    assert isinstance(executor, DbActionExecutor)  # the database's, not the demo's
    try:
        plan = await _plan_from_args(args, executor, actions)
        if plan is None:
            return 2
        preview = await executor.preview(plan)
    except (pymysql.err.MySQLError, OSError, TimeoutError, SshError) as exc:
        server_label = args.server or (args.targets[0] if args.targets else "")
        refused = executor.refuse(args.action, server_label, exc)
        _err(f"postaltop act: [{refused.result}] {refused.message}")
        if refused.record.id is not None:
            _err(f"Audit #{refused.record.id}")
        return 1
    except RefusedAction as exc:
        _err(f"postaltop act: refused: {exc}")
        return 2
    except PlanError as exc:
        _err(f"postaltop act: {exc}")
        return 2
    for line in preview_lines(plan, preview):
        _out(line)
    _out("")
    if args.dry_run:
        _out("Dry run: nothing was changed.")
        return 0
    if not executor.enabled:
        from postaltop.sources.action_executor import ENABLE_HINT

        _err(ENABLE_HINT)
        return 2
    if plan.selection is not None and preview.count == 0:
        _out(f"Nothing to do: no {plan.selection_noun} match.")
        return 0
    if not args.yes and not _confirm(plan, needs_typed_confirmation(plan, actions.protected_servers)):
        _err("Cancelled: nothing was changed.")
        return 1
    result = await executor.execute(plan, preview)
    _report(result)
    return 0 if result.result in ("ok", "no-op") else 1


async def _plan_from_args(
    args: argparse.Namespace, executor: DbActionExecutor, actions: ActionsConfig
) -> ActionPlan | None:
    """The plan the arguments ask for (an undo, or an action on typed targets); None after a usage error."""
    from postaltop.core.actions import ActionArgs, MailFilter, build

    if args.action == "undo":
        if len(args.targets) != 1 or not args.targets[0].isdigit():
            _err("postaltop act undo: give one AUDIT_ID (see `postaltop audit`)")
            return None
        return executor.plan_undo(int(args.targets[0]))
    server_text = args.server or (args.targets[0] if args.targets else None)
    if not server_text:
        _err(
            "postaltop act: error: give the server (id or org/server), "
            "e.g. `postaltop act hold-queued acme/main`"
        )
        return None
    server = await executor.resolve_server(server_text)
    cred_text = args.credential or (args.targets[1] if len(args.targets) > 1 else None)
    credential = await executor.resolve_credential(server, cred_text) if cred_text else None
    filter_cred = credential.id if credential is not None else None
    if args.filter_credential:
        filter_cred = (await executor.resolve_credential(server, args.filter_credential)).id
    mail_filter = MailFilter(
        credential_id=filter_cred,
        sender=args.sender,
        recipient_domain=args.recipient_domain,
        hold_reason=args.hold_reason,
        older_than_s=args.older_than,
        newer_than_s=args.newer_than,
    )
    if args.action == "server-send-limit" and not hasattr(args, "limit"):
        _err("postaltop act server-send-limit: give --limit N (or --limit none to clear it)")
        return None
    return build(
        args.action,
        ActionArgs(
            server=server,
            credential=credential,
            reason=args.reason,
            mode=args.mode,
            limit=getattr(args, "limit", None),
            addresses=args.recipient,
            domain=args.domain,
            filter=mail_filter,
            ip_pools=actions.ip_pools,
        ),
    )


def _report(result: ExecResult) -> None:
    """An execution's result, its failed (or all, when few) checks and its audit id."""
    from postaltop.store.audit import UNDOABLE_RESULTS

    _out(f"[{result.result}] {result.message}")
    failed = [c for c in result.checks if not c.ok]
    if len(result.checks) > 5 and not failed:
        _out(f"  verify ok: all {len(result.checks)} checks")
    for check in failed if len(result.checks) > 5 else result.checks:
        _out(
            f"  verify {'ok  ' if check.ok else 'FAIL'} {check.what}: "
            f"expected {check.expected}, found {check.got}"
        )
    if result.record.id is not None:
        _out(
            f"Audit #{result.record.id}"
            + (f"; undo with: postaltop undo {result.record.id}" if result.result in UNDOABLE_RESULTS else "")
        )


def _confirm(plan: Any, typed: bool) -> bool:
    if not sys.stdin.isatty():
        _err("postaltop act: not a terminal: pass --yes to run without confirmation (or --dry-run)")
        return False
    try:
        if typed:
            answer = input(f"Type {plan.confirm_text!r} to confirm: ")
            return answer.strip() == str(plan.confirm_text)
        return input("Run it? [y/N] ").strip().lower() in ("y", "yes")
    except EOFError:
        return False


register_command(
    Command(
        "act", "run an incident action on Postal's database (previewed, confirmed, audited)", _configure_act
    )
)
register_command(Command("action", "same as `act`", _configure_act))
register_command(Command("undo", "undo an audited action: postaltop undo AUDIT_ID", _configure_undo))

_ = add_subcommand  # the nested-parser helper is not needed here
