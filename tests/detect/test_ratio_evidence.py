"""The ratio detector decides on the evidence: few attempts with an extreme ratio, not small-volume noise."""

from __future__ import annotations

import math
import random

from postaltop.core.alerts import Scope, ScopeKind, Severity
from postaltop.core.detect.ratio import RatioDetector, binomial_tail_bound, wilson_low

SERVER = Scope(ScopeKind.SERVER, "acme/app")


def exact_tail(k: int, n: int, p: float) -> float:
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1))


def test_the_tail_bound_is_an_upper_bound_and_tight_in_the_far_tail() -> None:
    for n in (1, 5, 14, 40, 200):
        for p in (0.005, 0.03, 0.1, 0.4):
            for k in range(0, n + 1):
                exact = exact_tail(k, n, p)
                if exact < 1e-250:
                    continue  # floats lose digits there
                bound = binomial_tail_bound(k, n, p)
                assert bound >= exact * (1 - 1e-6), (k, n, p)
                if exact < 1e-4:
                    assert bound <= 2 * exact, (k, n, p)
    assert binomial_tail_bound(3, 2, 0.1) == 0.0
    assert binomial_tail_bound(1, 100, 0.5) == 1.0  # below the mean


def test_an_extreme_ratio_on_few_attempts_is_flagged_in_the_poll_it_appears() -> None:
    d = RatioDetector()
    d.set_baseline(SERVER, "bounce_rate", 0.02)
    at = 0.0
    for _ in range(120):  # ten minutes of 5 s polls, about one attempt each, none failing
        at += 5.0
        assert d.update(SERVER, at, 1.0, 0.0, 0.0, span=5.0) == []
    # a storm: 9 of the next 14 attempts hard-fail, within 30 s
    found = []
    for attempts, failed in ((2, 1), (3, 2), (2, 2), (3, 2), (2, 1), (2, 1)):
        at += 5.0
        found = d.update(SERVER, at, attempts, failed, 0.0, span=5.0)
    assert found and found[0].severity is Severity.CRITICAL, found
    # judged on the stretch since it began, not diluted by the quiet ten minutes before
    assert found[0].observed > 0.5 and found[0].why.split(" over ")[1].split(" ")[1] == "s", found[0].why


def test_few_failures_or_a_likely_run_of_them_is_not_flagged() -> None:
    d = RatioDetector()
    d.set_baseline(SERVER, "bounce_rate", 0.03)
    assert d.update(SERVER, 60.0, 2.0, 1.0, 0.0) == []  # 1 in 2
    d = RatioDetector()
    d.set_baseline(SERVER, "bounce_rate", 0.03)
    assert d.update(SERVER, 120.0, 4.0, 4.0, 0.0) == []  # 4 in 4: under min_failures
    busy = RatioDetector()
    busy.set_baseline(SERVER, "bounce_rate", 0.10)
    # 7 failures in 20 attempts is 35 %, but not improbable for a server that usually bounces 10 %
    assert binomial_tail_bound(7, 20, 0.10) > 1e-6
    assert busy.update(SERVER, 60.0, 20.0, 7.0, 0.0) == []


def test_clean_traffic_at_its_usual_ratio_raises_nothing_at_any_volume() -> None:
    rng = random.Random(7)
    for per_poll in (0.2, 1.0, 5.0, 50.0):
        d = RatioDetector()
        d.set_baseline(SERVER, "bounce_rate", 0.03)
        for poll in range(1, 8_000):  # 11 hours of 5 s polls
            attempts = sum(1 for _ in range(int(per_poll * 2)) if rng.random() < 0.5)
            failed = sum(1 for _ in range(attempts) if rng.random() < 0.03)
            assert d.update(SERVER, poll * 5.0, attempts, failed, 0.0, span=5.0) == [], (per_poll, poll)


def test_late_bounces_outnumbering_attempts_never_make_a_ratio_over_one() -> None:
    d = RatioDetector()
    (found, *_) = d.update(SERVER, 60.0, 3.0, 12.0, 0.0)  # 12 bounces of messages sent earlier
    assert found.observed <= 1.0 and wilson_low(12, 12) <= 1.0
