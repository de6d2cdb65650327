"""Postal versions: read them from what a host shows, compare them with the known releases.

Pure: the caller passes the text (an image reference from ``docker ps``/``docker inspect``, the output
of ``postal version``, the ``VERSION`` file, a v2 ``version.rb``) and the release table's TOML text.

A reading says where the version came from and how sure it is: ``latest``/``main`` tags and bare
digests name no release, so they yield an *unknown* reading with the reason, never a guess.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

_VERSION_RE = re.compile(r"(?<![\w.])v?(\d{1,4})\.(\d{1,4})\.(\d{1,4})(?:-([0-9A-Za-z.]{1,40}))?(?![\w])")
_RUBY_VERSION_RE = re.compile(r"""VERSION\s*=\s*["']([^"']{1,60})["']""")
_DIGEST_RE = re.compile(r"sha256:[0-9a-f]{12,64}")
MOVING_TAGS = frozenset({"latest", "main", "master", "stable", "edge", "nightly", "dev"})
"""Tags that follow a branch: they name no release (read the VERSION file instead)."""


@dataclass(frozen=True, slots=True, order=True)
class Version:
    """A semantic version; a pre-release (``2.0.0-beta.1``) sorts before its release."""

    major: int
    minor: int
    patch: int
    pre: tuple[tuple[int, int | str], ...] = ((1, 0),)
    """Pre-release parts; ``((1, 0),)`` for a release, so it sorts after its pre-releases."""

    @property
    def text(self) -> str:
        """The canonical form, ``3.3.4`` or ``2.0.0-beta.1``."""
        base = f"{self.major}.{self.minor}.{self.patch}"
        if self.pre and self.pre[0][0] != 1:
            base += "-" + ".".join(str(v) for _, v in self.pre)
        return base

    def __str__(self) -> str:
        return self.text


def _pre_key(pre: str | None) -> tuple[tuple[int, int | str], ...]:
    # A release must sort after all its pre-releases: (1, 0) beats any (0, ...).
    if not pre:
        return ((1, 0),)
    parts: list[tuple[int, int | str]] = []
    for part in pre.split("."):
        parts.append((0, int(part)) if part.isdigit() else (0, part))
    return tuple(parts)


def parse_version(text: str) -> Version | None:
    """The first ``x.y.z[-pre]`` (optionally ``v``-prefixed) in ``text``, or None."""
    m = _VERSION_RE.search(text)
    if m is None:
        return None
    major, minor, patch, pre = m.groups()
    return Version(int(major), int(minor), int(patch), _pre_key(pre))


@dataclass(frozen=True, slots=True)
class VersionReading:
    """What one source said about a host's Postal version."""

    version: Version | None
    source: str
    """``image``, ``postal version``, ``VERSION file``, ``version.rb``, ``config``, ``demo``."""
    raw: str = ""
    """The text it was read from (an image reference, a command's output), cut to 200 characters."""
    reason: str = ""
    """Why ``version`` is None (a moving tag, a digest, no version in the text)."""

    @property
    def known(self) -> bool:
        """True when a version was read."""
        return self.version is not None


def parse_image_ref(ref: str) -> VersionReading:
    """Read the version from an image reference such as ``ghcr.io/postalserver/postal:3.3.4``.

    Accepts ``repo:tag``, ``repo:tag@sha256:…`` (the tag wins), bare tags (``3.3.4``, ``v3.3.4``),
    registry ports (``registry:5000/postal:3.3.4``). ``latest``-like tags and digest-only references
    give an unknown reading with the reason.
    """
    raw = ref.strip()[:200]
    text, _, digest = raw.partition("@")
    if _DIGEST_RE.fullmatch(text):
        text, digest = "", text
    if "/" in text or ":" in text:
        last = text.rsplit("/", 1)[-1]
        tag = last.rpartition(":")[2] if ":" in last else ""
    else:
        tag = text
    if tag.lower() in MOVING_TAGS:
        return VersionReading(None, "image", raw, f"tag {tag!r} follows a branch: read the VERSION file")
    version = parse_version(tag) if tag else None
    if version is not None:
        return VersionReading(version, "image", raw)
    if digest and not tag:
        return VersionReading(None, "image", raw, "image pinned by digest only: read the VERSION file")
    if not tag:
        return VersionReading(None, "image", raw, "image has no tag (docker uses latest)")
    return VersionReading(None, "image", raw, f"tag {tag!r} is not a version")


def parse_version_output(text: str, source: str = "postal version") -> VersionReading:
    """Read ``postal version`` output, the ``/opt/postal/app/VERSION`` file or a v2 ``version.rb``.

    ``0.0.0`` is what Postal reports when its VERSION file is missing: treated as unknown.
    """
    raw = text.strip()[:200]
    ruby = _RUBY_VERSION_RE.search(text)
    candidate = ruby[1] if ruby else text
    version = parse_version(candidate)
    if version is None:
        return VersionReading(None, source, raw, "no version in the output")
    if (version.major, version.minor, version.patch) == (0, 0, 0):
        return VersionReading(None, source, raw, "Postal reports 0.0.0 (no VERSION file in the image)")
    return VersionReading(version, source, raw)


def best_reading(readings: Iterable[VersionReading]) -> VersionReading | None:
    """The first reading that knows the version, else the first one (None when there is none)."""
    items = list(readings)
    for item in items:
        if item.known:
            return item
    return items[0] if items else None


# -- the release table ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Release:
    """One published Postal release."""

    version: Version
    date: str
    """``YYYY-MM-DD``."""
    security: bool = False
    note: str = ""


@dataclass(frozen=True, slots=True)
class ReleaseTable:
    """Known releases, oldest first."""

    releases: tuple[Release, ...]
    updated: str = ""
    source: str = "packaged"

    @property
    def latest(self) -> Release:
        """The newest release (stable releases preferred over pre-releases)."""
        stable = [r for r in self.releases if r.version.pre == ((1, 0),)]
        return (stable or list(self.releases))[-1]

    def find(self, version: Version) -> Release | None:
        """The release with exactly this version."""
        for release in self.releases:
            if release.version == version:
                return release
        return None


class ReleaseTableError(ValueError):
    """The release table text is not usable (the message says where)."""


def parse_releases(text: str, source: str = "packaged") -> ReleaseTable:
    """Parse a release table (the format of ``postaltop/data/releases.toml``).

    Raises:
        ReleaseTableError: invalid TOML, a release without a valid version or date, or no release.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ReleaseTableError(f"{source}: not valid TOML: {exc}") from None
    items = data.get("release")
    if not isinstance(items, list) or not items:
        raise ReleaseTableError(f"{source}: no [[release]] entries")
    releases: list[Release] = []
    for index, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise ReleaseTableError(f"{source}: release #{index} is not a table")
        version = parse_version(str(item.get("version", "")))
        date = str(item.get("date", ""))
        if version is None:
            raise ReleaseTableError(f"{source}: release #{index} has no valid version")
        if not re.fullmatch(r"\d{4}-\d\d-\d\d", date):
            raise ReleaseTableError(f"{source}: release {version} has no date YYYY-MM-DD")
        security = item.get("security", False)
        if not isinstance(security, bool):
            raise ReleaseTableError(f"{source}: release {version}: security must be true or false")
        releases.append(Release(version, date, security, str(item.get("note", ""))[:200]))
    releases.sort(key=lambda r: r.version)
    return ReleaseTable(tuple(releases), str(data.get("updated", "")), source)


@dataclass(frozen=True, slots=True)
class VersionStatus:
    """A version compared with the release table."""

    version: Version | None
    latest: Release
    behind: int = 0
    """Releases newer than ``version`` in the table."""
    missing_security: tuple[Release, ...] = ()
    """Newer releases flagged ``security``."""
    known_release: bool = True
    """False when ``version`` is not in the table (newer than the table, or a local build)."""
    newer_than_table: bool = False
    reason: str = ""
    """Why the version is unknown, when it is."""

    @property
    def up_to_date(self) -> bool:
        """Known and nothing newer."""
        return self.version is not None and self.behind == 0

    @property
    def severity(self) -> str:
        """``high`` (security fixes missing), ``medium`` (behind), ``low`` (unknown), ``ok``."""
        if self.version is None:
            return "low"
        if self.missing_security:
            return "high"
        return "medium" if self.behind else "ok"

    def describe(self) -> str:
        """One line: ``3.3.5 · 1 release behind 3.3.6 · security fixes missing: 3.3.6``."""
        if self.version is None:
            return f"version unknown ({self.reason})" if self.reason else "version unknown"
        text = str(self.version)
        if self.newer_than_table:
            return f"{text} · newer than the release table (latest known {self.latest.version})"
        if self.behind == 0:
            text += " · up to date"
        else:
            plural = "s" if self.behind != 1 else ""
            text += f" · {self.behind} release{plural} behind {self.latest.version}"
        if self.missing_security:
            text += " · security fixes missing: " + ", ".join(str(r.version) for r in self.missing_security)
        if not self.known_release:
            text += " · not a published release"
        return text

    def short(self) -> str:
        """Compact form for the host bar: ``3.3.5 -1 !sec``."""
        if self.version is None:
            return "v?"
        text = f"v{self.version}"
        if self.behind:
            text += f" -{self.behind}"
        if self.missing_security:
            text += " !sec"
        return text


def compare(reading: VersionReading | Version | None, table: ReleaseTable) -> VersionStatus:
    """Compare a version (or a reading) with ``table``."""
    reason = ""
    if isinstance(reading, VersionReading):
        reason = reading.reason
        version = reading.version
    else:
        version = reading
    latest = table.latest
    if version is None:
        return VersionStatus(None, latest, reason=reason or "not read")
    newer = [r for r in table.releases if r.version > version and r.version.pre == ((1, 0),)]
    return VersionStatus(
        version=version,
        latest=latest,
        behind=len(newer),
        missing_security=tuple(r for r in newer if r.security),
        known_release=table.find(version) is not None,
        newer_than_table=version > latest.version,
    )


@dataclass(frozen=True, slots=True)
class HostVersion:
    """One host's version state, as shown in the host bar and the review."""

    host: str
    reading: VersionReading | None
    status: VersionStatus
    containers: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    """``(container, image)`` pairs seen on the host."""
    error: str = ""


DEMO_HOST_IMAGES: dict[str, str] = {
    "mx1": "ghcr.io/postalserver/postal:3.3.6",
    "mx2": "ghcr.io/postalserver/postal:3.3.6",
    "mx3": "ghcr.io/postalserver/postal:3.3.5",
}
"""The simulated fleet's images: mx3 is one release behind and misses 3.3.6's security fixes."""


def demo_host_versions(table: ReleaseTable, hosts: Sequence[str] | None = None) -> list[HostVersion]:
    """Version states of the simulated hosts."""
    out: list[HostVersion] = []
    for host in hosts or list(DEMO_HOST_IMAGES):
        image = DEMO_HOST_IMAGES.get(host, DEMO_HOST_IMAGES["mx1"])
        reading = parse_image_ref(image)
        reading = VersionReading(reading.version, "demo", image, reading.reason)
        out.append(HostVersion(host, reading, compare(reading, table), (("postal-worker-1", image),)))
    return out
