"""Which logs a host has: Postal's containers, else its journald units, else its v2 log files."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from postaltop.core.containers import is_container_name
from postaltop.sources.ssh import HostConnection

_POSTAL_NAME = re.compile(r"^postal[-_](?P<service>[a-z0-9]+)[-_](?P<index>\d+)$")


_SAFE_GLOB = re.compile(r"^[A-Za-z0-9_./*?\[\]-]+$")


_FILE_COMPONENTS = {"smtp_server": "smtp", "web_server": "web", "web": "web", "worker": "worker"}


_V2_LOG_DIRS = ("/opt/postal/log", "/opt/postal/app/log", "/var/log/postal")


_SKIP_SERVICES = {"runner"}


_DOCKER_PS = (
    "docker ps --format "
    + shlex.quote(
        '{{.Names}}|{{.Label "com.docker.compose.project"}}|'
        '{{.Label "com.docker.compose.service"}}|{{.Image}}'
    )
    + " 2>&1 | sed 's/^/docker|/'"
)


_JOURNAL_UNITS = "journalctl -F _SYSTEMD_UNIT 2>/dev/null | sed 's/^/unit|/'"


class SourceNotFound(Exception):
    """No log source matched on the host; the message says what was tried."""


@dataclass(frozen=True, slots=True)
class StreamSpec:
    """One followed log: which component, how it is read, and what is read."""

    component: str
    kind: str
    """``docker``, ``journald`` or ``file``."""
    target: str
    """Container name, journal match (``_SYSTEMD_UNIT=x``) or file path."""


def discovery_script(log_source: str) -> str:
    if log_source.startswith("files:"):
        pattern = log_source[len("files:") :]
        if not _SAFE_GLOB.match(pattern):
            raise SourceNotFound(
                f"log_source glob {pattern!r} may only hold letters, digits and _ . / * ? [ ] -"
            )
        return f'for f in {pattern}; do [ -f "$f" ] && echo "file|$f"; done; true'
    docker = (
        f"if command -v docker >/dev/null 2>&1; then {_DOCKER_PS}; else echo 'error|docker not found'; fi"
    )
    journal = f"if command -v journalctl >/dev/null 2>&1; then {_JOURNAL_UNITS}; fi"
    dirs = " ".join(f"{d}/*.log" for d in _V2_LOG_DIRS)
    files = f'for f in {dirs}; do [ -f "$f" ] && echo "file|$f"; done'
    if log_source == "docker":
        return f"{docker}; true"
    if log_source == "journald":
        return f"{journal}; true"
    # auto: the fallbacks are only asked when docker shows no Postal container (each costs time)
    return f'd=$({docker}); printf "%s\\n" "$d"; case "$d" in *postal*) ;; *) {journal}; {files};; esac; true'


def _docker_specs(rows: list[list[str]]) -> list[StreamSpec]:
    specs = []
    for row in rows:
        if len(row) < 4:
            continue
        name, project, service, image = row[0], row[1], row[2], "|".join(row[3:])
        named = _POSTAL_NAME.match(name)
        if not (project == "postal" or "postalserver/postal" in image or named):
            continue
        if not service and named:
            service = named.group("service")
        if not service or service in _SKIP_SERVICES or not is_container_name(name):
            continue
        index = named.group("index") if named else (re.search(r"(\d+)$", name) or [None, "1"])[1]
        specs.append(StreamSpec(service if index in (None, "1") else f"{service}-{index}", "docker", name))
    return sorted(specs, key=lambda s: s.component)


def _unit_component(unit: str) -> str:
    base = unit.removesuffix(".service")
    for prefix in ("postal-", "postal_", "postal@"):
        if base.startswith(prefix):
            return base[len(prefix) :] or "postal"
    return base


def parse_discovery(output: str, log_source: str) -> list[StreamSpec]:
    """Choose the streams from the discovery script's output (docker, else journald, else files).

    Raises:
        SourceNotFound: nothing usable was found; the message lists what was seen.
    """
    rows = [line.split("|") for line in output.splitlines() if "|" in line]
    errors = [line.partition("|")[2] for line in output.splitlines() if line.startswith("error|")]
    docker_rows = [r[1:] for r in rows if r[0] == "docker"]
    docker_errors = ["|".join(r) for r in docker_rows if len(r) < 4 and r and r[0]]
    if log_source in ("auto", "docker"):
        specs = _docker_specs(docker_rows)
        if specs or log_source == "docker":
            if not specs:
                why = "; ".join(docker_errors + errors) or "no Postal containers are running"
                raise SourceNotFound(f"docker: {why[:300]}")
            return specs
    if log_source in ("auto", "journald"):
        units = sorted({r[1] for r in rows if r[0] == "unit" and len(r) == 2})
        picked = [
            u
            for u in units
            if "postal" in u.lower() and "postaltop" not in u.lower() and u.endswith(".service")
        ]
        specs = [StreamSpec(_unit_component(u), "journald", f"_SYSTEMD_UNIT={u}") for u in picked]
        if specs or log_source == "journald":
            if not specs:
                raise SourceNotFound("journald: no Postal units in the journal")
            return specs
    files = sorted({r[1] for r in rows if r[0] == "file" and len(r) == 2})
    specs = []
    for path in files:
        stem = path.rsplit("/", 1)[-1].removesuffix(".log")
        specs.append(StreamSpec(_FILE_COMPONENTS.get(stem, stem), "file", path))
    if specs:
        return specs
    tried = {"auto": "docker containers, journald units and v2 log files", "docker": "docker"}
    raise SourceNotFound(f"no Postal logs found ({tried.get(log_source, log_source)})")


async def discover_specs(hc: HostConnection, log_source: str) -> list[StreamSpec]:
    """The host's log streams, as :class:`HostLogStream` would follow them.

    Raises:
        SourceNotFound: nothing usable was found.
        asyncssh.Error, OSError: the discovery command failed.
    """
    result = await hc.conn.run(discovery_script(log_source), check=False)
    output = result.stdout if isinstance(result.stdout, str) else ""
    return parse_discovery(output, log_source)
