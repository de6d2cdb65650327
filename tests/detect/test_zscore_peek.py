"""The z-score also judges a credential's minute in progress (critical only), so a step is flagged sooner."""

from __future__ import annotations

import math
import random

import pytest

from postaltop.core.alerts import Scope, ScopeKind, Severity
from postaltop.core.baseline import Expectation
from postaltop.core.detect.zscore import PEEK_AFTER, ZScoreDetector, ZScoreSettings, robust_z
from tests.detect.scenario_run import run_scenario

CRED = Scope(ScopeKind.CREDENTIAL, "1")
USUAL = Expectation(median=100.0, spread=20.0, samples=500, learning=False)


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's method in chunks, for means in the hundreds)."""
    total = 0
    while mean > 0:
        part = min(mean, 30.0)
        mean -= part
        limit, k, p = math.exp(-part), 0, rng.random()
        while p > limit:
            k += 1
            p *= rng.random()
        total += k
    return total


def test_a_whole_minute_has_the_closing_noise() -> None:
    ewma = 250.0
    old = (ewma - USUAL.median) / math.sqrt(USUAL.spread**2 + USUAL.median * 0.3 / 1.7)
    assert robust_z(ewma, USUAL, 0.3) == pytest.approx(old)
    assert robust_z(ewma, USUAL, 0.3, 30.0) < robust_z(ewma, USUAL, 0.3, 60.0)


def test_a_step_is_critical_in_the_minute_in_progress_and_nothing_is_kept() -> None:
    z = ZScoreDetector()
    for minute in range(30):
        assert z.update(CRED, "sent", 100.0, USUAL, minute * 60.0) is None
    # the first whole minute of a 7x step: only a warning at its close (the EWMA climbs by 0.3 of the step)
    first = z.update(CRED, "sent", 700.0, USUAL, 30 * 60.0)
    assert first is not None and first.severity is Severity.WARNING
    kept = dict(z.ewma)
    # 30 s into the next minute, at the same rate, the minute in progress makes it critical
    found = z.peek(CRED, "sent", 350.0, 30.0, USUAL, 31 * 60.0 + 30)
    assert found is not None and found.severity is Severity.CRITICAL
    assert "this minute's first 30 s" in found.why
    assert z.ewma == kept
    # closed, the same minute makes it critical too (the peek only comes 30 s sooner)
    closed = z.update(CRED, "sent", 700.0, USUAL, 32 * 60.0)
    assert closed is not None and closed.severity is Severity.CRITICAL
    # too little of the minute counted, no history of the series, or a learning baseline: nothing
    assert z.peek(CRED, "sent", 700.0, PEEK_AFTER - 1, USUAL, 0.0) is None
    assert z.peek(Scope(ScopeKind.CREDENTIAL, "2"), "sent", 7000.0, 60.0, USUAL, 0.0) is None
    learning = Expectation(median=100.0, spread=20.0, samples=3, learning=True)
    assert z.peek(CRED, "sent", 7000.0, 60.0, learning, 0.0) is None


def test_bad_counts_and_windows_raise_nothing_and_keep_nothing() -> None:
    """What a broken poll could hand over: NaN or negative counts, a NaN or infinite window."""
    z = ZScoreDetector()
    for minute in range(30):
        z.update(CRED, "sent", 100.0, USUAL, minute * 60.0)
    kept = dict(z.ewma)
    nan, inf = math.nan, math.inf
    bad = ((nan, 30.0), (-5.0, 30.0), (inf, 30.0), (350.0, nan), (350.0, -inf), (350.0, 0.0))
    for so_far, covered in bad:
        assert z.peek(CRED, "sent", so_far, covered, USUAL, 31 * 60.0) is None, (so_far, covered)
    assert z.ewma == kept


def flagged_peeks(z: ZScoreDetector, usual: Expectation) -> int:
    """Peeks flagged over 2,000 minutes of Poisson traffic at the usual rate, each read at 30, 40 and 50 s."""
    rng = random.Random(7)
    flagged = 0
    for minute in range(2000):
        for covered in (30.0, 40.0, 50.0):
            count = poisson(rng, usual.median * covered / 60)
            flagged += z.peek(CRED, "sent", count, covered, usual, minute * 60.0) is not None
        z.update(CRED, "sent", float(poisson(rng, usual.median)), usual, minute * 60.0 + 60)
    return flagged


def test_the_noise_of_a_partial_minute_is_calibrated() -> None:
    """Pure Poisson traffic, judged at z >= 3: about the normal tail (0.13 %) is flagged, not more."""
    z = ZScoreDetector(ZScoreSettings(critical_z=3.0, min_ratio=1.0))
    flagged = flagged_peeks(z, Expectation(median=100.0, spread=0.0, samples=500, learning=False))
    assert 0 < flagged < 30  # 6,000 readings; with half the noise it would be over 100


def test_ordinary_partial_minutes_are_not_critical() -> None:
    assert flagged_peeks(ZScoreDetector(), USUAL) == 0


@pytest.mark.parametrize("phase", [1.0, 10.0, 25.0, 37.0, 50.0, 58.0])
def test_a_leaked_credential_is_critical_within_150_s_whatever_second_it_starts(phase: float) -> None:
    """Judged only at minute closes: 143-195 s (the EWMA needs about half the step, two whole minutes)."""
    onset = 600.0 + phase
    # the demo's volume: a step of about 4x the credential's usual rate
    run = run_scenario("compromised-credential", 14, volume=1.0, scenario_params={"onset": onset})
    at = next(
        (
            e.at
            for e in run.fired()
            if e.alert.kind == "zscore"
            and e.alert.scope.kind is ScopeKind.CREDENTIAL
            and e.alert.severity is Severity.CRITICAL
        ),
        None,
    )
    assert at is not None
    assert at - (run.fleet.start + onset) <= 150.0
