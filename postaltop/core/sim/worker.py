"""The simulated Postal worker: dequeues messages, applies Postal's holds, sends, retries, bounces.

Checks run in Postal's order (facts §3.0, ``MessageDequeuer``): server suspended, maximum attempts,
credential hold, send limit, ``live_stats`` increment, development mode, then the SMTP send.
Every outcome is logged with Postal's exact texts and counted in :class:`~.model.Counters`.
"""

from __future__ import annotations

from dataclasses import dataclass

from postaltop.core.sim import lines as L
from postaltop.core.sim.model import Credential, Domain, MailServer
from postaltop.core.sim.ports import FleetPort

MAX_ATTEMPTS = 18
"""``postal.default_maximum_delivery_attempts``."""
BATCH_LIMIT = 100
"""``postal.batch_queued_messages_limit``."""
BOUNCE_RATE = 0.004
"""Share of sent messages for which a bounce comes back later."""

HARD_FAIL_REPLIES = (
    "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in virtual mailbox table",
    "550 5.1.1 The email account that you tried to reach does not exist.",
    "554 5.7.1 Service unavailable; Client host blocked using zen.spamhaus.org",
    "552 5.2.2 Mailbox full",
)


@dataclass(slots=True)
class QueuedMessage:
    """A ``queued_messages`` row and what the worker needs to know about its message."""

    id: int
    server: MailServer
    message_id: int
    credential: Credential | None
    rcpt: str
    domain: Domain | None
    """Recipient domain for outgoing mail; ``None`` for incoming (bounces)."""
    created: float
    batch_key: str
    attempts: int = 0
    manual: bool = False
    taken: bool = False
    bounce_for: int = 0
    """For a bounce: the id of the outgoing message it reports on."""
    bounce_domain: str | None = None
    """For a bounce: the recipient domain of the message it reports on (for the counters)."""
    ticket: int = 0
    """Bumped on every enqueue so a stale pickup of a requeued message does nothing."""


class _Sender:
    """One ``SMTPSender`` of a dequeue batch: one ``log_id``, connected on first use."""

    __slots__ = ("connected", "log_id")

    def __init__(self, log_id: str) -> None:
        self.log_id = log_id
        self.connected = False


class Dequeuer:
    """The worker processes of the fleet (``WORKER_THREADS`` = 2 per host)."""

    def __init__(self, fleet: FleetPort) -> None:
        self.fleet = fleet
        self._ready: dict[str, list[QueuedMessage]] = {}

    def enqueue(self, qm: QueuedMessage, ready_at: float) -> None:
        """Make ``qm`` ready at ``ready_at``; some worker thread picks it up within ~5 s."""
        fleet = self.fleet

        qm.ticket += 1
        ticket = qm.ticket

        def ready(ts: float) -> None:
            self._ready.setdefault(qm.batch_key, []).append(qm)
            fleet.schedule(ts + 0.05 + fleet.rng.random() * 4.5, lambda t: self.dequeue(t, qm, ticket))

        fleet.schedule(ready_at, ready)

    def queue_depth(self) -> int:
        """Messages ready and waiting for a worker thread."""
        return sum(len(waiting) for waiting in self._ready.values())

    def dequeue(self, ts: float, qm: QueuedMessage, ticket: int) -> None:
        """A worker thread locks ``qm`` plus other ready rows of its batch key and processes them."""
        if qm.taken or qm.ticket != ticket:
            return  # already processed as part of another thread's batch (and maybe requeued)
        fleet = self.fleet
        rng = fleet.rng
        waiting = self._ready.pop(qm.batch_key, [])
        others = [m for m in waiting if m is not qm][:BATCH_LIMIT]
        if len(waiting) - 1 > BATCH_LIMIT:
            self._ready[qm.batch_key] = [m for m in waiting if m is not qm][BATCH_LIMIT:]
        qm.taken = True
        for other in others:
            other.taken = True
        host = rng.choice(("mx1", "mx2", "mx3"))
        group = L.worker_tags(f"work{rng.randrange(2)}", qm.id)
        t = ts
        fleet.emit(t, host, "worker", L.info("starting message unqueue", group))
        fleet.emit(t, host, "worker", L.info(f"queue latency is {ts - qm.created!r}s", group))
        if qm.domain is not None:
            found = f"found {len(others)} associated messages to process at the same time"
            found += f" batch_key={qm.batch_key}"
            fleet.emit(t, host, "worker", L.info(found, group))
        sender = _Sender(fleet.random_id())
        for message in (qm, *others):
            t = self._process(t + 0.002, host, group, message, sender)
        fleet.emit(t + 0.001, host, "worker", L.info("finished message unqueue", group))

    def _held(self, t: float, host: str, text: str, tags: str, qm: QueuedMessage) -> float:
        self.fleet.emit(t, host, "worker", L.info(text, tags))
        self._count(t, "held", qm)
        return t + 0.003

    def _count(self, t: float, metric: str, qm: QueuedMessage) -> None:
        cred_id = qm.credential.id if qm.credential is not None else None
        domain = qm.domain.name if qm.domain is not None else None
        self.fleet.counters.add(t, metric, qm.server.id, cred_id, domain)

    def _process(self, t: float, host: str, group: str, qm: QueuedMessage, sender: _Sender) -> float:
        fleet = self.fleet
        tags = L.message_tags(group, qm.id)
        server = qm.server
        if server.is_suspended:
            return self._held(t, host, "server is suspended, holding message", tags, qm)
        if qm.attempts >= MAX_ATTEMPTS:
            fleet.emit(
                t,
                host,
                "worker",
                L.info("message has reached maximum number of attempts, hard failing", tags),
            )
            self._count(t, "hard_failed", qm)
            return t + 0.003
        if qm.domain is None:
            return self._process_bounce(t, host, tags, qm)
        cred = qm.credential
        if cred is not None and cred.hold and not qm.manual:
            return self._held(t, host, "credential wants us to hold messages, holding", tags, qm)
        limit = server.send_limit
        if limit is not None and self._send_volume(server, t) >= limit:
            return self._held(
                t, host, f"server send limit has been exceeded, holding send_limit={limit}", tags, qm
            )
        self._increment_live_stats(server, t)
        self._count(t, "processed", qm)
        if server.mode == "Development" and not qm.manual:
            return self._held(t, host, "server is in development mode, holding", tags, qm)
        return self._send(t, host, tags, qm, qm.domain, sender)

    def _send(
        self, t: float, host: str, tags: str, qm: QueuedMessage, domain: Domain, sender: _Sender
    ) -> float:
        fleet = self.fleet
        rng = fleet.rng
        endpoint = f"{domain.mx_ip}:25 ({domain.mx_host})"
        if not sender.connected:
            t += 0.02 + rng.random() * 0.15
            fleet.emit(t, host, "worker", L.sender_info(f"Connected to {endpoint}", sender.log_id, tags))
            sender.connected = True
        fleet.emit(
            t,
            host,
            "worker",
            L.sender_info(
                f"Sending message {qm.server.id}::{qm.message_id} to {qm.rcpt}", sender.log_id, tags
            ),
        )
        t += 0.03 + rng.random() * 0.4
        soft, hard = fleet.scenario.failure_rates(
            qm.server, qm.credential, domain, t, domain.soft_fail, domain.hard_fail
        )
        roll = rng.random()
        if roll < hard:
            reply = rng.choice(HARD_FAIL_REPLIES).format(rcpt=qm.rcpt)
            first, rest = L.sender_error("Net::SMTPFatalError", reply, sender.log_id, tags)
            fleet.emit(t, host, "worker", first)
            fleet.emit_raw(t, host, "worker", rest)
            self._count(t, "hard_failed", qm)
        elif roll < hard + soft:
            first, rest = L.sender_error("Net::SMTPServerBusy", domain.deferral, sender.log_id, tags)
            fleet.emit(t, host, "worker", first)
            fleet.emit_raw(t, host, "worker", rest)
            self._count(t, "soft_failed", qm)
            # HasLocking#retry_later: 1.3**attempts * 5 minutes; picked up once retry_after < now - 30 s.
            retry_after = float(int(t + 1.3**qm.attempts * 300))
            qm.attempts += 1
            qm.taken = False
            text = f"message requeued for trying later retry_after={fleet.stamps.utc(retry_after)}"
            fleet.emit(t + 0.002, host, "worker", L.info(text, tags))
            self.enqueue(qm, retry_after + 30 + rng.random())
            return t + 0.004
        else:
            fleet.emit(
                t, host, "worker", L.sender_info(f"Accepted by {endpoint} for {qm.rcpt}", sender.log_id, tags)
            )
            self._count(t, "sent", qm)
            if rng.random() < fleet.scenario.bounce_rate(qm.server, t, BOUNCE_RATE):
                fleet.schedule(t + 60 + rng.random() * 1800, lambda ts: self.bounce_session(ts, qm, domain))
        fleet.emit(t + 0.002, host, "worker", L.info("message processing complete", tags))
        return t + 0.004

    @staticmethod
    def _send_volume(server: MailServer, t: float) -> int:
        """``live_stats.total(60, outgoing)``: processing attempts in the last 60 minutes."""
        cutoff = int(t // 60) * 60 - 3600
        window = server.live_minutes
        while window and window[0][0] < cutoff:
            window.popleft()
        return sum(count for _, count in window)

    @staticmethod
    def _increment_live_stats(server: MailServer, t: float) -> None:
        minute = int(t // 60) * 60
        window = server.live_minutes
        if window and window[-1][0] == minute:
            window[-1][1] += 1
        else:
            window.append([minute, 1])

    # --- bounces: a remote MTA reports a failure to the server's return path ---------------------

    def bounce_session(self, ts: float, original: QueuedMessage, domain: Domain) -> None:
        """Render the inbound SMTP session of a bounce and queue it as an incoming message."""
        fleet = self.fleet
        rng = fleet.rng
        server = original.server
        host = ("mx1", "mx2")[rng.random() < 0.5]
        trace = fleet.random_id()
        rcpt = f"{server.token}@{fleet.installation.return_path_domain}"
        t = ts
        script = [
            L.smtp_debug(f"Client identified as {domain.mx_ip}", trace),
            L.smtp_in(f"EHLO {domain.mx_host}", trace),
            *(L.smtp_out(r, trace) for r in L.EHLO_REPLY),
            L.smtp_in("MAIL FROM:<>", trace),
            L.smtp_out("250 OK", trace),
            L.smtp_in(f"RCPT TO:<{rcpt}>", trace),
        ]
        accepted = not server.is_suspended
        if accepted:
            script += [
                L.smtp_debug(f"Added bounce on server {server.id}", trace),
                L.smtp_out("250 OK", trace),
                L.smtp_in("DATA", trace),
                L.smtp_out("354 Go ahead", trace),
                L.smtp_in(f"Received: from {domain.mx_host} by {domain.mx_host}", trace),
                L.smtp_debug("Not logging further message data.", trace),
                L.smtp_out("250 OK", trace),
            ]
        else:
            script.append(L.smtp_out("535 Mail server has been suspended", trace))
        script += [
            L.smtp_in("QUIT", trace),
            L.smtp_out("221 Closing Connection", trace),
            L.smtp_debug("Connection closed", trace),
        ]
        for text in script:
            t += 0.004 + rng.random() * 0.01
            fleet.emit(t, host, "smtp", text)
        if not accepted:
            return
        message_id = server.next_message_id
        server.next_message_id += 1
        fleet.counters.add(t, "incoming", server.id, None, None)
        # The credential is kept only to attribute the Bounced delivery; incoming mail is never held for it.
        qm = QueuedMessage(
            fleet.next_queued_id(),
            server,
            message_id,
            original.credential,
            rcpt,
            None,
            t,
            "incoming",
            bounce_for=original.message_id,
            bounce_domain=domain.name,
        )
        self.enqueue(qm, t)

    def _process_bounce(self, t: float, host: str, tags: str, qm: QueuedMessage) -> float:
        fleet = self.fleet
        fleet.emit(t, host, "worker", L.info("message is incoming", tags))
        fleet.emit(t + 0.001, host, "worker", L.info("message is a bounce", tags))
        fleet.emit(t + 0.01, host, "worker", L.info(f"bounce linked with message {qm.bounce_for}", tags))
        cred_id = qm.credential.id if qm.credential is not None else None
        fleet.counters.add(t + 0.01, "bounced", qm.server.id, cred_id, qm.bounce_domain)
        return t + 0.012
