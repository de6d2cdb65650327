"""Per-credential and per-domain figures of one poll window, and the per-minute rate arithmetic (split from
:mod:`postaltop.core.dbmetrics`, which re-exports every name)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


def rate_per_minute(count: int, window_seconds: float) -> float:
    """``count`` events over ``window_seconds`` as events per minute (0 for an empty window)."""
    if window_seconds <= 0:
        return 0.0
    return count * 60.0 / window_seconds


@dataclass(frozen=True, slots=True)
class CredentialSample:
    """Messages submitted with one credential in the window (the key is never read)."""

    credential_id: int
    server_id: int
    name: str
    type: str
    """``SMTP``, ``API`` or ``SMTP-IP``; ``?`` when the credential row is gone."""
    count: int
    per_minute: float


@dataclass(frozen=True, slots=True)
class DomainSample:
    """One of a server's top recipient domains (outgoing) in the window."""

    server_id: int
    domain: str
    count: int
    per_minute: float


@dataclass(frozen=True, slots=True)
class CredentialDomainSample:
    """Outgoing messages one credential submitted to one recipient domain in the window.

    The novelty detector's input (a credential suddenly mailing many domains it never used).
    """

    credential_id: int
    server_id: int
    domain: str
    count: int


def credential_samples(
    server_id: int,
    rows: Iterable[tuple[str | None, int | None, str | None, int]],
    names: Mapping[int, tuple[str, str]],
    window_seconds: float,
) -> list[CredentialSample]:
    """Messages per credential from the message groups; ``names`` maps id -> (name, type)."""
    per_id: dict[int, int] = {}
    for _scope, cred, _domain, count in rows:
        if cred is not None and cred > 0:
            per_id[cred] = per_id.get(cred, 0) + int(count)
    out = []
    for cred, count in sorted(per_id.items(), key=lambda item: (-item[1], item[0])):
        name, kind = names.get(cred, (f"#{cred} (deleted)", "?"))
        out.append(
            CredentialSample(cred, server_id, name, kind, count, rate_per_minute(count, window_seconds))
        )
    return out


MAX_DOMAINS_PER_CREDENTIAL = 200
"""Most recipient domains reported per credential and poll (busiest first): novelty needs only dozens."""


def credential_domains(
    server_id: int,
    rows: Iterable[tuple[str | None, int | None, str | None, int]],
    limit: int = MAX_DOMAINS_PER_CREDENTIAL,
) -> list[CredentialDomainSample]:
    """Outgoing messages per (credential, recipient domain) from the message groups, ``limit`` per credential.

    Rows without a credential or a domain, and incoming rows, are left out.
    """
    per: dict[int, dict[str, int]] = {}
    for scope, cred, domain, count in rows:
        if scope != "outgoing" or cred is None or cred <= 0 or not domain:
            continue
        domains = per.setdefault(int(cred), {})
        key = domain.lower()
        domains[key] = domains.get(key, 0) + int(count)
    out: list[CredentialDomainSample] = []
    for cred in sorted(per):
        ranked = sorted(per[cred].items(), key=lambda item: (-item[1], item[0]))[: max(limit, 0)]
        out.extend(CredentialDomainSample(cred, server_id, d, c) for d, c in ranked)
    return out


def top_domains(
    server_id: int,
    rows: Iterable[tuple[str | None, int | None, str | None, int]],
    limit: int,
    window_seconds: float,
) -> list[DomainSample]:
    """The ``limit`` busiest outgoing recipient domains (ties broken by name, so output is stable)."""
    per_domain: dict[str, int] = {}
    for scope, _cred, domain, count in rows:
        if scope == "outgoing":
            key = (domain or "").lower()
            per_domain[key] = per_domain.get(key, 0) + int(count)
    ranked = sorted(per_domain.items(), key=lambda item: (-item[1], item[0]))[: max(limit, 0)]
    return [DomainSample(server_id, d, c, rate_per_minute(c, window_seconds)) for d, c in ranked]
