"""Recipient country from the ccTLD, and the country-mix shift detector (pure)."""

from __future__ import annotations

import random

import pytest

from postaltop.core.alerts import Scope, ScopeKind, Severity
from postaltop.core.detect.country_mix import CountryMixDetector, CountryMixSettings, country_counts, distance
from postaltop.core.geo.cctld import GENERIC, UNKNOWN, country_of

SCOPE = Scope(ScopeKind.CREDENTIAL, "3", "main smtp")


@pytest.mark.parametrize(
    ("domain", "country"),
    [
        ("example.de", "de"),
        ("MAIL.Example.DE.", "de"),
        ("shop.co.uk", "gb"),
        ("bank.com.br", "br"),
        ("gmail.com", GENERIC),
        ("startup.io", GENERIC),
        ("news.tv", GENERIC),
        ("agency.eu", "eu"),
        ("example.email", GENERIC),
        ("xn--80ak6aa92e.xn--p1ai", GENERIC),
        ("localhost", UNKNOWN),
        ("", UNKNOWN),
        ("bad domain.de", UNKNOWN),
        ("evil.\x1b[31mde", UNKNOWN),
        ("ex.\uff41\uff42", UNKNOWN),  # fullwidth letters
    ],
)
def test_country_of(domain: str, country: str) -> None:
    assert country_of(domain) == country


def usual_day(rng: random.Random, n: int) -> list[tuple[str, float]]:
    """A European sender: mostly generic mailbox providers, then Germany, France, the UK."""
    domains = ["gmail.com"] * 50 + ["web.de"] * 20 + ["orange.fr"] * 15 + ["bt.co.uk"] * 10 + ["x.nl"] * 5
    return [(rng.choice(domains), 1.0) for _ in range(n)]


def test_a_usual_window_raises_nothing_and_a_shift_to_new_countries_is_named() -> None:
    rng = random.Random(7)
    det = CountryMixDetector()
    det.learn(SCOPE, country_counts(usual_day(rng, 5000)))
    for _ in range(20):
        assert det.judge(SCOPE, country_counts(usual_day(rng, 400)), 0.0) is None
    spam = [(f"user{i}.ru", 1.0) for i in range(300)] + [(f"x{i}.cn", 1.0) for i in range(100)]
    finding = det.judge(SCOPE, country_counts(spam + usual_day(rng, 100)), 60.0)
    assert finding is not None
    assert finding.severity is Severity.CRITICAL
    assert finding.kind == "country_mix"
    assert ".ru 60%" in finding.why and "(usually 0%)" in finding.why


def test_small_windows_and_scopes_without_history_are_not_judged() -> None:
    det = CountryMixDetector(CountryMixSettings(min_volume=200, min_history=1000))
    ru = {"ru": 150.0}
    assert det.judge(SCOPE, ru, 0.0) is None, "no history yet"
    det.learn(SCOPE, {GENERIC: 2000.0})
    assert det.judge(SCOPE, ru, 0.0) is None, "150 messages are below min_volume"
    assert det.judge(SCOPE, {"ru": 400.0}, 0.0) is not None


def test_distance_bounds() -> None:
    assert distance({"de": 1.0}, {"de": 1.0}) == 0.0
    assert distance({"de": 1.0}, {"fr": 1.0}) == 1.0
    assert distance({}, {}) == 0.0
