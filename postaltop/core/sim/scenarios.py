"""Incident scenarios: how traffic departs from normal over time.

A :class:`Scenario` changes the fleet through four hooks: ``install`` (schedule its own actions,
e.g. an attacker's connections), ``volume_factor`` (multiply a server's message rate),
``failure_rates`` (change delivery outcomes) and ``bounce_rate``. Each draws from its own
``random.Random`` so the normal traffic before an incident's onset is identical to ``normal``.

:data:`SCENARIOS` maps a name to a :class:`ScenarioSpec`; add one with :func:`register`.
Times in parameters are seconds after the fleet's start.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from postaltop.core.sim.ports import FleetPort, ScenarioRates

if TYPE_CHECKING:
    from postaltop.core.sim.model import Credential, Domain, MailServer

Param = float | str


class Scenario(ScenarioRates):
    """Normal traffic; subclasses override the hooks they need (``failure_rates`` and ``bounce_rate``
    come from :class:`~postaltop.core.sim.ports.ScenarioRates`)."""

    def __init__(self, rng: random.Random, start: float) -> None:
        self.rng = rng
        self.start = start

    def install(self, fleet: FleetPort) -> None:
        """Schedule the scenario's own actions on ``fleet`` (called once, at construction)."""

    def volume_factor(self, server: MailServer, ts: float) -> float:
        """Multiplier of ``server``'s normal message rate at ``ts``."""
        return 1.0

    def incident(self) -> tuple[float, float] | None:
        """``[start, end)`` of the incident in simulated time; None for none, or one with no end (a trend)."""
        return None

    def _active(self, ts: float, onset: float, duration: float) -> bool:
        return self.start + onset <= ts < self.start + onset + duration


Factory = Callable[[random.Random, float, Mapping[str, Param]], Scenario]


@dataclass(frozen=True, slots=True)
class ScenarioSpec:
    """A named scenario: one-line description, factory and default parameters."""

    name: str
    description: str
    factory: Factory
    params: Mapping[str, Param] = field(default_factory=dict)

    def build(self, rng: random.Random, start: float, **overrides: Param) -> Scenario:
        """Create the scenario for a fleet starting at ``start``, with parameters overridden.

        Raises:
            KeyError: for a parameter the scenario does not have.
        """
        unknown = set(overrides) - set(self.params)
        if unknown:
            raise KeyError(f"scenario {self.name!r} has no parameter(s) {sorted(unknown)}")
        return self.factory(rng, start, {**self.params, **overrides})


SCENARIOS: dict[str, ScenarioSpec] = {}
"""Every known scenario by name, in registration order (add with :func:`register`)."""


def register(spec: ScenarioSpec) -> ScenarioSpec:
    """Add ``spec`` to :data:`SCENARIOS`.

    Raises:
        ValueError: if the name is taken.
    """
    if spec.name in SCENARIOS:
        raise ValueError(f"scenario {spec.name!r} already registered")
    SCENARIOS[spec.name] = spec
    return spec


def _f(params: Mapping[str, Param], key: str) -> float:
    return float(params[key])


class BruteForce(Scenario):
    """A few addresses guess SMTP passwords, faster and faster, for ``duration`` seconds."""

    def __init__(self, rng: random.Random, start: float, params: Mapping[str, Param]) -> None:
        super().__init__(rng, start)
        self.onset = _f(params, "onset")
        self.duration = _f(params, "duration")
        self.first_rate = _f(params, "first_rate") / 60.0
        self.last_rate = _f(params, "last_rate") / 60.0
        self.ips = [f"192.0.2.{rng.randrange(200, 250)}" for _ in range(int(_f(params, "ips")))]

    def incident(self) -> tuple[float, float] | None:
        """From the onset for ``duration`` seconds."""
        return (self.start + self.onset, self.start + self.onset + self.duration)

    def attempts_per_second(self, ts: float) -> float:
        """Attack intensity: grows linearly from ``first_rate`` to ``last_rate`` (per minute)."""
        if not self._active(ts, self.onset, self.duration):
            return 0.0
        frac = (ts - self.start - self.onset) / self.duration
        return self.first_rate + (self.last_rate - self.first_rate) * frac

    def install(self, fleet: FleetPort) -> None:
        """Schedule the first attacker connection at the onset."""
        helo = self.rng.choice(("User", "ylmf-pc", "WIN-CLJ1B0GQ6JP"))

        def connect(ts: float) -> None:
            rate = self.attempts_per_second(ts)
            if rate <= 0.0:
                return
            attempts = self.rng.randint(1, 5)
            fleet.auth_attack_session(ts, self.rng.choice(self.ips), attempts, self.rng, helo=helo)
            fleet.schedule(ts + self.rng.expovariate(rate / 3.0), connect)

        fleet.schedule(self.start + self.onset, connect)


class CompromisedCredential(Scenario):
    """A stolen SMTP key sends spam from a new address: volume, fan-out and failures jump.

    With ``new_domains`` > 0 the harvested list adds that many recipient domains the fleet never mails
    (``new_domain_share`` of the recipients), for the novelty detector; ``bench/detect.py`` uses 300. The
    default 0 keeps the demo's recipients (and the UI snapshots taken from it) as they were.
    """

    def __init__(self, rng: random.Random, start: float, params: Mapping[str, Param]) -> None:
        super().__init__(rng, start)
        self.onset = _f(params, "onset")
        self.duration = _f(params, "duration")
        self.rate = _f(params, "sessions_per_second")
        self.server = str(params["server"])
        self.credential = str(params["credential"])
        self.ip = str(params["ip"])
        self.new_domains = int(_f(params, "new_domains"))
        self.new_share = _f(params, "new_domain_share")
        self.victim_id = -1
        self.spam_domains: list[str] = []

    def incident(self) -> tuple[float, float] | None:
        """From the onset for ``duration`` seconds."""
        return (self.start + self.onset, self.start + self.onset + self.duration)

    def _add_spam_domains(self, fleet: FleetPort) -> None:
        """Add the harvested list's domains to the installation (weight 0: normal traffic skips them)."""
        from postaltop.core.sim.model import Domain

        words = ("mail", "post", "net", "web", "home", "shop", "info", "box", "link", "cloud", "fast", "star")
        tlds = ("com", "net", "info", "biz", "org", "ru", "xyz")
        for i in range(self.new_domains):
            name = f"{self.rng.choice(words)}{self.rng.choice(words)}{i}.{self.rng.choice(tlds)}"
            octet = 10 + i % 240
            self.spam_domains.append(name)
            fleet.installation.domains.append(
                Domain(name, f"mx.{name}", f"198.51.100.{octet}", 0.0, 0.05, 0.1, "451 4.7.1 Try again later")
            )
        # the fleet's recipient picker keeps one weight per domain
        fleet._domain_weights.extend([0.0] * self.new_domains)

    def _recipient(self, fleet: FleetPort) -> str:
        if self.spam_domains and self.rng.random() < self.new_share:
            role = self.rng.choice(("info", "sales", "admin", "contact", "office"))
            local = f"{role}{self.rng.randrange(1000)}"
            return f"{local}@{self.rng.choice(self.spam_domains)}"
        return fleet.pick_recipient(self.rng)[0]

    def install(self, fleet: FleetPort) -> None:
        """Schedule the spammer's sessions with the victim credential (mailing many new domains)."""
        victim = fleet.installation.server(self.server).credential(self.credential)
        self.victim_id = victim.id
        self._add_spam_domains(fleet)

        def session(ts: float) -> None:
            if not self._active(ts, self.onset, self.duration):
                return
            batch = [self._recipient(fleet) for _ in range(self.rng.randint(5, 25))]
            fleet.smtp_session(ts, victim, self.ip, [batch], helo="localhost")
            fleet.schedule(ts + self.rng.expovariate(self.rate), session)

        fleet.schedule(self.start + self.onset, session)

    def failure_rates(
        self,
        server: MailServer,
        credential: Credential | None,
        domain: Domain,
        ts: float,
        soft: float,
        hard: float,
    ) -> tuple[float, float]:
        """Spam to harvested addresses: many unknown users and rate-limit deferrals."""
        if credential is not None and credential.id == self.victim_id and ts >= self.start + self.onset:
            return 0.2, 0.25
        return soft, hard


class SlowRamp(Scenario):
    """One server's volume creeps up by ``per_hour`` of its normal rate every hour (a leak)."""

    def __init__(self, rng: random.Random, start: float, params: Mapping[str, Param]) -> None:
        super().__init__(rng, start)
        self.onset = _f(params, "onset")
        self.per_hour = _f(params, "per_hour")
        self.server = str(params["server"])

    def volume_factor(self, server: MailServer, ts: float) -> float:
        """``1 + per_hour * hours since onset`` for the target server."""
        if server.full_permalink != self.server:
            return 1.0
        return 1.0 + self.per_hour * max(0.0, (ts - self.start - self.onset) / 3600.0)


class BounceStorm(Scenario):
    """A server starts mailing a stale list: hard fails and bounces jump for ``duration`` seconds."""

    def __init__(self, rng: random.Random, start: float, params: Mapping[str, Param]) -> None:
        super().__init__(rng, start)
        self.onset = _f(params, "onset")
        self.duration = _f(params, "duration")
        self.hard = _f(params, "hard_fail")
        self.bounce = _f(params, "bounce")
        self.server = str(params["server"])

    def incident(self) -> tuple[float, float] | None:
        """From the onset for ``duration`` seconds."""
        return (self.start + self.onset, self.start + self.onset + self.duration)

    def failure_rates(
        self,
        server: MailServer,
        credential: Credential | None,
        domain: Domain,
        ts: float,
        soft: float,
        hard: float,
    ) -> tuple[float, float]:
        """Raised hard-fail probability on the target server during the storm."""
        if server.full_permalink == self.server and self._active(ts, self.onset, self.duration):
            return soft, self.hard
        return soft, hard

    def bounce_rate(self, server: MailServer, ts: float, base: float) -> float:
        """Raised bounce probability on the target server during the storm."""
        if server.full_permalink == self.server and self._active(ts, self.onset, self.duration):
            return self.bounce
        return base


def _normal(rng: random.Random, start: float, params: Mapping[str, Param]) -> Scenario:
    return Scenario(rng, start)


register(ScenarioSpec("normal", "Steady traffic following the time of day; no incident.", _normal))
register(
    ScenarioSpec(
        "normal-week",
        "Seven ordinary days (quiet nights and weekends): run it fast to learn baselines.",
        _normal,
    )
)
register(
    ScenarioSpec(
        "brute-force",
        "From 5 min in, a few IPs guess SMTP passwords, faster and faster, for 20 min.",
        BruteForce,
        {"onset": 300.0, "duration": 1200.0, "ips": 3.0, "first_rate": 20.0, "last_rate": 240.0},
    )
)
register(
    ScenarioSpec(
        "compromised-credential",
        "From 10 min in, acme/transactional 'main smtp' sends spam from a new IP.",
        CompromisedCredential,
        {
            "onset": 600.0,
            "duration": 1800.0,
            "sessions_per_second": 0.5,
            "server": "acme/transactional",
            "credential": "main smtp",
            "ip": "192.0.2.166",
            "new_domains": 300.0,
            "new_domain_share": 0.7,
        },
    )
)
register(
    ScenarioSpec(
        "slow-ramp",
        "globex/app's volume creeps up by half its normal rate every hour.",
        SlowRamp,
        {"onset": 0.0, "per_hour": 0.5, "server": "globex/app"},
    )
)
register(
    ScenarioSpec(
        "bounce-storm",
        "From 10 min in, acme/transactional hard-fails and bounces heavily for 30 min.",
        BounceStorm,
        {
            "onset": 600.0,
            "duration": 1800.0,
            "hard_fail": 0.3,
            "bounce": 0.15,
            "server": "acme/transactional",
        },
    )
)
