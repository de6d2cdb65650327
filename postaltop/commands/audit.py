"""``postaltop audit [--since 1h] [--json] [--demo]``: the incident-action trail (secrets redacted)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time

from postaltop.cli import Command, _out, load_from_args, register_command


def _since(text: str) -> float:
    from postaltop.commands.action import duration

    try:
        return time.time() - duration(text)
    except argparse.ArgumentTypeError:
        pass
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 30m / 2h / 7d or an ISO time, not {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", type=_since, help="only actions since (30m, 2h, 7d or an ISO time, UTC)")
    parser.add_argument(
        "--json", action="store_true", help="one JSON object per line (the JSONL trail's form)"
    )
    parser.add_argument("--demo", action="store_true", help="show the demo's actions instead of real ones")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from postaltop.store.audit import AuditStore

    loaded = load_from_args(args)
    store = AuditStore(operator=loaded.settings.actions.operator)
    records = store.list(since=args.since, demo=args.demo)
    if args.json:
        for record in records:
            _out(json.dumps(record.public(), default=str))
        return 0
    if not records:
        _out("No audited actions" + (" in the demo." if args.demo else "."))
        return 0
    for r in records:
        when = dt.datetime.fromtimestamp(r.ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
        undo = f" undone by #{r.undone_by}" if r.undone_by else ""
        undo += f" (undo of #{r.undo_of})" if r.undo_of else ""
        _out(
            f"#{r.id:<5} {when}Z {r.os_user}/{r.db_user or '-'}@{r.host} "
            f"{r.action} {r.server} [{r.result}]{undo}"
        )
        _out(f"       {r.sentence}")
        if r.detail:
            _out(f"       {r.detail}")
    return 0


register_command(Command("audit", "list the incident-action audit trail", _configure))
