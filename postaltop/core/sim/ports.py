"""What the fleet's parts (background noise, scenarios, the worker) use of the fleet, typed without it.

:class:`~postaltop.core.sim.fleet.Fleet` builds those parts and they call back into it; typing them against
:class:`FleetPort` keeps the imports one way (``fleet`` → parts → ``ports``).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Protocol

from postaltop.core.sim.lines import Timestamps
from postaltop.core.sim.model import Counters, Credential, Domain, Installation, MailServer

Action = Callable[[float], object]
"""Something the simulation runs at a time (``action(ts)``)."""


class ScenarioRates:
    """What the worker asks the running scenario; these defaults are normal traffic's answers.

    :class:`~postaltop.core.sim.scenarios.Scenario` builds on it and incidents override what they change.
    """

    def failure_rates(
        self,
        server: MailServer,
        credential: Credential | None,
        domain: Domain,
        ts: float,
        soft: float,
        hard: float,
    ) -> tuple[float, float]:
        """``(soft, hard)`` failure probabilities of one delivery attempt (given the normal ones)."""
        return soft, hard

    def bounce_rate(self, server: MailServer, ts: float, base: float) -> float:
        """Probability that a sent message of ``server`` bounces back later."""
        return base


class FleetPort(Protocol):
    """The fleet as its parts see it."""

    start: float
    installation: Installation
    counters: Counters
    rng: random.Random
    stamps: Timestamps
    _domain_weights: list[float]

    @property
    def scenario(self) -> ScenarioRates:
        """The running scenario."""

    def schedule(self, ts: float, action: Action) -> None:
        """Run ``action(ts)`` when the simulation reaches ``ts``."""

    def emit(self, ts: float, host: str, component: str, text: str) -> None:
        """Queue one log record (``text`` is everything after the timestamp)."""

    def emit_raw(self, ts: float, host: str, component: str, text: str) -> None:
        """Queue a physical line with no timestamp."""

    def random_id(self, rng: random.Random | None = None) -> str:
        """A ``trace_id``/``log_id``."""

    def rendered_rate(self, ts: float, rate: float) -> float:
        """The rate at which a thinnable process is rendered at ``ts`` (a sampled long window)."""

    def arrival_horizon(self, ts: float) -> float:
        """How far ahead a thinnable process draws its next arrival."""

    def next_queued_id(self) -> int:
        """Allocate a ``queued_messages.id``."""

    def pick_recipient(self, rng: random.Random | None = None) -> tuple[str, Domain]:
        """A plausible recipient address and its domain."""

    def smtp_session(
        self,
        ts: float,
        cred: Credential,
        ip: str,
        recipients: list[list[str]] | None = None,
        helo: str | None = None,
    ) -> float:
        """Render one authenticated SMTP session; returns when it ends."""

    def auth_attack_session(
        self, ts: float, ip: str, attempts: int, rng: random.Random, helo: str = "User"
    ) -> float:
        """Render a connection that guesses SMTP passwords; returns when it ends."""
