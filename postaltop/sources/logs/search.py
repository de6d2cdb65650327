"""One-off searches of a host's logs (``postaltop trace``)."""

from __future__ import annotations

from postaltop.core.linesplit import LineSplitter
from postaltop.core.resume import docker_ts_token
from postaltop.sources.logs.commands import search_command
from postaltop.sources.logs.discovery import StreamSpec
from postaltop.sources.ssh import HostConnection


async def search_stream(hc: HostConnection, spec: StreamSpec, patterns: list[str], since: str) -> list[bytes]:
    """Run :func:`search_command` and return its lines (journal records turned into stamped lines)."""
    from postaltop.core.resume import journal_record

    result = await hc.conn.run(search_command(spec, patterns, since), check=False, encoding=None)
    out = result.stdout if isinstance(result.stdout, bytes) else b""
    lines = LineSplitter().feed(out)
    if out and not out.endswith(b"\n"):
        lines.append(out.rsplit(b"\n", 1)[-1])
    if spec.kind == "journald":
        records = [journal_record(line) for line in lines]
        return [rec[1] for rec in records if rec is not None]
    if spec.kind == "docker":
        return [line for line in lines if docker_ts_token(line) is not None]
    return lines
