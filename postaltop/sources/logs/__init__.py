"""Stream Postal's logs from one host over SSH: find the sources, follow them, resume after faults.

Per host, :class:`HostLogStream` keeps one SSH connection and runs one remote process (one SSH
channel) per component: ``docker logs -f --timestamps`` for each Postal container, ``journalctl -f
-o json`` for each Postal unit, or ``tail -c +N -F`` for each v2 log file. Nothing is installed on
the host: plain SSH and commands already there.

Output is read in 256 KiB chunks and split by :class:`~postaltop.core.linesplit.LineSplitter`
(line-by-line async iteration is ~5x slower). Each batch goes through the stream's resume filter
(:mod:`postaltop.core.resume`) before the sink sees it, so after a reconnect, which replays from the
last position, no line is lost or delivered twice. The sink is awaited: a slow consumer stops our
reads, the SSH window fills and the remote process blocks; nothing buffers without bou
The modules: ``discovery`` (which logs a host has), ``commands`` (the remote shell commands),
``component`` (one followed log and its resume position), ``host`` (:class:`HostLogStream`: the
connection, reconnects and backoff) and ``search`` (one-off searches for ``postaltop trace``).
"""

from postaltop.sources.logs.commands import (
    FOLLOW_PAUSE,
    FOLLOW_POLL,
    ROTATED_EXIT,
    TRUNCATED_EXIT,
    file_state_script,
    follow_command,
    read_command,
    search_command,
    since_seconds,
)
from postaltop.sources.logs.component import (
    CHANNEL_TIMEOUT,
    CHANNEL_WINDOW,
    MAX_PACKET,
    READ_CHUNK,
    ComponentStream,
    Sink,
)
from postaltop.sources.logs.discovery import SourceNotFound, StreamSpec, discover_specs, parse_discovery
from postaltop.sources.logs.host import Backoff, HostLogStream, StatusCallback
from postaltop.sources.logs.search import search_stream

__all__ = [
    "CHANNEL_TIMEOUT",
    "CHANNEL_WINDOW",
    "FOLLOW_PAUSE",
    "FOLLOW_POLL",
    "MAX_PACKET",
    "READ_CHUNK",
    "ROTATED_EXIT",
    "TRUNCATED_EXIT",
    "Backoff",
    "ComponentStream",
    "HostLogStream",
    "Sink",
    "SourceNotFound",
    "StatusCallback",
    "StreamSpec",
    "discover_specs",
    "file_state_script",
    "follow_command",
    "parse_discovery",
    "read_command",
    "search_command",
    "search_stream",
    "since_seconds",
]
