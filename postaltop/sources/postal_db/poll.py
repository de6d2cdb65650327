"""The poll loop: one cycle's figures into a :class:`~postaltop.core.dbmetrics.PollResult`, never raising."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from postaltop.core import dbmetrics as dm
from postaltop.sources.postal_db.connect_state import ConnectReads
from postaltop.sources.postal_db.errors import LOST_CONNECTION, UNREACHABLE, QueryTimeout, error_code
from postaltop.sources.postal_db.windows import Raw

_STALE_REASON = {
    "not-answering": "database not answering",
    "auth-failed": "database login refused",
}
_STALE_REASON.update(
    dict.fromkeys(
        ("refused", "unreachable", "error", "missing-grant", "ok", "degraded", ""), "database unreachable"
    )
)


class PostalDbSource(ConnectReads):
    """Reads Postal's main and message databases; see :mod:`postaltop.sources.postal_db`."""

    async def samples(self) -> AsyncIterator[dm.PollResult]:
        """Poll forever, every ``poll_interval`` seconds; never raises (status results instead)."""
        failures = 0
        while True:
            started = time.monotonic()
            if self._pool is None:
                try:
                    self.status = "connecting"
                    await self.connect()
                    failures = 0
                except Exception as exc:
                    delay = dm.backoff_delay(
                        failures, self._backoff_base, self._backoff_cap, self._rng.random()
                    )
                    failures += 1
                    self.state, self.status = self._outage(exc)
                    # The servers seen before keep their last figures, flagged stale with their age.
                    now = self._db_now_estimate()
                    yield dm.PollResult(
                        state=self.state,
                        started_at=self._clock(),
                        duration=time.monotonic() - started,
                        connected=False,
                        status=f"{self.status}; retrying in {delay:.2f} s",
                        servers=tuple(self._servers),
                        samples=tuple(
                            dm.mark_stale(self._last_good.get(s.id), s.id, now, _STALE_REASON[self.state])
                            for s in self._servers
                        ),
                        errors=(self.status,),
                        retry_in=delay,
                    )
                    await asyncio.sleep(delay)
                    continue
            result = await self.poll_once()
            if not result.connected:
                await self.close(force=True)
            yield result
            if self._pool is not None:
                await asyncio.sleep(max(0.0, self.config.poll_interval - (time.monotonic() - started)))

    async def poll_once(self) -> dm.PollResult:
        """One cycle: every figure of every live server. Never raises."""
        started_wall = self._clock()
        started = time.monotonic()
        deadline = started + self.config.query_timeout
        self._queries = 0
        errors: list[str] = []
        try:
            if time.monotonic() - self._discovered_at > self._rediscover_every:
                servers = await self.discover(deadline)
            else:
                servers = await self._read_servers(deadline)
        except Exception as exc:
            return self._main_failure(exc, started_wall, started)
        ids = [s.id for s in servers]
        queue_outcome, raws = await asyncio.gather(
            self._read_queue(ids, deadline),
            self._read_all(servers, started, deadline),
            return_exceptions=True,
        )
        queue: dict[int, tuple[Any, ...]] = {}
        if isinstance(queue_outcome, BaseException):
            if not isinstance(queue_outcome, Exception):
                raise queue_outcome
            if error_code(queue_outcome) in LOST_CONNECTION | UNREACHABLE:
                return self._main_failure(queue_outcome, started_wall, started)
            errors.append(f"queue: {self._describe(queue_outcome, self.config.database, main=True)}")
        else:
            queue = queue_outcome
        if isinstance(raws, BaseException):
            raise raws  # _read_all never raises Exceptions (cancellation only)
        await self._learn_credentials(
            {int(r[1]) for raw in raws.values() if isinstance(raw, Raw) for r in raw.msg_rows if r[1]},
            deadline,
        )
        samples, creds, domains, cred_domains = self._figures(servers, raws, queue, errors)
        self.status = "ok" if not errors else f"{len(errors)} problem(s)"
        self.state = dm.degraded_state(errors)
        self._answered()
        return dm.PollResult(
            state=self.state,
            started_at=started_wall,
            duration=time.monotonic() - started,
            connected=True,
            status=self.status,
            servers=tuple(servers),
            samples=tuple(samples),
            credentials=tuple(creds),
            domains=tuple(domains),
            errors=tuple(errors),
            queries=self._queries,
            credential_domains=tuple(cred_domains),
        )

    def _figures(
        self,
        servers: Sequence[dm.ServerInfo],
        raws: Mapping[int, Raw | Exception],
        queue: Mapping[int, tuple[Any, ...]],
        errors: list[str],
    ) -> tuple[
        list[dm.ServerSample],
        list[dm.CredentialSample],
        list[dm.DomainSample],
        list[dm.CredentialDomainSample],
    ]:
        """Each server's sample, credentials, top domains, credential domains; errors into ``errors``."""
        outcomes = [self._finish(s, raws[s.id], queue.get(s.id)) for s in servers]
        samples: list[dm.ServerSample] = []
        creds: list[dm.CredentialSample] = []
        domains: list[dm.DomainSample] = []
        cred_domains: list[dm.CredentialDomainSample] = []
        for server, (sample, server_creds, server_domains) in zip(servers, outcomes, strict=True):
            samples.append(sample)
            creds.extend(server_creds)
            domains.extend(server_domains)
            raw = raws[server.id]
            if isinstance(raw, Raw):
                cred_domains.extend(
                    dm.credential_domains(
                        server.id,
                        ((r[0], None if r[1] is None else int(r[1]), r[2], int(r[3])) for r in raw.msg_rows),
                    )
                )
            if sample.error:
                errors.append(f"{server.full_permalink} (#{server.id}): {sample.error}")
        return samples, creds, domains, cred_domains

    def _main_failure(self, exc: Exception, started_wall: float, started: float) -> dm.PollResult:
        code = error_code(exc)
        timed_out = isinstance(exc, QueryTimeout | TimeoutError)
        connected = code not in LOST_CONNECTION | UNREACHABLE and not timed_out
        message = self._describe(exc, self.config.database, main=True)
        if connected:
            self.status = message
            self.state = dm.classify_failure(code, message, timed_out=False)
            self._answered()  # it answered, with an error
        else:
            self.state, self.status = self._outage(exc)
        now = self._db_now_estimate()
        return dm.PollResult(
            state=self.state,
            started_at=started_wall,
            duration=time.monotonic() - started,
            connected=connected,
            status=self.status,
            servers=tuple(self._servers),
            samples=tuple(
                dm.mark_stale(self._last_good.get(s.id), s.id, now, message) for s in self._servers
            ),
            errors=(self.status,),
            queries=self._queries,
        )

    def reset_windows(self) -> None:
        """Forget the id windows (the next poll seeds them again)."""
        self._cursors.clear()
