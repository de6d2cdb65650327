"""A parser of the Prometheus text exposition format (version 0.0.4), and histogram arithmetic.

Postal v3's worker and SMTP server publish their metrics this way on their health-server ports (facts
§4: ``postal_message_queue_latency`` is a histogram, the rest counters). Pure: text in, samples out.

Format: ``# HELP name text`` and ``# TYPE name type`` comments, then one sample per line:
``name{label="value",...} value [timestamp_ms]``. Label values escape ``\\\\``, ``\\"`` and ``\\n``;
values are floats including ``+Inf``, ``-Inf`` and ``NaN``. A histogram ``h`` is the samples
``h_bucket{le="..."}`` (cumulative), ``h_sum`` and ``h_count``. Malformed lines are collected in
``errors`` and skipped: a scrape is never rejected for one bad line.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_SAMPLE_RE = re.compile(rf"^({_NAME})\s*(\{{.*\}})?\s+(\S+)(?:\s+(-?\d+))?\s*$")
_LABEL_RE = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|$)')
_SUFFIXES = ("_bucket", "_sum", "_count", "_total", "_created", "_info")
MAX_LINES = 200_000
"""Lines parsed at most (a runaway endpoint cannot exhaust memory)."""


class PromParseError(ValueError):
    """A line that is not valid exposition format."""


@dataclass(frozen=True, slots=True)
class Sample:
    """One sample line."""

    name: str
    labels: tuple[tuple[str, str], ...]
    value: float
    timestamp_ms: int | None = None

    def label(self, key: str) -> str | None:
        """The value of one label, if present."""
        for k, v in self.labels:
            if k == key:
                return v
        return None


@dataclass(slots=True)
class MetricFamily:
    """Every sample of one metric (a histogram's ``_bucket``/``_sum``/``_count`` included)."""

    name: str
    type: str = "untyped"
    help: str = ""
    samples: list[Sample] = field(default_factory=list)


@dataclass(slots=True)
class Scrape:
    """A parsed exposition."""

    families: dict[str, MetricFamily] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def samples(self, name: str) -> list[Sample]:
        """Samples whose own name is ``name`` (e.g. ``postal_smtp_server_connections_total``)."""
        out: list[Sample] = []
        for family in self.families.values():
            out.extend(s for s in family.samples if s.name == name)
        return out

    def value(self, name: str, **labels: str) -> float | None:
        """The sum of the samples called ``name`` whose labels include ``labels``; None when there is none."""
        found = [s for s in self.samples(name) if all(s.label(k) == v for k, v in labels.items())]
        return sum(s.value for s in found) if found else None

    def histogram(self, name: str, **labels: str) -> Histogram | None:
        """The histogram ``name`` (summed over series whose labels include ``labels``), if exposed."""
        buckets: dict[float, float] = {}
        total = count = 0.0
        seen = False
        for s in self.samples(f"{name}_bucket"):
            if not all(s.label(k) == v for k, v in labels.items()):
                continue
            le = s.label("le")
            if le is None:
                continue
            bound = parse_value(le)
            buckets[bound] = buckets.get(bound, 0.0) + s.value
            seen = True
        if not seen:
            return None
        for s in self.samples(f"{name}_sum"):
            if all(s.label(k) == v for k, v in labels.items()):
                total += s.value
        for s in self.samples(f"{name}_count"):
            if all(s.label(k) == v for k, v in labels.items()):
                count += s.value
        return Histogram(tuple(sorted(buckets.items())), total, count)


@dataclass(frozen=True, slots=True)
class Histogram:
    """Cumulative buckets ``(upper bound, count)`` in ascending order, the sum and the count."""

    buckets: tuple[tuple[float, float], ...]
    sum: float
    count: float

    @property
    def mean(self) -> float | None:
        """``sum / count``; None when empty."""
        return self.sum / self.count if self.count > 0 else None

    def quantile(self, q: float) -> float | None:
        """The ``q`` quantile (0..1) by linear interpolation inside the bucket, as PromQL's
        ``histogram_quantile`` does; the highest finite bound when it falls in the ``+Inf`` bucket.
        None when the histogram is empty."""
        if not self.buckets:
            return None
        total = self.buckets[-1][1]
        if total <= 0:
            return None
        rank = min(max(q, 0.0), 1.0) * total
        lower_bound, lower_count = 0.0, 0.0
        for bound, count in self.buckets:
            if count >= rank:
                if math.isinf(bound):
                    return lower_bound
                if count == lower_count:
                    return bound
                return lower_bound + (bound - lower_bound) * (rank - lower_count) / (count - lower_count)
            lower_bound, lower_count = bound, count
        return lower_bound

    def since(self, earlier: Histogram | None) -> Histogram:
        """The observations made after ``earlier`` (a counter reset gives this histogram whole)."""
        if earlier is None or earlier.count > self.count:
            return self
        before = dict(earlier.buckets)
        if any(before.get(bound, 0.0) > count for bound, count in self.buckets):
            return self
        buckets = tuple((bound, count - before.get(bound, 0.0)) for bound, count in self.buckets)
        return Histogram(buckets, self.sum - earlier.sum, self.count - earlier.count)


def parse_value(text: str) -> float:
    """A sample value: a float, ``+Inf``/``Inf``, ``-Inf`` or ``NaN``.

    Raises:
        PromParseError: for anything else.
    """
    lowered = text.lower()
    if lowered in ("+inf", "inf"):
        return math.inf
    if lowered == "-inf":
        return -math.inf
    if lowered == "nan":
        return math.nan
    try:
        return float(text)
    except ValueError:
        raise PromParseError(f"invalid value {text[:40]!r}") from None


def _unescape(value: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            nxt = value[i + 1]
            out.append({"n": "\n", "\\": "\\", '"': '"'}.get(nxt, "\\" + nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def parse_labels(text: str) -> tuple[tuple[str, str], ...]:
    """``{a="1",b="x\\"y"}`` -> ``(("a", "1"), ("b", 'x"y'))``.

    Raises:
        PromParseError: when the label set is malformed.
    """
    inner = text.strip()[1:-1]
    labels: list[tuple[str, str]] = []
    pos = 0
    while pos < len(inner):
        if not inner[pos:].strip():
            break
        match = _LABEL_RE.match(inner, pos)
        if match is None:
            raise PromParseError(f"invalid labels {text[:60]!r}")
        labels.append((match.group(1), _unescape(match.group(2))))
        pos = match.end()
    return tuple(labels)


def parse_sample(line: str) -> Sample:
    """One sample line.

    Raises:
        PromParseError: when the line is malformed.
    """
    match = _SAMPLE_RE.match(line)
    if match is None:
        raise PromParseError(f"not a sample line: {line[:60]!r}")
    name, labels, value, stamp = match.groups()
    return Sample(
        name, parse_labels(labels) if labels else (), parse_value(value), int(stamp) if stamp else None
    )


def family_name(sample_name: str, families: Mapping[str, MetricFamily]) -> str:
    """The family a sample belongs to (``h_bucket`` -> ``h`` when ``h`` was declared)."""
    if sample_name in families:
        return sample_name
    for suffix in _SUFFIXES:
        if sample_name.endswith(suffix) and sample_name[: -len(suffix)] in families:
            return sample_name[: -len(suffix)]
    return sample_name


def parse(text: str | Iterable[str]) -> Scrape:
    """Parse an exposition; bad lines are reported in ``errors`` and skipped."""
    scrape = Scrape()
    families = scrape.families
    lines = text.splitlines() if isinstance(text, str) else text
    for number, raw in enumerate(lines, 1):
        if number > MAX_LINES:
            scrape.errors.append(f"more than {MAX_LINES} lines: the rest was ignored")
            break
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            parts = line[1:].strip().split(None, 2)
            if len(parts) >= 2 and parts[0] in ("HELP", "TYPE"):
                family = families.setdefault(parts[1], MetricFamily(parts[1]))
                rest = parts[2] if len(parts) > 2 else ""
                if parts[0] == "TYPE":
                    family.type = rest.strip() or "untyped"
                else:
                    family.help = _unescape(rest)
            continue
        try:
            sample = parse_sample(line)
        except PromParseError as exc:
            scrape.errors.append(f"line {number}: {exc}")
            continue
        name = family_name(sample.name, families)
        families.setdefault(name, MetricFamily(name)).samples.append(sample)
    return scrape
