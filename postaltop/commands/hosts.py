"""``postaltop hosts list`` and ``postaltop hosts trust NAME``: see and accept the hosts' SSH keys.

Nothing is trusted without the user seeing the fingerprint first: ``trust`` shows it and asks (y/N)
on a terminal; ``--yes`` (for scripts) skips the question but the fingerprint is still printed
before anything is written. A key that differs from the one already trusted is refused loudly;
only ``--replace-changed-key`` (a separate, explicit flag) removes the old entry from the trust file
and writes the new one.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from postaltop.cli import Command, _err, _out, add_subcommand, load_from_args, register_command

if TYPE_CHECKING:
    from postaltop.config import HostConfig, Settings
    from postaltop.sources.ssh import FetchedHostKey, SshOptions

LIST_TIMEOUT = 20.0
"""Seconds ``hosts list`` waits for all hosts together."""


def _configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(title="hosts commands", metavar="ACTION", required=True)
    listing = add_subcommand(sub, "list", "show each configured host and the state of its SSH host key")
    listing.set_defaults(handler=_list)
    trust = add_subcommand(sub, "trust", "show a host's SSH key fingerprint and trust it after confirmation")
    trust.add_argument("name", help="the [[hosts]] entry")
    trust.add_argument(
        "--yes",
        action="store_true",
        help="do not ask (scripts): the fingerprint is still printed before the key is written",
    )
    trust.add_argument(
        "--replace-changed-key",
        action="store_true",
        help="if the host's key CHANGED, remove the old entry from the trust file and trust the new key",
    )
    trust.set_defaults(handler=_trust)


def _options(settings: Settings) -> SshOptions:
    from postaltop.sources.log_runner import ssh_options

    return ssh_options(settings)


async def _probe(host: HostConfig, options: SshOptions) -> tuple[HostConfig, FetchedHostKey | str]:
    from postaltop.sources.ssh import SshError, fetch_host_key

    try:
        return host, await fetch_host_key(host, options)
    except SshError as exc:
        return host, str(exc)


async def _probe_all(settings: Settings) -> list[tuple[HostConfig, FetchedHostKey | str]]:
    options = _options(settings)
    tasks = [asyncio.ensure_future(_probe(h, options)) for h in settings.hosts]
    done, _ = await asyncio.wait(tasks, timeout=LIST_TIMEOUT) if tasks else (set(), set())
    results: list[tuple[HostConfig, FetchedHostKey | str]] = []
    for host, task in zip(settings.hosts, tasks, strict=True):
        if task in done:
            results.append(task.result())
        else:
            task.cancel()
            results.append((host, f"no answer within {LIST_TIMEOUT:.0f}s"))
    return results


def _list(args: argparse.Namespace) -> int:
    from postaltop.sources.log_runner import trust_file

    settings = load_from_args(args).settings
    if not settings.hosts:
        _out("no [[hosts]] are configured")
        return 0
    _out(f"# trust file: {trust_file(settings)}")
    _out(f"{'NAME':<16} {'ADDRESS':<28} {'KEY':<10} FINGERPRINT / PROBLEM")
    problems = 0
    for host, result in asyncio.run(_probe_all(settings)):
        where = f"{host.address}:{host.port}" + (f" via {host.jump_host}" if host.jump_host else "")
        if isinstance(result, str):
            problems += 1
            _out(f"{host.name:<16} {where:<28} {'unreachable':<10} {result}")
            continue
        state = result.status if result.status != "changed" else "CHANGED"
        problems += result.status != "trusted"
        hint = ""
        if result.status == "unknown":
            hint = f"  (check it, then: postaltop hosts trust {host.name})"
        elif result.status == "changed":
            hint = "  (DIFFERS from the trusted key: possible interception; see postaltop hosts trust --help)"
        _out(f"{host.name:<16} {where:<28} {state:<10} {result.fingerprint}{hint}")
    return 1 if problems else 0


def _confirm(question: str) -> bool:
    try:
        answer = input(question)
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def remove_host_entries(path: Path, pattern: str) -> int:
    """Drop the plain (unhashed) known_hosts lines for ``pattern`` from ``path``; returns lines removed."""
    if not path.exists():
        return 0
    kept: list[str] = []
    removed = 0
    for line in path.read_text(encoding="utf-8", errors="surrogateescape").splitlines(keepends=True):
        fields = line.split()
        if fields and not line.lstrip().startswith("#"):
            first = 1 if fields[0].startswith("@") else 0
            if len(fields) > first and pattern in fields[first].split(","):
                removed += 1
                continue
        kept.append(line)
    tmp = path.with_name(path.name + ".postaltop-tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as fh:
        fh.writelines(kept)
    tmp.replace(path)
    return removed


def _trust(args: argparse.Namespace) -> int:
    from postaltop.sources.log_runner import trust_file

    settings = load_from_args(args).settings
    by_name = {h.name: h for h in settings.hosts}
    host = by_name.get(args.name)
    if host is None:
        known = ", ".join(sorted(by_name)) or "none are configured"
        _err(f"postaltop hosts trust: error: no [[hosts]] entry is named {args.name!r} (hosts: {known})")
        return 2
    interactive = sys.stdin.isatty()
    if not args.yes and not interactive:
        _err("postaltop hosts trust: error: stdin is not a terminal; check the fingerprint and use --yes")
        return 2
    return asyncio.run(_trust_async(settings, host, trust_file(settings), args.yes, args.replace_changed_key))


async def _trust_async(settings: Settings, host: HostConfig, path: Path, yes: bool, replace: bool) -> int:
    from postaltop.sources.ssh import HostKeyChanged, SshError, fetch_host_key, trust_host_key

    options = _options(settings)
    try:
        fetched = await fetch_host_key(host, options)
    except SshError as exc:
        _err(f"postaltop hosts trust: error: {exc}")
        return 1
    algorithm = fetched.key.get_algorithm()
    _out(f"{host.name} ({host.address}:{host.port}) presents {algorithm} key {fetched.fingerprint}")
    if fetched.status == "trusted":
        _out(f"already trusted; nothing to do (trust file: {path})")
        return 0
    if fetched.status == "changed":
        _err("")
        _err("@@@ WARNING: THE HOST KEY OF THIS HOST HAS CHANGED @@@")
        _err(f"The key above differs from the one trusted for {fetched.host_pattern}.")
        _err("Someone may be intercepting the connection, or the host was reinstalled.")
        _err("Verify the new fingerprint out of band (on the host: ssh-keygen -lf /etc/ssh/ssh_host_*.pub).")
        if not replace:
            _err(
                "Refused: nothing was written. If the change is expected, re-run with --replace-changed-key."
            )
            return 1
    if not yes and not _confirm(f"Trust this key and add it to {path}? [y/N] "):
        _out("not trusted")
        return 1
    if fetched.status == "changed":
        removed = remove_host_entries(path, fetched.host_pattern)
        entries = "entry" if removed == 1 else "entries"
        _out(f"removed {removed} old {entries} for {fetched.host_pattern} from {path}")
    try:
        await trust_host_key(host, path, expected_fingerprint=fetched.fingerprint, options=options)
    except HostKeyChanged as exc:
        _err(f"postaltop hosts trust: refused: {exc}")
        return 1
    except SshError as exc:
        _err(f"postaltop hosts trust: error: {exc}")
        return 1
    _out(f"trusted {fetched.fingerprint} for {fetched.host_pattern} in {path}")
    return 0


register_command(
    Command("hosts", "list the SSH hosts and their key state, or trust a host's key", _configure)
)
