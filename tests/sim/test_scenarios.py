"""Scenario registry and the signature each incident leaves in the simulated logs and counters."""

from __future__ import annotations

import random
import re

import pytest

from postaltop.core.sim import DEFAULT_START, SCENARIOS, Fleet, Scenario, ScenarioSpec
from postaltop.core.sim.scenarios import register


def auth_failures_per_minute(fleet: Fleet, start: float, minutes: int) -> list[int]:
    return [fleet.counters.auth_failures_total(start + 60 * i, start + 60 * (i + 1)) for i in range(minutes)]


def test_registry_lists_every_scenario_with_a_one_line_description() -> None:
    assert {
        "normal",
        "brute-force",
        "compromised-credential",
        "slow-ramp",
        "bounce-storm",
        "normal-week",
    } <= set(SCENARIOS)
    for name, spec in SCENARIOS.items():
        assert spec.name == name
        assert spec.description and "\n" not in spec.description and len(spec.description) < 100
        assert isinstance(spec.build(random.Random(0), DEFAULT_START), Scenario)


def test_unknown_scenario_and_parameter_are_refused() -> None:
    with pytest.raises(KeyError):
        Fleet(scenario="no-such-thing")
    with pytest.raises(KeyError, match="no parameter"):
        SCENARIOS["brute-force"].build(random.Random(0), DEFAULT_START, colour="red")
    with pytest.raises(ValueError, match="already registered"):
        register(ScenarioSpec("normal", "again", SCENARIOS["normal"].factory))


def test_brute_force_signature() -> None:
    attacked = Fleet(seed=2, scenario="brute-force", volume=0.05)
    normal = Fleet(seed=2, scenario="normal", volume=0.05)
    end = DEFAULT_START + 30 * 60
    attacked_lines = attacked.advance(end)
    normal.advance(end)
    before = auth_failures_per_minute(attacked, DEFAULT_START, 5)
    during = auth_failures_per_minute(attacked, DEFAULT_START + 300, 20)
    assert max(before) <= 2  # only the background scanners
    assert min(during[2:]) >= 10
    assert sum(during[-5:]) > 3 * sum(during[:5])  # growing
    assert sum(auth_failures_per_minute(attacked, DEFAULT_START + 1500, 5)) <= 10  # over after 20 min
    assert sum(auth_failures_per_minute(normal, DEFAULT_START, 30)) <= 5
    # the log carries it too: the WARN line followed by Postal's 535 reply
    text = b"\n".join(x.line for x in attacked_lines)
    warns = re.findall(rb"WARN   Authentication failure for (192\.0\.2\.\d+) trace_id=", text)
    assert len(warns) > 500 and 1 <= len(set(warns)) <= 3
    assert text.count(b"\x1b[34m=> 535 Invalid credential\x1b[0m") >= len(warns)


def test_traffic_before_an_onset_is_the_normal_traffic() -> None:
    onset = DEFAULT_START + 300
    normal = Fleet(seed=4, scenario="normal", volume=0.1).advance(onset)
    attacked = Fleet(seed=4, scenario="brute-force", volume=0.1).advance(onset)
    assert [x.line for x in normal] == [x.line for x in attacked]


def test_compromised_credential_signature() -> None:
    fleet = Fleet(seed=3, scenario="compromised-credential", volume=0.1, scenario_params={"onset": 300.0})
    victim = fleet.installation.server("acme/transactional").credential("main smtp")
    lines = fleet.advance(DEFAULT_START + 10 * 60)
    onset = DEFAULT_START + 300
    before = fleet.counters.credential_total(victim.id, "outgoing", DEFAULT_START, onset)
    after = fleet.counters.credential_total(victim.id, "outgoing", onset, onset + 300)
    assert after > 5 * before
    assert fleet.counters.credential_total(victim.id, "hard_failed", onset + 60, onset + 300) > 50
    assert any(b"Client identified as 192.0.2.166 " in x.line for x in lines if x.ts >= onset)
    assert not any(b"192.0.2.166" in x.line for x in lines if x.ts < onset)


def test_slow_ramp_signature() -> None:
    fleet = Fleet(seed=5, scenario="slow-ramp", volume=0.1, scenario_params={"per_hour": 2.0})
    app = fleet.installation.server("globex/app").id
    ref = fleet.installation.server("acme/transactional").id
    fleet.advance(DEFAULT_START + 3600)

    def ratio(half: int) -> float:
        start, end = DEFAULT_START + half * 1800, DEFAULT_START + (half + 1) * 1800
        return fleet.counters.server_total(app, "outgoing", start, end) / max(
            1, fleet.counters.server_total(ref, "outgoing", start, end)
        )

    # the factor goes 1 -> 3 over the hour: mean 1.5 in the first half, 2.5 in the second
    assert ratio(1) > 1.3 * ratio(0)


def test_bounce_storm_signature() -> None:
    fleet = Fleet(seed=6, scenario="bounce-storm", volume=0.2, scenario_params={"onset": 300.0})
    target = fleet.installation.server("acme/transactional").id
    lines = fleet.advance(DEFAULT_START + 25 * 60)
    onset = DEFAULT_START + 300
    before = fleet.counters.server_total(target, "hard_failed", DEFAULT_START, onset)
    during = fleet.counters.server_total(target, "hard_failed", onset, onset + 300)
    assert during > 10 * max(1, before)
    assert fleet.counters.server_total(target, "bounced", onset, onset + 1200) > 20
    assert sum(b"Added bounce on server 1 " in x.line for x in lines) > 20


def test_normal_week_is_quieter_at_the_weekend() -> None:
    saturday = DEFAULT_START + 4 * 86400  # 2026-05-02 09:00 UTC
    weekend = Fleet(seed=7, scenario="normal-week", start=saturday, volume=0.1)
    weekday = Fleet(seed=7, scenario="normal-week", start=DEFAULT_START, volume=0.1)
    weekend.advance(saturday + 1800)
    weekday.advance(DEFAULT_START + 1800)

    def outgoing(fleet: Fleet) -> int:
        return sum(t.outgoing for b in fleet.counters.minutes.values() for t in b.servers.values())

    assert outgoing(weekend) * 1.5 < outgoing(weekday)
