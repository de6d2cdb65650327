"""Shared machinery of the server-side ``docker`` and ``journalctl`` shims used by the SSH tests.

The shims stand in for a Postal host: they are found first on the ``PATH`` of sessions opened on the
test sshd and answer the commands postaltop really runs. Their "container logs" are deterministic
functions of a small JSON spec in the state directory (``$POSTALTOP_SHIM_STATE``), so a log keeps
growing while no client is connected, and replaying it from a resume point (``--since`` timestamp,
``--after-cursor`` cursor) yields byte-identical lines: the tests can then check that nothing was lost
or shown twice by the numbers embedded in the lines.

Log spec (``<state>/logs/<name>.json``)::

    {"start_ns": int, "rate": float, "count": int | null, "group": int, "component": "smtp",
     "specials": {"5": "invalid_utf8" | "huge" | "ansi" | "hostile_client"}, "no_final_newline": bool,
     "running": bool, "file": str | null}

Line ``i`` gets the timestamp ``start_ns + (i // group) * step`` with ``step = group / rate`` seconds,
so ``group`` consecutive lines share one timestamp (exercising per-timestamp de-duplication), and it
becomes visible once that time has passed. ``file`` (benchmarks) makes ``docker logs`` stream a
pre-rendered file instead.
"""

from __future__ import annotations

import calendar
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

NUMBER_RE = re.compile(
    rb"(?:trace_id=T|queued_message=|request_id=[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-)(\d+)"
)
"""Extracts the line number embedded in every generated line."""

HUGE_PAYLOAD = 1024 * 1024


def state_dir() -> Path:
    """The shim state directory named by ``$POSTALTOP_SHIM_STATE``."""
    return Path(os.environ.get("POSTALTOP_SHIM_STATE", "/nonexistent-shim-state"))


def record_call(tool: str, argv: list[str]) -> None:
    """Append the invocation to ``calls.log`` so tests can check which resume options were used."""
    with (state_dir() / "calls.log").open("a", encoding="utf-8") as fh:
        fh.write(json.dumps([tool, *argv]) + "\n")


def load_json(name: str, default: Any) -> Any:
    """Read ``<state>/<name>`` (JSON), or ``default`` when it does not exist."""
    path = state_dir() / name
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return default


def load_log(name: str) -> dict[str, Any] | None:
    """The spec of log ``name`` or None when there is no such container/unit."""
    return load_log_from(state_dir(), name)


def load_log_from(state: Path, name: str) -> dict[str, Any] | None:
    """The spec of log ``name`` in the state directory ``state`` (tests read it directly)."""
    try:
        spec = json.loads((state / "logs" / f"{name}.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    spec.setdefault("group", 1)
    spec.setdefault("count", None)
    spec.setdefault("specials", {})
    spec.setdefault("no_final_newline", False)
    spec.setdefault("running", True)
    spec.setdefault("component", "worker")
    return dict(spec)


def step_ns(spec: dict[str, Any]) -> int:
    """Nanoseconds between two timestamp groups."""
    return max(1, int(spec["group"] * 1e9 / float(spec["rate"])))


def line_ts_ns(spec: dict[str, Any], i: int) -> int:
    """Timestamp of line ``i``."""
    return int(spec["start_ns"]) + (i // int(spec["group"])) * step_ns(spec)


def available(spec: dict[str, Any], now_ns: int) -> int:
    """How many lines exist at ``now_ns``."""
    if now_ns < int(spec["start_ns"]):
        return 0
    groups = (now_ns - int(spec["start_ns"])) // step_ns(spec) + 1
    n = groups * int(spec["group"])
    count = spec["count"]
    return n if count is None else min(n, int(count))


def first_index_at_or_after(spec: dict[str, Any], ts_ns: int) -> int:
    """The first line whose timestamp is ``>= ts_ns``."""
    start = int(spec["start_ns"])
    if ts_ns <= start:
        return 0
    step = step_ns(spec)
    groups = -(-(ts_ns - start) // step)
    return groups * int(spec["group"])


def is_finished(spec: dict[str, Any], i: int) -> bool:
    """True when line ``i`` is past the end of a finite log."""
    return spec["count"] is not None and i >= int(spec["count"])


def rfc3339nano(ts_ns: int) -> str:
    """Docker's fixed-width ``--timestamps`` form."""
    secs, frac = divmod(ts_ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{frac:09d}Z"


def parse_time_ns(text: str, now_ns: int) -> int:
    """Parse a docker ``--since`` / journalctl ``--since`` value into nanoseconds."""
    text = text.strip()
    rel = re.fullmatch(r"(-)?(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d)?( ago)?", text)
    if rel and (rel.group(1) or rel.group(3) or rel.group(4)):
        unit = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, None: 1}[rel.group(3)]
        return now_ns - int(float(rel.group(2)) * unit * 1e9)
    if text.startswith("@"):
        return int(float(text[1:]) * 1e9)
    iso = re.fullmatch(r"(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:?\d\d| UTC)?", text)
    if iso:
        base = time.strptime(f"{iso.group(1)} {iso.group(2)}", "%Y-%m-%d %H:%M:%S")
        secs = calendar.timegm(base)
        frac = (iso.group(3) or "").ljust(9, "0")
        return secs * 1_000_000_000 + int(frac or "0")
    return int(float(text) * 1e9)


_SMTP = [
    (b"INFO   ", b"Connection opened from 203.0.113.45"),
    (b"DEBUG  ", b"Client identified as 203.0.113.45"),
    (b"DEBUG  ", b"\x1b[32m<= EHLO mailer.customer-app.example\x1b[0m"),
    (b"DEBUG  ", b"\x1b[32m<= AUTH PLAIN [redacted]\x1b[0m"),
    (b"DEBUG  ", b"\x1b[34m=> 235 Granted for acme/transactional\x1b[0m"),
    (b"DEBUG  ", b"Added external address 'jane.doe@example.net'"),
    (b"DEBUG  ", b"\x1b[34m=> 250 OK\x1b[0m"),
    (b"WARN   ", b"Authentication failure for 198.51.100.23"),
]
_WORKER = [
    (b"INFO   ", b"starting message unqueue"),
    (b"INFO   ", b"queue latency is 2.411345958709717s"),
    (b"INFO   ", b"Connected to 192.0.2.10:25 (mx1.example.net) log_id=H2KD9WQ3"),
    (b"INFO   ", b"Sending message 3::1204577 to jane.doe@example.net log_id=H2KD9WQ3"),
    (b"INFO   ", b"Accepted by 192.0.2.10:25 (mx1.example.net) for jane.doe@example.net log_id=H2KD9WQ3"),
    (b"ERROR  ", b"Net::SMTPServerBusy: 421 4.7.0 Try again later, closing connection. log_id=B8QP4ZNE"),
    (b"INFO   ", b"message processing complete"),
]


def postal_line(spec: dict[str, Any], i: int) -> bytes:
    """Render line ``i`` of a log as Postal v3 would have written it (without newline)."""
    ts_ns = line_ts_ns(spec, i)
    stamp = time.strftime("%Y-%m-%d %H:%M:%S +0000", time.gmtime(ts_ns // 1_000_000_000)).encode()
    component = spec["component"]
    if component == "smtp":
        sev, msg = _SMTP[i % len(_SMTP)]
        tail = b"trace_id=T%07d component=smtp-server" % i
    elif component == "web":
        sev, msg = b"INFO   ", b"GET /org/acme/servers/transactional (200)"
        tail = (
            b"event=request controller=ServersController action=show method=GET path=/org/acme "
            b"request_id=6b1f0d4e-2c8a-4e71-9d3b-%012d ip_address=192.0.2.77 status=200" % i
        )
    else:
        sev, msg = _WORKER[i % len(_WORKER)]
        tail = b"component=worker thread=work0 original_queued_message=%d queued_message=%d" % (i, i)
    special = spec["specials"].get(str(i))
    if special == "hostile_client":
        sev, msg = b"DEBUG  ", b"Client identified as \x1b]52;c;cHduZWQ=\x07[red]203.0.113.99[/red]\x1b[2J"
    line = stamp + b" " + sev + msg + b" " + tail
    if special == "invalid_utf8":
        line += b" ehlo=\xff\xfe\xc3\x28bad"
    elif special == "huge":
        line += b" data=" + b"x" * HUGE_PAYLOAD
    elif special == "ansi":
        line += b" name=\x1b]0;pwned\x07[bold]markup[/bold]"
    return line


_PARENT = os.getppid()


def orphaned() -> bool:
    """True once the process that started us (the SSH session) is gone.

    A following shim that writes nothing would otherwise never notice that sshd was killed,
    and would keep running after the tests.
    """
    return os.getppid() != _PARENT


def write_out(data: bytes) -> None:
    """Write to stdout; exit quietly when the reader went away (client disconnected)."""
    try:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    except (BrokenPipeError, ConnectionResetError):
        os._exit(0)
