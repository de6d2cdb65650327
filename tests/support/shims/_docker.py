"""Test shim for ``docker``: ``docker ps --format ...`` and ``docker logs [-f] [-t] [--since T] NAME``.

Containers come from ``$POSTALTOP_SHIM_STATE/containers.json``; their logs from ``logs/<name>.json``
(see ``_shimlib``). Like the real CLI, ``--since`` is inclusive and ``-f`` keeps following until the
container stops.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(os.path.realpath(__file__)).parent))

import _shimlib as lib


def cmd_ps(args: list[str]) -> int:
    fmt = "{{.ID}} {{.Names}}"
    it = iter(args)
    for arg in it:
        if arg == "--format":
            fmt = next(it, fmt)
        elif arg.startswith("--format="):
            fmt = arg.split("=", 1)[1]
        elif arg in ("--filter", "-f"):
            next(it, None)
    for c in lib.load_json("containers.json", []):
        labels = c.get("labels", {})
        out = fmt.replace("{{.Names}}", c["name"]).replace("{{.ID}}", c.get("id", "0123456789ab"))
        out = out.replace("{{.Image}}", c.get("image", "ghcr.io/postalserver/postal:3.3.6"))
        while '{{.Label "' in out:
            start = out.index('{{.Label "')
            end = out.index('"}}', start)
            key = out[start + len('{{.Label "') : end]
            out = out[:start] + labels.get(key, "") + out[end + 3 :]
        lib.write_out(out.encode() + b"\n")
    return 0


def cmd_logs(args: list[str]) -> int:
    follow = timestamps = False
    since: str | None = None
    name: str | None = None
    it = iter(args)
    for arg in it:
        if arg in ("-f", "--follow"):
            follow = True
        elif arg in ("-t", "--timestamps"):
            timestamps = True
        elif arg == "--since":
            since = next(it)
        elif arg.startswith("--since="):
            since = arg.split("=", 1)[1]
        elif arg.startswith("-"):
            sys.stderr.write(f"unknown flag: {arg}\n")
            return 125
        else:
            name = arg
    spec = lib.load_log(name or "")
    if spec is None:
        sys.stderr.write(f"Error response from daemon: No such container: {name}\n")
        return 1
    if spec.get("file"):
        os.execvp("cat", ["cat", spec["file"]])
    i = 0 if since is None else lib.first_index_at_or_after(spec, lib.parse_time_ns(since, time.time_ns()))
    while True:
        avail = lib.available(spec, time.time_ns())
        if i < avail:
            parts = []
            for k in range(i, min(avail, i + 2000)):
                line = lib.postal_line(spec, k)
                if timestamps:
                    line = lib.rfc3339nano(lib.line_ts_ns(spec, k)).encode() + b" " + line
                last = spec["count"] is not None and k == spec["count"] - 1
                parts.append(line if last and spec["no_final_newline"] else line + b"\n")
            lib.write_out(b"".join(parts))
            i += len(parts)
            continue
        if lib.is_finished(spec, i) and not (follow and spec["running"]):
            return 0
        if not follow:
            return 0
        if lib.orphaned():
            return 0
        time.sleep(0.005)
        spec = lib.load_log(name or "") or spec


def main() -> int:
    argv = sys.argv[1:]
    lib.record_call("docker", argv)
    if not argv:
        sys.stderr.write("usage: docker COMMAND\n")
        return 1
    if argv[0] == "ps":
        return cmd_ps(argv[1:])
    if argv[0] == "logs":
        return cmd_logs(argv[1:])
    if argv[0] in ("version", "info"):
        lib.write_out(b"Docker shim for postaltop tests\n")
        return 0
    sys.stderr.write(f"docker shim: unsupported command {argv[0]}\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
