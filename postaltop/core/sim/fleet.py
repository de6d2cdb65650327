"""The simulated fleet: a discrete-event simulation of three Postal hosts that renders their logs.

Why an event queue: every happening (an SMTP session, a worker dequeue, a retry, a scheduled
task, an attacker's connection) is an action ``(time, seq, callable)`` in one heap, executed in
strict time order. Actions draw from the fleet's ``random.Random`` instances in that order, so the
output depends only on seed, scenario and start, never on how :meth:`Fleet.advance` calls are
split. Worker decisions (hold, suspension, send limit) are taken when the dequeue action runs, so
flipping a credential's ``hold`` between two ``advance`` calls affects exactly the messages the
worker picks up afterwards, as in Postal (facts §3.0).

Lines produced by an action may lie slightly in its future (a session lasts a second); they wait in
an output heap until ``advance`` reaches them.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from heapq import heappop, heappush

from postaltop.core.sim import lines as L
from postaltop.core.sim.background import SMTP_HOSTS, WEB_HOST, Background
from postaltop.core.sim.model import (
    UPPER_ALNUM,
    Counters,
    Credential,
    Domain,
    Installation,
    MailServer,
    build_installation,
)
from postaltop.core.sim.ports import Action
from postaltop.core.sim.sampling import Sampling
from postaltop.core.sim.scenarios import SCENARIOS, Param, Scenario
from postaltop.core.sim.traffic import (
    RECIPIENTS_PER_MESSAGE,
    TRANSACTIONS_PER_SESSION,
    message_rate,
    next_arrival,
    pick_count,
)
from postaltop.core.sim.worker import Dequeuer, QueuedMessage

DEFAULT_START = 1777366800.0
"""2026-04-28 09:00:00 UTC, a Tuesday morning: a busy hour for snapshots and tests."""

HOST_COMPONENTS: dict[str, tuple[str, ...]] = {
    "mx1": ("web", "smtp", "worker"),
    "mx2": ("smtp", "worker"),
    "mx3": ("worker",),
}
"""Which Postal containers run on which simulated host."""


@dataclass(frozen=True, slots=True)
class SimLine:
    """One physical log line as ``docker logs <host's container>`` prints it (no trailing newline)."""

    ts: float
    host: str
    component: str
    """``web``, ``worker`` or ``smtp`` (the compose service)."""
    line: bytes


class Fleet:
    """Three simulated Postal hosts, two organizations, four mail servers.

    Args:
        seed: seed of every random choice; same seed, scenario and start give identical bytes.
        scenario: a key of :data:`~postaltop.core.sim.SCENARIOS`.
        start: simulated UNIX time at which the simulation begins.
        volume: multiplier of the base message rate (tests use small volumes to stay fast).
        scenario_params: overrides of the scenario's parameters (see ``ScenarioSpec.params``).

    Raises:
        KeyError: for an unknown scenario name or parameter.
    """

    def __init__(
        self,
        seed: int = 1,
        scenario: str = "normal",
        start: float = DEFAULT_START,
        *,
        volume: float = 1.0,
        scenario_params: Mapping[str, Param] | None = None,
    ) -> None:
        spec = SCENARIOS[scenario]
        self.seed = seed
        self.scenario_name = scenario
        self.start = float(start)
        self.volume = volume
        self.installation: Installation = build_installation(random.Random(f"postaltop-model-{seed}"))
        self.counters = Counters()
        """Per-minute figures of the simulated message databases (see :class:`Counters`)."""
        self.hosts = HOST_COMPONENTS
        self.rng = random.Random(seed)
        """The normal traffic's random stream (scenarios draw from their own)."""
        self.sampling: Sampling | None = None
        """When set, normal traffic outside its full spans is thinned (a long review window)."""
        self._actions: list[tuple[float, int, Action]] = []
        self._out: list[tuple[float, int, SimLine]] = []
        self._seq = 0
        self._position = self.start
        self.stamps = L.Timestamps()
        self._next_queued_id = 88_000 + seed % 1000
        self.worker = Dequeuer(self)
        self._domain_weights = [d.weight for d in self.installation.domains]
        self.scenario: Scenario = spec.build(
            random.Random(f"postaltop-scenario-{seed}-{scenario}"), self.start, **dict(scenario_params or {})
        )
        for server in self.installation.servers:
            for cred in server.credentials:
                self.schedule(self.start, self._submission_process(cred))
        self.background = Background(self)
        self.background.install()
        self.scenario.install(self)

    # --- the event loop ------------------------------------------------------------------------

    @property
    def position(self) -> float:
        """Simulated time up to which lines have been returned."""
        return self._position

    def advance(self, until: float) -> list[SimLine]:
        """Run the simulation up to ``until`` and return every line with ``position <= ts < until``.

        Lines come in time order (ties in the order they were produced). Calling with ``until``
        at or before the current position returns nothing.
        """
        if until <= self._position:
            return []
        actions = self._actions
        out = self._out
        result: list[SimLine] = []
        append = result.append
        while actions and actions[0][0] < until:
            ts, _, action = heappop(actions)
            # Lines before this action's time are final (actions only emit at or after their own
            # time): move them out now so the output heap stays small.
            while out and out[0][0] < ts:
                append(heappop(out)[2])
            action(ts)
        while out and out[0][0] < until:
            append(heappop(out)[2])
        self._position = until
        return result

    def schedule(self, ts: float, action: Action) -> None:
        """Run ``action(ts)`` when the simulation reaches ``ts`` (never before the current action)."""
        self._seq += 1
        heappush(self._actions, (ts, self._seq, action))

    def emit(self, ts: float, host: str, component: str, text: str) -> None:
        """Queue one log record: ``text`` is everything after the timestamp (see :mod:`.lines`)."""
        self._seq += 1
        # Inlined lines.encode(): this runs for every line the demo shows.
        line = (self.stamps.prefix(ts) + text).encode("utf-8", "surrogateescape")
        heappush(self._out, (ts, self._seq, SimLine(ts, host, component, line)))

    def emit_raw(self, ts: float, host: str, component: str, text: str) -> None:
        """Queue a physical line with no timestamp (continuations, stderr noise)."""
        self._seq += 1
        heappush(self._out, (ts, self._seq, SimLine(ts, host, component, L.encode(text))))

    def rendered_rate(self, ts: float, rate: float) -> float:
        """The rate at which a thinnable process (normal traffic, admin requests) is rendered at ``ts``."""
        return rate if self.sampling is None else self.sampling.rate(ts, rate)

    def arrival_horizon(self, ts: float) -> float:
        """How far ahead a thinnable process draws its next arrival (30 s unless the window is sampled)."""
        return 30.0 if self.sampling is None else self.sampling.horizon(ts)

    def random_id(self, rng: random.Random | None = None) -> str:
        """A ``trace_id``/``log_id``: 8 upper-case alphanumerics."""
        return "".join((rng or self.rng).choices(UPPER_ALNUM, k=8))

    # --- outgoing submissions ------------------------------------------------------------------

    def _submission_process(self, cred: Credential) -> Action:
        """The Poisson process of one credential's submissions (SMTP sessions or API calls)."""
        server = self.installation.servers[cred.server_id - 1]
        weight = cred.weight / sum(c.weight for c in server.credentials)
        per_session = sum(n * p for n, p in TRANSACTIONS_PER_SESSION) if cred.type == "SMTP" else 1.0
        per_session *= sum(n * p for n, p in RECIPIENTS_PER_MESSAGE)

        def step(ts: float) -> None:
            rate = message_rate(ts, server.share * weight, server.profile, self.volume)
            rate *= self.scenario.volume_factor(server, ts) / per_session
            when, arrives = next_arrival(self.rng, ts, self.rendered_rate(ts, rate), self.arrival_horizon(ts))
            if arrives:
                if cred.type == "SMTP":
                    self.schedule(
                        when, lambda t: self.smtp_session(t, cred, self.rng.choice(cred.client_ips))
                    )
                else:
                    self.schedule(
                        when, lambda t: self.api_submission(t, cred, self.rng.choice(cred.client_ips))
                    )
            self.schedule(when, step)

        return step

    def pick_recipient(self, rng: random.Random | None = None) -> tuple[str, Domain]:
        """A plausible recipient address and its domain."""
        r = rng or self.rng
        domain = r.choices(self.installation.domains, self._domain_weights)[0]
        first, last = r.choice(L.FIRST_NAMES), r.choice(L.LAST_NAMES)
        shape = r.random()
        if shape < 0.35:
            local = f"{first}.{last}"
        elif shape < 0.6:
            local = f"{first}.{last}{r.randrange(1, 100)}"
        elif shape < 0.85:
            local = f"{first}{last[0]}{r.randrange(1, 1000)}"
        else:
            local = f"{first[0]}{last}"
        return f"{local}@{domain.name}", domain

    def smtp_session(
        self,
        ts: float,
        cred: Credential,
        ip: str,
        recipients: list[list[str]] | None = None,
        helo: str | None = None,
    ) -> float:
        """Render one authenticated SMTP session of ``cred`` from ``ip`` and queue what it submits.

        Args:
            ts: when the client connects.
            cred: the credential whose key the client sends.
            ip: the client's address.
            recipients: addresses per transaction; drawn at random when omitted.
            helo: the EHLO name; the credential's usual application host when omitted.

        Returns:
            The time the session ended.
        """
        rng = self.rng
        server = self.installation.servers[cred.server_id - 1]
        host = SMTP_HOSTS[rng.random() < 0.5]
        talk = _SmtpTalk(self, host, self.random_id(), ts)
        say, trace = talk.say, talk.trace
        say(L.smtp_debug(f"Client identified as {ip}", trace), 0.0)
        say(L.smtp_in(f"EHLO {helo or cred.helo}", trace), 0.01 + rng.random() * 0.03)
        for reply in L.EHLO_REPLY:
            say(L.smtp_out(reply, trace))
        say(L.smtp_in("AUTH PLAIN [redacted]", trace), 0.01)
        if cred.deleted:
            self.counters.auth_failure(talk.t, ip)
            say(L.smtp_auth_failure(ip, trace), 0.004)
            say(L.smtp_out("535 Invalid credential", trace), 0.001)
            say(L.smtp_in("QUIT", trace), 0.01)
            say(L.smtp_out("221 Closing Connection", trace))
            say(L.smtp_debug("Connection closed", trace), 0.001)
            return talk.t
        say(L.smtp_out(f"235 Granted for {server.full_permalink}", trace), 0.004)
        if recipients is None:
            recipients = [
                [self.pick_recipient()[0] for _ in range(pick_count(rng, RECIPIENTS_PER_MESSAGE))]
                for _ in range(pick_count(rng, TRANSACTIONS_PER_SESSION))
            ]
        for batch in recipients:
            if not self._smtp_transaction(talk, server, cred, batch):
                break
        say(L.smtp_in("QUIT", trace), 0.01)
        say(L.smtp_out("221 Closing Connection", trace))
        say(L.smtp_debug("Connection closed", trace), 0.001)
        return talk.t

    def _smtp_transaction(
        self, talk: _SmtpTalk, server: MailServer, cred: Credential, batch: list[str]
    ) -> bool:
        """One MAIL FROM .. DATA transaction of a session; False when no recipient was accepted."""
        rng = self.rng
        say, trace = talk.say, talk.trace
        sender = rng.choice(server.senders)
        say(L.smtp_in(f"MAIL FROM:<{sender}>", trace), 0.01 + rng.random() * 0.02)
        say(L.smtp_out("250 OK", trace))
        accepted: list[str] = []
        for rcpt in batch:
            say(L.smtp_in(f"RCPT TO:<{rcpt}>", trace), 0.005 + rng.random() * 0.01)
            if server.is_suspended:
                say(L.smtp_out("535 Mail server has been suspended", trace))
                continue
            say(L.smtp_debug(f"Added external address '{rcpt}'", trace))
            say(L.smtp_out("250 OK", trace), 0.001)
            accepted.append(rcpt)
        if not accepted:
            return False
        say(L.smtp_in("DATA", trace), 0.01)
        say(L.smtp_out("354 Go ahead", trace))
        first = rng.choice(L.FIRST_DATA_LINES).format(
            date=self.stamps.rfc2822(talk.t),
            sender=sender,
            token=self.random_id().lower(),
            domain=sender.split("@")[1],
        )
        say(L.smtp_in(first, trace), 0.005)
        say(L.smtp_debug("Not logging further message data.", trace))
        say(L.smtp_out("250 OK", trace), 0.05 + rng.random() * 0.4)
        for rcpt in accepted:
            self.create_outgoing(talk.t, server, cred, rcpt)
        return True

    def api_submission(self, ts: float, cred: Credential, ip: str) -> None:
        """Render one ``POST /api/v1/send/message`` and queue the messages it creates."""
        rng = self.rng
        server = self.installation.servers[cred.server_id - 1]
        db_ms = 4.0 + rng.random() * 20
        self.emit(
            ts + db_ms / 1000,
            WEB_HOST,
            "web",
            self.background.web_line(
                "POST", "/api/v1/send/message", 200, L.API_SEND_ROUTE[2:], ip, 0.3, db_ms
            ),
        )
        if cred.deleted or server.is_suspended:
            return  # the legacy API answers with an error body; nothing is created
        for _ in range(pick_count(rng, RECIPIENTS_PER_MESSAGE)):
            self.create_outgoing(ts + db_ms / 1000, server, cred, self.pick_recipient()[0])

    def create_outgoing(self, ts: float, server: MailServer, cred: Credential, rcpt: str) -> None:
        """Insert a ``messages`` row + ``queued_messages`` row and schedule the worker pickup."""
        domain_name = rcpt.rsplit("@", 1)[1]
        domain = next((d for d in self.installation.domains if d.name == domain_name), None)
        message_id = server.next_message_id
        server.next_message_id += 1
        self.counters.add(ts, "outgoing", server.id, cred.id, domain_name)
        self.worker.enqueue(
            QueuedMessage(
                self.next_queued_id(), server, message_id, cred, rcpt, domain, ts, f"outgoing-{domain_name}"
            ),
            ts,
        )

    def next_queued_id(self) -> int:
        """Allocate a ``queued_messages.id`` (one auto-increment sequence for the installation)."""
        self._next_queued_id += 1
        return self._next_queued_id

    def auth_attack_session(
        self, ts: float, ip: str, attempts: int, rng: random.Random, helo: str = "User"
    ) -> float:
        """Render a connection that guesses SMTP passwords ``attempts`` times (see :class:`Background`).

        Returns:
            The time the connection closed.
        """
        return self.background.auth_attack_session(ts, ip, attempts, rng, helo)


@dataclass(slots=True)
class _SmtpTalk:
    """One SMTP session's lines: each said ``gap`` seconds after the previous one, on one host and trace."""

    fleet: Fleet
    host: str
    trace: str
    t: float

    def say(self, text: str, gap: float = 0.002) -> None:
        self.t += gap
        self.fleet.emit(self.t, self.host, "smtp", text)
