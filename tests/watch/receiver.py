"""A local HTTP receiver standing in for Alertmanager, Slack and PagerDuty (stdlib, in a thread)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    """One request the receiver got."""

    path: str
    body: Any
    status: int


@dataclass
class Receiver:
    """Records every POST; answers with the queued statuses first, then ``default_status``."""

    server: ThreadingHTTPServer
    thread: threading.Thread
    requests: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    default_status: int = 200
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        """Base URL."""
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def bodies(self, path: str | None = None) -> list[Any]:
        """JSON bodies of the requests answered 2xx (optionally for one path)."""
        with self.lock:
            ok = [r for r in self.requests if 200 <= r.status < 300]
            return [r.body for r in ok if path is None or r.path == path]

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def start_receiver() -> Receiver:
    """A receiver on a free loopback port."""
    holder: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            receiver = holder["r"]
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
            with receiver.lock:
                status = receiver.statuses.pop(0) if receiver.statuses else receiver.default_status
                receiver.requests.append(Received(self.path, body, status))
            payload = b'{"status":"success"}'
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    receiver = Receiver(server, thread)
    holder["r"] = receiver
    thread.start()
    return receiver
