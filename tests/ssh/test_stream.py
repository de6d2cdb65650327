"""Streaming numbered Postal lines through the real SSH path: docker, journald and files."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from postaltop.core.linesplit import MAX_LINE_BYTES, TRUNCATION_MARKER
from postaltop.sources.host_status import HostState
from postaltop.sources.logs import SourceNotFound, StreamSpec, parse_discovery
from tests.ssh.conftest import Collector, streaming
from tests.support.services import missing_service
from tests.support.sshd import SshdServer

pytestmark = pytest.mark.ssh


async def test_auto_discovers_postal_containers_and_streams_every_line(
    sshd: SshdServer, collector: Collector
) -> None:
    start = time.time_ns() - 2_000_000_000  # two seconds of backlog already exist
    for service, count in (("smtp", 3000), ("worker", 2500), ("web", 500)):
        sshd.add_container(f"postal-{service}-1", service, rate=2000, group=3, count=count, start_ns=start)
    sshd.add_container("postal-runner-run-1a2b", "runner", count=5)  # transient: not followed
    sshd.add_container("mariadb", "db", project="other", image="mariadb:11", count=5)  # not Postal
    async with streaming(sshd, collector) as stream:
        await collector.wait_for(
            lambda: [len(collector.lines(c)) for c in ("smtp", "worker", "web")] == [3000, 2500, 500]
        )
    assert collector.numbers("smtp") == list(range(3000))
    assert collector.numbers("worker") == list(range(2500))
    assert collector.numbers("web") == list(range(500))
    assert {host for host, _, _ in collector.batches} == {"mx1"}
    assert sorted(s.component for s in stream.streams) == ["smtp", "web", "worker"]
    connected = [s for s in collector.statuses if s.state is HostState.CONNECTED]
    assert connected and connected[-1].components == ("smtp", "web", "worker")
    # lines keep docker's stamp for the parser, and Postal's text byte for byte
    first = collector.lines("worker")[0]
    assert first[29:31] == b"Z " and b" INFO   starting message unqueue component=worker" in first


async def test_journald_units_stream_with_binary_messages(sshd: SshdServer, collector: Collector) -> None:
    sshd.add_unit("postal-smtp.service", "smtp-journal", component="smtp", rate=2000, count=1500)
    sshd.add_unit("sshd.service", "other", component="worker", count=5)  # not Postal
    async with streaming(sshd, collector, log_source="journald"):
        await collector.wait_for(lambda: len(collector.lines("smtp")) == 1500)
    assert collector.numbers("smtp") == list(range(1500))
    # ANSI-coloured messages arrive from journald as byte arrays and are restored exactly
    assert any(
        b"\x1b[32m<= EHLO mailer.customer-app.example\x1b[0m" in line for line in collector.lines("smtp")
    )
    assert [c[0] for c in sshd.calls()].count("journalctl") >= 2


@pytest.mark.parametrize("log_source", ["docker", "journald"])
async def test_invalid_utf8_huge_line_and_missing_final_newline(
    sshd: SshdServer, collector: Collector, log_source: str
) -> None:
    specials = {"3": "invalid_utf8", "5": "huge", "7": "ansi"}
    spec = {"rate": 1000.0, "count": 10, "specials": specials, "no_final_newline": True, "running": False}
    if log_source == "docker":
        sshd.add_container("postal-smtp-1", "smtp", **spec)
    else:
        sshd.add_unit("postal-smtp.service", "smtp-journal", component="smtp", **spec)
    async with streaming(sshd, collector, log_source=log_source):
        await collector.wait_for(lambda: len(collector.lines("smtp")) >= 10)
        # after a reconnect the log is replayed from the last position: nothing may come twice
        tool = "docker" if log_source == "docker" else "journalctl"
        calls = [c for c in sshd.calls() if c[0] == tool and "-f" in c]
        sshd.restart()
        await collector.wait_for(
            lambda: len([c for c in sshd.calls() if c[0] == tool and "-f" in c]) > len(calls)
        )
        await asyncio.sleep(0.5)
    lines = collector.lines("smtp")
    assert collector.numbers("smtp") == list(range(10))
    assert b"ehlo=\xff\xfe\xc3\x28bad" in lines[3]
    # cut once, to the limit (journald's JSON envelope takes a little of it)
    assert lines[5].endswith(TRUNCATION_MARKER) and lines[5].count(TRUNCATION_MARKER) == 1
    assert MAX_LINE_BYTES - 1024 < len(lines[5]) <= MAX_LINE_BYTES
    assert b"trace_id=T0000005" in lines[5]
    assert b"\x1b]0;pwned\x07[bold]markup[/bold]" in lines[7]
    assert lines[9].endswith(b"trace_id=T0000009 component=smtp-server")  # the unterminated last line


async def test_files_source_follows_with_byte_offsets(
    sshd: SshdServer, collector: Collector, tmp_path: Path
) -> None:
    log_dir = tmp_path / "postal-log"
    log_dir.mkdir()
    log = log_dir / "smtp_server.log"
    log.write_bytes(b"old line before we connected\n")
    async with streaming(sshd, collector, log_source=f"files:{log_dir}/*.log") as stream:
        await collector.wait_for(lambda: bool(stream.streams) and stream.status.state is HostState.CONNECTED)
        await collector.wait_for(lambda: any(c[0] == "tail" for c in _tail_started(stream)))
        for batch in range(3):
            with log.open("ab") as fh:
                fh.write(b"".join(b"[smtp_server.1:12] line %d\n" % (batch * 100 + i) for i in range(100)))
            await collector.wait_for(lambda b=batch: len(collector.lines("smtp")) == (b + 1) * 100)
            sshd.restart()
    expected = [b"[smtp_server.1:12] line %d" % i for i in range(300)]
    assert collector.lines("smtp") == expected
    assert next(iter(stream.streams.values())).file.committed == log.stat().st_size


def _tail_started(stream: object) -> list[list[str]]:
    streams = getattr(stream, "streams", {})
    return [["tail"]] if any(s.file.identity for s in streams.values()) else []


def test_discovery_parsing_prefers_docker_then_journald_then_files() -> None:
    output = "\n".join(
        [
            "docker|postal-smtp-1|postal|smtp|ghcr.io/postalserver/postal:3.3.6",
            "docker|postal_worker_2||||ghcr.io/postalserver/postal:3.3.6",
            "docker|caddy|postal|caddy|caddy:2",
            "docker|postal-runner-run-x|postal|runner|ghcr.io/postalserver/postal:3.3.6",
            "docker|redis|other|redis|redis:7",
            "unit|postal-web.service",
            "file|/opt/postal/log/worker.log",
        ]
    )
    assert parse_discovery(output, "auto") == [
        StreamSpec("caddy", "docker", "caddy"),
        StreamSpec("smtp", "docker", "postal-smtp-1"),
        StreamSpec("worker-2", "docker", "postal_worker_2"),
    ]
    assert parse_discovery(output, "journald") == [
        StreamSpec("web", "journald", "_SYSTEMD_UNIT=postal-web.service")
    ]
    no_docker = "\n".join(line for line in output.splitlines() if not line.startswith("docker"))
    assert parse_discovery(no_docker, "auto")[0].kind == "journald"
    assert parse_discovery("file|/opt/postal/log/smtp_server.log", "auto") == [
        StreamSpec("smtp", "file", "/opt/postal/log/smtp_server.log")
    ]
    with pytest.raises(SourceNotFound, match="permission denied"):
        parse_discovery("docker|permission denied while trying to connect to the Docker daemon", "docker")
    with pytest.raises(SourceNotFound, match="no Postal logs"):
        parse_discovery("unit|sshd.service\nunit|postaltop.service", "auto")


async def test_missing_source_is_reported(sshd: SshdServer, collector: Collector) -> None:
    async with streaming(sshd, collector):
        await collector.wait_for(
            lambda: any(s.state is HostState.SOURCE_NOT_FOUND for s in collector.statuses)
        )
    status = next(s for s in collector.statuses if s.state is HostState.SOURCE_NOT_FOUND)
    assert "no Postal logs found" in status.detail


async def test_unsafe_files_glob_is_refused(sshd: SshdServer, collector: Collector) -> None:
    async with streaming(sshd, collector, log_source="files:/tmp/x;touch /tmp/pwned"):
        await collector.wait_for(
            lambda: any(s.state is HostState.SOURCE_NOT_FOUND for s in collector.statuses)
        )
    assert "may only hold" in collector.statuses[-2].detail


def test_bench_runs_end_to_end_and_prints_json_last() -> None:
    root = Path(__file__).resolve().parents[2]
    if not Path("/usr/sbin/sshd").exists():
        missing_service("OpenSSH sshd is not installed")
    result = subprocess.run(
        [sys.executable, str(root / "bench" / "ssh_ingest.py"), "--quick", "--lines", "5000"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert data["bench"] == "ssh_ingest" and data["unit"] == "lines/s" and data["lines"] == 5000
    assert data["value"] > 0 and data["ceiling"] > 0 and data["ingest_value"] > 0
    assert data["ratio"] == pytest.approx(data["ceiling_seconds"] / data["seconds"], rel=0.01)
    assert data["target"] == 0.6


async def test_docker_cli_errors_become_status_not_log_lines(sshd: SshdServer, collector: Collector) -> None:
    sshd.add_container("postal-smtp-1", "smtp", rate=1000, count=50)
    async with streaming(sshd, collector):
        await collector.wait_for(lambda: len(collector.lines("smtp")) == 50)
        (sshd.state_dir / "logs" / "postal-smtp-1.json").unlink()  # the container disappears
        sshd.restart()
        await collector.wait_for(lambda: any("No such container" in s.detail for s in collector.statuses))
    assert collector.numbers("smtp") == list(range(50))
    assert not any(b"No such container" in line for line in collector.lines("smtp"))
    status = next(s for s in collector.statuses if "No such container" in s.detail)
    assert status.state is HostState.CONNECTED and status.detail.startswith(
        "smtp: Error response from daemon"
    )
