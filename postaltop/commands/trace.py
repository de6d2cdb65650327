"""``postaltop trace REF``: a message's database rows and its log lines on every configured host.

The database part reads the message row and its deliveries (read-only, indexed lookups; see
:mod:`postaltop.sources.message_lookup`). The log part connects to every host over SSH (strict host
keys, as the monitor), runs ``docker logs --since`` / ``journalctl --since`` / ``grep`` on each Postal
log with ``grep -F`` for the reference, matches the result exactly with the filter language's
``msgid:`` rules (:mod:`postaltop.core.trace`), then searches once more for the other ids those lines
carry (``log_id``, ``queued_message``, ``server::message``), and prints everything in time order.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import time
from typing import TYPE_CHECKING, Any

from postaltop.cli import Command, _err, _out, load_from_args, register_command

if TYPE_CHECKING:
    from postaltop.config import HostConfig, Settings
    from postaltop.core.trace import TraceResult
    from postaltop.sources.ssh import SshOptions

_SINCE = re.compile(r"^[0-9]{1,6}[smhd]$")
HOST_TIMEOUT = 60.0
"""Seconds one host may take for the whole search."""


def _since(text: str) -> str:
    if not _SINCE.match(text):
        raise argparse.ArgumentTypeError(
            f"must be a number followed by s, m, h or d (for example 24h), not {text!r}"
        )
    return text


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "ref", metavar="REF", help="server::message (3::1204577), a queued message id, log_id or token"
    )
    parser.add_argument(
        "--since", type=_since, default="24h", help="how far back the hosts' logs are searched"
    )
    parser.add_argument("--no-db", action="store_true", help="skip the database")
    parser.add_argument("--no-logs", action="store_true", help="skip the hosts' logs")
    parser.set_defaults(handler=_run)


def _when(ts: Any) -> str:
    if not isinstance(ts, int | float):
        return "-"
    millis = round(ts * 1000)
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(millis // 1000)) + f".{millis % 1000:03d}"


def _run(args: argparse.Namespace) -> int:
    from postaltop.core.trace import TraceError, check_ref

    try:
        ref = check_ref(args.ref)
    except TraceError as exc:
        _err(f"postaltop trace: error: {exc}")
        return 2
    settings = load_from_args(args).settings
    return asyncio.run(_trace(settings, ref, args.since, db=not args.no_db, logs=not args.no_logs))


async def _trace(settings: Settings, ref: str, since: str, *, db: bool, logs: bool) -> int:
    found = 0
    log_result: TraceResult | None = None
    if logs and settings.hosts:
        log_result = await search_hosts(settings, ref, since)
    db_ref = ref
    if log_result is not None:
        db_ref = next((r for r in log_result.refs if "::" in r), ref)
    if db and settings.database is not None:
        found += await _print_db(settings, db_ref)
    elif db:
        _out("# database: not configured ([database] section)")
    if log_result is not None:
        found += len(log_result.events)
        _print_logs(log_result, since, len(settings.hosts))
    elif logs:
        _out("# logs: no [[hosts]] are configured")
    if not found:
        _out(f"nothing found for {ref}")
    return 0


async def _print_db(settings: Settings, ref: str) -> int:
    from postaltop.runtime.build import database_lookup

    lookup = database_lookup(settings)
    assert lookup is not None  # the caller checked that a [database] is configured
    try:
        result = await lookup(ref)
    except Exception as exc:
        from postaltop.sources.postal_db import clean_error

        _out(f"# database: lookup of {ref} failed: {clean_error(exc)}")
        return 0
    finally:
        await lookup.close()
    if not result.records:
        _out(f"# database: {result.note or 'no message found'}")
        return 0
    if result.note:
        _out(f"# database: {result.note}")
    for record in result.records:
        msg = record.message
        _out(f"# message {record.ref}")
        for key in ("token", "scope", "status", "mail_from", "rcpt_to", "subject", "message_id"):
            _out(f"{key:<11} {msg.get(key) if msg.get(key) is not None else '-'}")
        _out(f"{'timestamp':<11} {_when(msg.get('timestamp'))} UTC")
        _out(f"{'held':<11} {bool(msg.get('held'))}")
        _out(f"# deliveries ({len(record.deliveries)})")
        for d in record.deliveries:
            detail = " ".join(str(d.get(k) or "") for k in ("details", "output")).strip()
            _out(f"{_when(d.get('timestamp'))}  {d.get('status')}  log_id={d.get('log_id') or '-'}  {detail}")
    return len(result.records)


def _print_logs(result: TraceResult, since: str, hosts: int) -> None:
    from postaltop.cli import neutralise

    _out(f"# log lines ({len(result.events)}, {hosts} host(s), since {since}; ids: {', '.join(result.refs)})")
    for event in result.events:
        where = f"{neutralise(event.host)}  {neutralise(event.component)}"
        _out(f"{_when(event.ts)}  {where}  {neutralise(event.text)}")


async def _host_lines(
    host: HostConfig, options: SshOptions, patterns: list[str], since: str
) -> list[tuple[str, list[bytes]]]:
    from postaltop.sources.logs import discover_specs, search_stream
    from postaltop.sources.ssh import connect

    hc = await connect(host, options)
    try:
        specs = await discover_specs(hc, host.log_source)
        found = await asyncio.gather(*(search_stream(hc, spec, patterns, since) for spec in specs))
        return [(spec.component, lines) for spec, lines in zip(specs, found, strict=True)]
    finally:
        hc.close()


async def search_hosts(settings: Settings, ref: str, since: str) -> TraceResult:
    """Search every host's logs for ``ref`` (and the ids its lines carry); problems go to stderr."""
    from postaltop.core.ingest import Ingestor
    from postaltop.core.logstore import LogStore
    from postaltop.core.trace import trace
    from postaltop.sources.log_runner import ssh_options

    options = ssh_options(settings)
    store = LogStore(capacity=1_000_000)
    ingestor = Ingestor(store)
    searched: list[str] = []

    async def one(host: HostConfig, patterns: list[str]) -> None:
        try:
            groups = await asyncio.wait_for(_host_lines(host, options, patterns, since), HOST_TIMEOUT)
        except Exception as exc:
            _err(f"postaltop trace: {host.name}: {exc}")
            return
        for component, lines in groups:
            if lines:
                ingestor.feed(host.name, component, lines, received_at=time.time())

    patterns = [ref]
    result = trace(store, ref)
    for _round in range(2):
        searched.extend(patterns)
        await asyncio.gather(*(one(h, patterns) for h in settings.hosts))
        result = trace(store, ref)
        patterns = [r for r in result.refs if r not in searched]
        if not patterns:
            break
    return result


register_command(Command("trace", "a message's database rows and its log lines on every host", _configure))
