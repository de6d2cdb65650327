"""Background activity of the fleet: admin web requests, scheduled tasks, scanners and stderr noise.

None of it depends on the mail traffic, but it is what makes the logs look like a real installation:
the ``tasks`` thread ticking every minute, an operator browsing the UI, a few password guesses an
hour from the Internet (sometimes with hostile EHLO names), a Ruby thread crash report now and then.
"""

from __future__ import annotations

import random

from postaltop.core.sim import lines as L
from postaltop.core.sim.ports import Action, FleetPort
from postaltop.core.sim.traffic import day_factor, next_arrival

SMTP_HOSTS = ("mx1", "mx2")
WORKER_HOSTS = ("mx1", "mx2", "mx3")
WEB_HOST = "mx1"
TASKS_HOST = "mx3"
"""The worker that holds the ``tasks`` role in ``worker_roles`` runs the scheduled tasks."""
OPERATOR_IP = "192.0.2.77"


def next_slot(now: float, period: int, offset: int) -> float:
    """The first time at or after ``now`` that is ``offset`` seconds into a ``period``."""
    base = (now - offset) // period * period + offset
    return base + period if base < now else base


class Background:
    """Schedules and renders the fleet's background activity."""

    def __init__(self, fleet: FleetPort) -> None:
        self.fleet = fleet

    def install(self) -> None:
        """Schedule every background process from the fleet's start."""
        fleet = self.fleet
        fleet.schedule(fleet.start, self._web_process)
        fleet.schedule(fleet.start, self._scanner_process)
        fleet.schedule(fleet.start + fleet.rng.uniform(1800, 7200), self._thread_crash)
        for task, period, offset in L.SCHEDULED_TASKS:
            fleet.schedule(next_slot(fleet.start, period, offset), self._task_action(task, period, offset))

    def web_line(
        self,
        method: str,
        path: str,
        status: int,
        route: tuple[str, str, str],
        ip: str,
        view_ms: float,
        db_ms: float,
    ) -> str:
        """A request line with fresh ``transaction`` and ``request_id`` values (``route`` =
        controller, action, format)."""
        rng = self.fleet.rng
        request_id = f"{rng.getrandbits(128):032x}"
        request_id = (
            f"{request_id[:8]}-{request_id[8:12]}-4{request_id[13:16]}-a{request_id[17:20]}-{request_id[20:]}"
        )
        return L.web_request(
            method,
            path,
            status,
            route[0],
            route[1],
            route[2],
            f"{rng.getrandbits(80):020x}",
            request_id,
            ip,
            view_ms,
            db_ms,
        )

    def _web_process(self, ts: float) -> None:
        rng = self.fleet.rng
        rate = self.fleet.rendered_rate(ts, 0.25 * day_factor(ts))
        when, arrives = next_arrival(rng, ts, rate, self.fleet.arrival_horizon(ts))
        if arrives:
            self.fleet.schedule(when, self._web_request)
        self.fleet.schedule(when, self._web_process)

    def _web_request(self, ts: float) -> None:
        """An operator browsing the admin UI."""
        rng = self.fleet.rng
        method, template, controller, action, fmt, _ = rng.choices(
            L.WEB_ROUTES, [r[5] for r in L.WEB_ROUTES]
        )[0]
        server = rng.choice(self.fleet.installation.servers)
        path = template.format(
            org=server.organization.permalink,
            srv=server.permalink,
            id=server.next_message_id - rng.randrange(1, 5000),
        )
        view = 8 + rng.expovariate(1 / 40)
        status = 302 if path == "/login" and rng.random() < 0.3 else 200
        self.fleet.emit(
            ts,
            WEB_HOST,
            "web",
            self.web_line(
                method,
                path,
                status,
                (controller, action, fmt),
                "192.0.2.77",
                view,
                2 + rng.expovariate(1 / 8),
            ),
        )

    def _scanner_process(self, ts: float) -> None:
        """Internet background noise: a few AUTH guesses an hour from random addresses."""
        rng = self.fleet.rng
        when, arrives = next_arrival(rng, ts, 2.0 / 3600, horizon=600)
        if arrives:
            ip = f"{rng.choice(('198.51.100', '203.0.113'))}.{rng.randrange(150, 254)}"
            helo = rng.choice(L.HOSTILE_HELOS) if rng.random() < 0.15 else rng.choice(L.SCANNER_HELOS)
            attempts = rng.randint(1, 2)
            self.fleet.schedule(when, lambda t: self.auth_attack_session(t, ip, attempts, rng, helo=helo))
        self.fleet.schedule(when, self._scanner_process)

    def auth_attack_session(
        self, ts: float, ip: str, attempts: int, rng: random.Random, helo: str = "User"
    ) -> float:
        """Render a connection that guesses SMTP passwords ``attempts`` times and fails each time.

        Returns:
            The time the connection closed.
        """
        host = SMTP_HOSTS[rng.random() < 0.5]
        trace = self.fleet.random_id(rng)
        t = ts
        emit = self.fleet.emit
        emit(t, host, "smtp", L.smtp_debug(f"Client identified as {ip}", trace))
        t += 0.02
        emit(t, host, "smtp", L.smtp_in(f"EHLO {helo}", trace))
        for reply in L.EHLO_REPLY:
            emit(t, host, "smtp", L.smtp_out(reply, trace))
        for _ in range(attempts):
            t += 0.05 + rng.random() * 0.3
            if rng.random() < 0.5:
                emit(t, host, "smtp", L.smtp_in("AUTH LOGIN", trace))
                emit(t, host, "smtp", L.smtp_out("334 VXNlcm5hbWU6", trace))
                t += 0.02
                emit(
                    t,
                    host,
                    "smtp",
                    L.smtp_in(rng.choice(("YWRtaW4=", "aW5mbw==", "dGVzdA==", "c3VwcG9ydA==")), trace),
                )
                emit(t, host, "smtp", L.smtp_out("334 UGFzc3dvcmQ6", trace))
                t += 0.02
                emit(t, host, "smtp", L.smtp_in("[redacted]", trace))
            else:
                emit(t, host, "smtp", L.smtp_in("AUTH PLAIN [redacted]", trace))
            t += 0.003
            self.fleet.counters.auth_failure(t, ip)
            emit(t, host, "smtp", L.smtp_auth_failure(ip, trace))
            emit(t, host, "smtp", L.smtp_out("535 Invalid credential", trace))
        emit(t + 0.01, host, "smtp", L.smtp_debug("Connection closed", trace))
        return t + 0.01

    def _task_action(self, task: str, period: int, offset: int) -> Action:
        def run(ts: float) -> None:
            t = ts + 0.05 + self.fleet.rng.random() * 0.5
            tags = L.task_tags(task)
            self.fleet.emit(t, TASKS_HOST, "worker", L.info("running task", tags))
            if task == "CheckAllDNSScheduledTask":
                for sender in sorted(
                    {s.split("@")[1] for srv in self.fleet.installation.servers for s in srv.senders}
                ):
                    t += 0.05 + self.fleet.rng.random() * 0.2
                    self.fleet.emit(
                        t, TASKS_HOST, "worker", L.info(f"checking DNS for domain: {sender}", tags)
                    )
            elif task == "ProcessMessageRetentionScheduledTask":
                for srv in self.fleet.installation.servers:
                    t += 0.2 + self.fleet.rng.random()
                    text = f"Tidying messages for {srv.full_permalink} (ID: {srv.id}). Keeping 60 days."
                    self.fleet.emit(t, TASKS_HOST, "worker", L.info(text, tags))
            nxt = next_slot(ts + 1, period, offset)
            t += 0.01 + self.fleet.rng.random() * 0.05
            self.fleet.emit(
                t,
                TASKS_HOST,
                "worker",
                L.info(f"scheduling task to next run at {self.fleet.stamps.utc(nxt)}", tags),
            )
            self.fleet.schedule(nxt, run)

        return run

    def _thread_crash(self, ts: float) -> None:
        """stderr noise: Ruby's report of a crashed thread, interleaved by ``docker logs``."""
        host = self.fleet.rng.choice(WORKER_HOSTS)
        for text in L.THREAD_CRASH:
            self.fleet.emit_raw(ts, host, "worker", text)
        self.fleet.schedule(ts + self.fleet.rng.uniform(2 * 3600, 6 * 3600), self._thread_crash)
