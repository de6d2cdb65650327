"""A fault-injecting TCP proxy in front of a real server (MariaDB, sshd): faults injected for real.

The proxy runs its own event loop in a thread, so sync tests, async tests, subprocess tests and the soak
benchmark use it the same way::

    with FaultProxy("127.0.0.1", 3306) as proxy:
        config = ...(host="127.0.0.1", port=proxy.port)
        proxy.stall()               # accept, then never answer (and hold what is in flight)
        proxy.refuse()              # nothing listens: connections are refused
        proxy.drop_after(200)       # cut each new connection after 200 bytes from the server
        proxy.swallow("COMMIT")     # forward that statement, drop the server's reply, cut the connection
        proxy.heal()                # forward normally again (and listen again after refuse)

``swallow`` reads MySQL's client packets (``COM_QUERY``): it only works on a plaintext MySQL session.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

COM_QUERY = 0x03


@dataclass
class _Mode:
    stall: bool = False
    drop_after: int | None = None
    swallow: str | None = None
    swallowed: int = 0
    """How many replies were swallowed so far."""


@dataclass(eq=False)
class _Conn:
    client: asyncio.StreamWriter
    server: asyncio.StreamWriter
    to_client: int = 0
    cut: asyncio.Event = field(default_factory=asyncio.Event)


class FaultProxy:
    """Forwards ``127.0.0.1:<port>`` to ``target_host:target_port``, with faults on demand."""

    def __init__(self, target_host: str, target_port: int, port: int = 0, *, mysql: bool = True) -> None:
        self.target = (target_host, target_port)
        self.mysql = mysql
        """Read the client's MySQL packets (for ``swallow``); False forwards bytes as they come (SSH)."""
        self.mode = _Mode()
        self.connections_seen = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-proxy", daemon=True)
        self._server: asyncio.Server | None = None
        self._conns: set[_Conn] = set()
        self._stalled: set[asyncio.StreamWriter] = set()
        if port == 0:
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                port = int(sock.getsockname()[1])
        self.port = port

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> FaultProxy:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Start the thread and listen."""
        self._thread.start()
        self._call(self._listen())

    def close(self) -> None:
        """Stop listening, cut every connection, stop the thread."""
        with contextlib.suppress(Exception):
            self._call(self._shutdown())
        with contextlib.suppress(Exception):
            self._call(self._stop_tasks())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    # ------------------------------------------------------------------ faults

    def heal(self) -> None:
        """Forward normally; listen again if refusing; stalled connections are cut (their state is lost)."""
        self._call(self._heal())

    def stall(self) -> None:
        """New and existing connections: nothing is forwarded any more, nothing is closed."""
        self.mode.stall = True

    def refuse(self) -> None:
        """Stop listening and cut every connection (a database or sshd that went away)."""
        self._call(self._refuse())

    def drop_after(self, nbytes: int) -> None:
        """Cut each connection once it has passed ``nbytes`` from the server to the client."""
        self.mode.drop_after = nbytes

    def swallow(self, statement: str) -> None:
        """Forward the next ``statement`` (e.g. ``COMMIT``) but drop the server's reply and cut the client."""
        self.mode.swallow = statement.strip().upper()

    def cut_all(self) -> None:
        """Cut every open connection now (the listener stays)."""
        self._call(self._cut_all())

    @property
    def swallowed(self) -> int:
        """Replies swallowed so far."""
        return self.mode.swallowed

    # ------------------------------------------------------------------ internals

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port, reuse_address=True)

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        await self._cut_all()

    async def _stop_tasks(self) -> None:
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _refuse(self) -> None:
        await self._shutdown()

    async def _heal(self) -> None:
        stalled = self.mode.stall
        self.mode = _Mode(swallowed=self.mode.swallowed)
        if stalled:
            await self._cut_all()
        if self._server is None:
            await self._listen()

    async def _cut_all(self) -> None:
        for conn in list(self._conns):
            conn.cut.set()
            for w in (conn.client, conn.server):
                with contextlib.suppress(Exception):
                    w.close()
        for w in list(self._stalled):
            with contextlib.suppress(Exception):
                w.close()
        self._stalled.clear()
        self._conns.clear()

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self.connections_seen += 1
        if self.mode.stall:
            self._stalled.add(client_w)  # accepted, never answered
            return
        try:
            server_r, server_w = await asyncio.open_connection(*self.target)
        except OSError:
            client_w.close()
            return
        conn = _Conn(client_w, server_w)
        self._conns.add(conn)
        swallow_next = asyncio.Event()
        try:
            await asyncio.gather(
                self._upstream(conn, client_r, server_w, swallow_next),
                self._downstream(conn, server_r, client_w, swallow_next),
            )
        finally:
            self._conns.discard(conn)
            for w in (client_w, server_w):
                with contextlib.suppress(Exception):
                    w.close()

    async def _wait_unstalled(self, conn: _Conn) -> bool:
        while self.mode.stall and not conn.cut.is_set():
            await asyncio.sleep(0.02)
        return not conn.cut.is_set()

    async def _upstream(
        self,
        conn: _Conn,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        swallow_next: asyncio.Event,
    ) -> None:
        """Client → server, packet by packet (to see which statement is sent)."""
        buf = b""
        with contextlib.suppress(OSError, ConnectionError):
            while data := await reader.read(65536):
                if not await self._wait_unstalled(conn):
                    return
                if not self.mysql:
                    writer.write(data)
                    await writer.drain()
                    continue
                buf += data
                while len(buf) >= 4:
                    size = int.from_bytes(buf[:3], "little")
                    if len(buf) < 4 + size:
                        break
                    packet, buf = buf[: 4 + size], buf[4 + size :]
                    wanted = self.mode.swallow
                    if wanted and packet[4:5] == bytes([COM_QUERY]):
                        text = packet[5:].decode("utf-8", "replace").strip().upper()
                        if text == wanted:
                            self.mode.swallow = None
                            swallow_next.set()
                    writer.write(packet)
                await writer.drain()
        writer.close()

    async def _downstream(
        self,
        conn: _Conn,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        swallow_next: asyncio.Event,
    ) -> None:
        """Server → client, with stall, drop-after and swallow."""
        with contextlib.suppress(OSError, ConnectionError):
            while data := await reader.read(65536):
                if not await self._wait_unstalled(conn):
                    return
                if swallow_next.is_set():
                    self.mode.swallowed += 1
                    conn.cut.set()
                    writer.close()  # the reply never reaches the client
                    conn.server.close()
                    return
                limit = self.mode.drop_after
                if limit is not None and conn.to_client + len(data) > limit:
                    writer.write(data[: max(0, limit - conn.to_client)])
                    with contextlib.suppress(Exception):
                        await writer.drain()
                    conn.cut.set()
                    writer.close()
                    conn.server.close()
                    return
                conn.to_client += len(data)
                writer.write(data)
                await writer.drain()
        writer.close()


@contextlib.contextmanager
def fault_proxy(host: str, port: int, *, mysql: bool = True) -> Iterator[FaultProxy]:
    """A started :class:`FaultProxy` (closed on exit)."""
    proxy = FaultProxy(host, port, mysql=mysql)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.close()
