"""Recipient country mix: a shift in where a scope's mail goes, against its usual mix (pure).

The mix is the share of outgoing messages per recipient country (:func:`~postaltop.core.geo.cctld.country_of`
of the recipient domain; generic TLDs form their own group). A scope's usual mix is learnt from history (the
state read at connect, then every judged window); a window is judged against it with the total variation
distance (half the sum of absolute share differences: 0 = same mix, 1 = no country in common). Small windows
are not judged (``min_volume``), and the countries that moved most are named in the finding.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from postaltop.core.alerts import Finding, Scope, Severity, SuggestedAction
from postaltop.core.geo.cctld import country_of


@dataclass(frozen=True, slots=True)
class CountryMixSettings:
    """Thresholds of the country-mix detector."""

    warning_distance: float = 0.35
    critical_distance: float = 0.6
    min_volume: int = 200
    """Messages a window needs before its mix is judged."""
    min_history: int = 1000
    """Messages of history a scope needs before it has a usual mix."""
    learn_rate: float = 0.05
    """How much each judged window moves the usual mix (exponential forgetting)."""


def country_counts(domain_counts: Iterable[tuple[str, float]]) -> dict[str, float]:
    """Messages per recipient country from (recipient domain, messages) pairs."""
    out: dict[str, float] = {}
    for domain, count in domain_counts:
        key = country_of(domain)
        out[key] = out.get(key, 0.0) + count
    return out


def shares(counts: Mapping[str, float]) -> dict[str, float]:
    """Each country's share of the total (empty when there is nothing)."""
    total = sum(counts.values())
    return {k: v / total for k, v in counts.items()} if total > 0 else {}


def distance(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """Total variation distance between two share maps (0..1)."""
    return 0.5 * sum(abs(a.get(k, 0.0) - b.get(k, 0.0)) for k in set(a) | set(b))


def biggest_moves(
    now: Mapping[str, float], usual: Mapping[str, float], n: int = 3
) -> list[tuple[str, float, float]]:
    """The ``n`` countries whose share changed most: (country, share now, usual share)."""
    keys = sorted(set(now) | set(usual), key=lambda k: -abs(now.get(k, 0.0) - usual.get(k, 0.0)))
    return [(k, now.get(k, 0.0), usual.get(k, 0.0)) for k in keys[:n]]


def describe(moves: list[tuple[str, float, float]]) -> str:
    """``.ru 41% (usually 0%), generic 30% (usually 85%)``."""
    parts = []
    for country, now, usual in moves:
        label = country if country in ("generic", "unknown") else f".{country}"
        parts.append(f"{label} {now:.0%} (usually {usual:.0%})")
    return ", ".join(parts)


class CountryMixDetector:
    """Keeps each scope's usual country mix and judges windows against it."""

    def __init__(self, settings: CountryMixSettings | None = None) -> None:
        self.settings = settings or CountryMixSettings()
        self._usual: dict[Scope, dict[str, float]] = {}
        self._history: dict[Scope, float] = {}

    def learn(self, scope: Scope, counts: Mapping[str, float]) -> None:
        """Add history (messages per country) to ``scope``'s usual mix, weighted by volume."""
        total = sum(counts.values())
        if total <= 0:
            return
        old = self._usual.get(scope, {})
        seen = self._history.get(scope, 0.0)
        weight = seen / (seen + total)
        mixed = {k: weight * old.get(k, 0.0) + (1 - weight) * v for k, v in shares(counts).items()}
        for k, v in old.items():
            mixed.setdefault(k, weight * v)
        self._usual[scope] = mixed
        self._history[scope] = seen + total

    def usual(self, scope: Scope) -> dict[str, float] | None:
        """The usual mix, or None while the scope has too little history."""
        if self._history.get(scope, 0.0) < self.settings.min_history:
            return None
        return dict(self._usual.get(scope, {}))

    def judge(self, scope: Scope, counts: Mapping[str, float], ts: float) -> Finding | None:
        """A finding when the window's mix is far from the usual one; the window is learnt afterwards."""
        s = self.settings
        total = sum(counts.values())
        usual = self.usual(scope)
        finding = None
        if usual is not None and total >= s.min_volume:
            now = shares(counts)
            d = distance(now, usual)
            if d >= s.warning_distance:
                severity = Severity.CRITICAL if d >= s.critical_distance else Severity.WARNING
                finding = Finding(
                    kind="country_mix",
                    scope=scope,
                    metric="recipient_countries",
                    severity=severity,
                    observed=round(d, 3),
                    expected=s.warning_distance,
                    why=f"recipient countries shifted (distance {d:.2f}): "
                    + describe(biggest_moves(now, usual)),
                    ts=ts,
                    action=SuggestedAction("look at what it sends; hold the credential if it is abuse"),
                )
        if total > 0:
            self._blend(scope, counts)
        return finding

    def _blend(self, scope: Scope, counts: Mapping[str, float]) -> None:
        if self.usual(scope) is None:
            self.learn(scope, counts)
            return
        rate = self.settings.learn_rate
        old = self._usual[scope]
        now = shares(counts)
        self._usual[scope] = {
            k: (1 - rate) * old.get(k, 0.0) + rate * now.get(k, 0.0) for k in set(old) | set(now)
        }
