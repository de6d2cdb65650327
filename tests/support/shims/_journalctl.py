"""Test shim for ``journalctl``: units from ``$POSTALTOP_SHIM_STATE/units.json`` ({unit: log name}).

Supported: ``-u UNIT``, ``FIELD=VALUE`` matches (``_SYSTEMD_UNIT``, ``CONTAINER_NAME``), ``-F FIELD``,
``-f``, ``-n N``, ``--since T``, ``--after-cursor C``, ``--show-cursor``, ``-o json|short-iso|cat``,
``--output-fields``, ``-a``, ``--no-pager``, ``-q``. JSON follows journalctl's rules: a MESSAGE that is
not printable UTF-8 becomes an array of byte values, one over 4096 bytes becomes null unless ``-a``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(os.path.realpath(__file__)).parent))

import _shimlib as lib

BOOT = "5f1b0c2d9e8a4b7c8d6e5f4a3b2c1d0e"


def cursor(i: int, ts_us: int) -> str:
    return f"s=8c6a1f0e2b3d4c5e;i={i + 1:x};b={BOOT};m={i * 7 + 11:x};t={ts_us:x};x=4e5d6c7b8a9f0e1d"


def cursor_index(c: str) -> int:
    for part in c.split(";"):
        if part.startswith("i="):
            return int(part[2:], 16) - 1
    raise ValueError(c)


def printable(data: bytes) -> bool:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(ch == "\t" or (ch >= " " and ch != "\x7f") for ch in text)


def render(unit: str, spec: dict, i: int, output: str, fields: list[str] | None, show_all: bool) -> bytes:
    ts_us = lib.line_ts_ns(spec, i) // 1000
    msg = lib.postal_line(spec, i)
    if output == "cat":
        return msg + b"\n"
    if output in ("short-iso", "short-iso-precise"):
        fmt = "%Y-%m-%dT%H:%M:%S"
        stamp = time.strftime(fmt, time.gmtime(ts_us // 1_000_000))
        if output == "short-iso-precise":
            stamp += f".{ts_us % 1_000_000:06d}"
        return f"{stamp}+0000 postal-host {unit.removesuffix('.service')}[1234]: ".encode() + msg + b"\n"
    entry: dict[str, object] = {
        "__CURSOR": cursor(i, ts_us),
        "__REALTIME_TIMESTAMP": str(ts_us),
        "__MONOTONIC_TIMESTAMP": str(ts_us - 1_700_000_000_000_000),
        "_BOOT_ID": BOOT,
    }
    full = {
        "_SYSTEMD_UNIT": unit,
        "SYSLOG_IDENTIFIER": unit.removesuffix(".service"),
        "_PID": "1234",
        "PRIORITY": "6",
        "MESSAGE": None,
    }
    for key, value in full.items():
        if fields is None or key in fields:
            entry[key] = value
    if "MESSAGE" in entry:
        if len(msg) > 4096 and not show_all:
            entry["MESSAGE"] = None
        elif printable(msg):
            entry["MESSAGE"] = msg.decode("utf-8")
        else:
            entry["MESSAGE"] = list(msg)
    return json.dumps(entry, separators=(",", ":")).encode() + b"\n"


def main() -> int:
    argv = sys.argv[1:]
    lib.record_call("journalctl", argv)
    units: dict[str, str] = lib.load_json("units.json", {})
    follow = show_cursor = show_all = False
    output = "short"
    lines: int | None = None
    since: str | None = None
    after: str | None = None
    fields: list[str] | None = None
    field_list: str | None = None
    wanted: list[str] = []
    it = iter(argv)
    for arg in it:
        if arg in ("-f", "--follow"):
            follow = True
        elif arg == "--show-cursor":
            show_cursor = True
        elif arg in ("-a", "--all"):
            show_all = True
        elif arg in ("--no-pager", "-q", "--quiet", "--no-hostname", "--utc"):
            pass
        elif arg in ("-o", "--output"):
            output = next(it)
        elif arg.startswith("--output="):
            output = arg.split("=", 1)[1]
        elif arg in ("-n", "--lines"):
            lines = int(next(it))
        elif arg.startswith("--lines="):
            lines = int(arg.split("=", 1)[1])
        elif arg in ("-S", "--since"):
            since = next(it)
        elif arg.startswith("--since="):
            since = arg.split("=", 1)[1]
        elif arg == "--after-cursor":
            after = next(it)
        elif arg.startswith("--after-cursor="):
            after = arg.split("=", 1)[1]
        elif arg.startswith("--output-fields="):
            fields = arg.split("=", 1)[1].split(",")
        elif arg in ("-u", "--unit"):
            unit = next(it)
            wanted.append(unit if "." in unit else unit + ".service")
        elif arg in ("-F", "--field"):
            field_list = next(it)
        elif "=" in arg and not arg.startswith("-"):
            key, value = arg.split("=", 1)
            if key in ("_SYSTEMD_UNIT", "CONTAINER_NAME", "UNIT"):
                wanted.append(value)
        else:
            sys.stderr.write(f"journalctl: unrecognized option '{arg}'\n")
            return 1
    if field_list is not None:
        if field_list == "_SYSTEMD_UNIT":
            for unit in units:
                lib.write_out(unit.encode() + b"\n")
        return 0
    if len(wanted) != 1 or wanted[0] not in units:
        if not show_cursor:
            lib.write_out(b"-- No entries --\n")
        return 0
    unit = wanted[0]
    name = units[unit]
    spec = lib.load_log(name)
    if spec is None:
        return 0
    now = time.time_ns()
    avail = lib.available(spec, now)
    if after is not None:
        i = cursor_index(after) + 1
    elif since is not None:
        i = lib.first_index_at_or_after(spec, lib.parse_time_ns(since, now))
    elif lines is not None or follow:
        i = max(0, avail - (10 if lines is None else lines))
    else:
        i = 0
    last_cursor: str | None = None
    while True:
        avail = lib.available(spec, time.time_ns())
        if i < avail:
            end = min(avail, i + 2000)
            lib.write_out(b"".join(render(unit, spec, k, output, fields, show_all) for k in range(i, end)))
            last_cursor = cursor(end - 1, lib.line_ts_ns(spec, end - 1) // 1000)
            i = end
            continue
        if not follow:
            break
        if lib.orphaned():
            return 0
        time.sleep(0.005)
        spec = lib.load_log(name) or spec
    if show_cursor and last_cursor is not None:
        lib.write_out(f"-- cursor: {last_cursor}\n".encode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
