"""Sampled rendering of long windows: the plan, thinned traffic, the incident whole, hourly statistics."""

from __future__ import annotations

import math

from postaltop.core.sim import DEFAULT_START, Fleet
from postaltop.core.sim.history import window_history
from postaltop.core.sim.metrics import server_total
from postaltop.core.sim.sampling import Sampling, plan

HOUR = 3600.0


def test_the_plan_renders_the_incident_on_whole_hours_within_the_window() -> None:
    start = DEFAULT_START  # 09:00
    assert plan(start, start + 7 * 86400, (start + 300, start + 1500)).full == ((start, start + HOUR),)
    # the 15 min after the incident push its end into the next hour
    assert plan(start, start + 86400, (start + 600, start + 3000)).full == ((start, start + 2 * HOUR),)
    assert plan(start, start + 1800, (start + 600, start + 3000)).full == ((start, start + 1800),)
    assert plan(start, start + 86400, None).full == ()


def test_outside_the_full_spans_the_rate_is_thinned_and_capped() -> None:
    sampling = Sampling(((0.0, HOUR),), one_in=60, cap=0.004)
    assert sampling.rate(10.0, 0.12) == 0.12
    assert sampling.rate(HOUR, 0.12) == 0.002
    assert sampling.rate(HOUR, 6.0) == 0.004
    assert sampling.horizon(10.0) == 30.0
    assert sampling.horizon(-100.0) == 100.0  # never far past the start of the full span
    assert sampling.horizon(2 * HOUR) == 600.0


def _lines(fleet: Fleet, until: float) -> list[bytes]:
    return [item.line for item in fleet.advance(until)]


def test_the_incident_is_rendered_whole_and_the_rest_thinly() -> None:
    full = Fleet(seed=3, scenario="brute-force", start=DEFAULT_START, volume=0.1)
    sampled = Fleet(seed=3, scenario="brute-force", start=DEFAULT_START, volume=0.1)
    sampled.sampling = plan(DEFAULT_START, DEFAULT_START + 86400, sampled.scenario.incident())
    assert sampled.sampling.full == ((DEFAULT_START, DEFAULT_START + HOUR),)
    first_full, first_sampled = _lines(full, DEFAULT_START + HOUR), _lines(sampled, DEFAULT_START + HOUR)
    assert first_full == first_sampled  # the incident's hour: byte for byte what the full simulation renders
    attack = [line for line in first_full if b"Authentication failure for 192.0.2.2" in line]
    assert len(attack) > 100
    later_full = _lines(full, DEFAULT_START + 3 * HOUR)
    later_sampled = _lines(sampled, DEFAULT_START + 3 * HOUR)
    sessions = [sum(b"235 Granted" in line for line in lines) for lines in (later_full, later_sampled)]
    assert sessions[0] > 200 and 0 < sessions[1] < sessions[0] / 20


def test_hourly_statistics_count_the_full_hours_and_model_the_sampled_ones() -> None:
    start = DEFAULT_START
    reference = Fleet(seed=5, scenario="normal", start=start, volume=0.1)
    reference.advance(start + 6 * HOUR)
    sampled = Fleet(seed=5, scenario="normal", start=start, volume=0.1)
    sampled.sampling = Sampling(((start, start + HOUR),))
    sampled.advance(start + 6 * HOUR)
    points = window_history(sampled, start, start + 6 * HOUR, sampled.sampling)
    assert {p.time for p in points} == {start + h * HOUR for h in range(6)}
    for server in sampled.installation.servers:
        mine = [p for p in points if p.server_id == server.id]
        counted = server_total(sampled.counters, server.id, "outgoing", start, start + HOUR)
        assert mine[0].outgoing == counted  # rendered in full: the fleet's own count
        modelled = sum(p.outgoing for p in mine[1:])
        real = server_total(reference.counters, server.id, "outgoing", start + HOUR, start + 6 * HOUR)
        thinned = server_total(sampled.counters, server.id, "outgoing", start + HOUR, math.inf)
        assert thinned < real / 10  # what the sampled fleet rendered is no volume figure
        assert abs(modelled - real) <= 0.2 * real + 30, (server.full_permalink, modelled, real)
