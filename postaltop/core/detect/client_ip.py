"""Authenticated sending from a network a server (or credential) never used before (pure).

Postal's SMTP server logs, per connection, ``Client identified as <ip>`` and, on a successful AUTH,
``=> 235 Granted for <org>/<server>``; both carry the connection's ``trace_id``. Joining them ties a client
address to the mail server it authenticated for. The credential itself is only in the log for CRAM-MD5
(``Authenticated with with credential <id>``); for PLAIN/LOGIN the key is never logged, so the credential is
named only when the caller can attribute it (a server with a single SMTP credential) — see
:meth:`ClientNetworkDetector.granted`.

Addresses are grouped by network (IPv4 /24, IPv6 /48): a provider's pool moves within one. A scope learns
its usual networks from history (log lines older than the judged window: the backfill read at connect) and
while it has been observed for less than ``learn_for`` it only learns. Afterwards a session from a network
the scope never used is a finding (warning); ``critical_sessions`` sessions from it within ``window`` make it
critical. A new network stays "new" for ``novel_for`` seconds, then it is one of the scope's usual ones.
"""

from __future__ import annotations

import ipaddress
import re
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from functools import lru_cache

from postaltop.core.alerts import Finding, Scope, ScopeKind, Severity, SuggestedAction

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_DOTTED = re.compile(rf"({_OCTET}\.{_OCTET}\.{_OCTET})\.{_OCTET}")
"""A plain dotted IPv4 address (no leading zeros, as ``ipaddress`` requires): the common case."""


@lru_cache(maxsize=16384)
def network_of(ip: str) -> str | None:
    """``203.0.113.0/24`` for an IPv4 address, ``2001:db8:1::/48`` for IPv6; None if not an address.

    Cached, and a plain dotted IPv4 address skips ``ipaddress`` (~20 us a call; every SMTP session
    logs its client's address, so this runs once per session at ingest).
    """
    dotted = _DOTTED.fullmatch(ip)
    if dotted is not None:
        return f"{dotted[1]}.0/24"
    text = ip.strip().strip("[]")
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    prefix = 24 if addr.version == 4 else 48
    return str(ipaddress.ip_network(f"{addr}/{prefix}", strict=False))


@dataclass(frozen=True, slots=True)
class ClientNetworkSettings:
    """Thresholds of the client-network detector (seconds, sessions)."""

    learn_for: float = 3600.0
    """A scope observed for less than this (data time) only learns."""
    novel_for: float = 3600.0
    """How long a network stays new after its first session."""
    window: float = 600.0
    critical_sessions: int = 20
    """Sessions from one new network within ``window`` that make the finding critical."""
    max_sessions: int = 50_000
    """Open connections remembered for the join (oldest forgotten first)."""


@dataclass(slots=True)
class _ScopeState:
    first_seen: float
    known: dict[str, float] = field(default_factory=dict)
    """network -> first session."""
    recent: dict[str, deque[float]] = field(default_factory=dict)
    """new network -> its session times within the window."""


@dataclass(frozen=True, slots=True)
class Session:
    """One authenticated SMTP connection: where from, for which server."""

    trace_id: str
    ip: str
    network: str
    server: str
    ts: float
    host: str


class ClientNetworkDetector:
    """Joins ``Client identified`` and ``235 Granted`` by trace id and judges each session's network."""

    def __init__(self, settings: ClientNetworkSettings | None = None) -> None:
        self.settings = settings or ClientNetworkSettings()
        self._clients: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._scopes: dict[Scope, _ScopeState] = {}
        self._servers: dict[str, tuple[Scope, _ScopeState]] = {}
        """Server name -> its scope and the state in ``_scopes`` (no scope built and hashed per grant)."""
        self.sessions_joined = 0
        self.sessions_unjoined = 0
        """Grants whose ``Client identified`` line was not seen (started before the stream, or dropped)."""

    def identified(self, trace_id: str | None, ip: str, ts: float) -> None:
        """``Client identified as <ip>`` of connection ``trace_id``."""
        if not trace_id:
            return
        self._clients[trace_id] = (ip, ts)
        self._clients.move_to_end(trace_id)
        while len(self._clients) > self.settings.max_sessions:
            self._clients.popitem(last=False)

    def granted(
        self,
        trace_id: str | None,
        server: str,
        ts: float,
        host: str = "",
        credential: Scope | None = None,
    ) -> tuple[Session | None, list[Finding]]:
        """``235 Granted for <server>``: the session, and findings for the server (and ``credential``).

        ``credential`` is the credential scope when the caller knows it (CRAM-MD5's id, or a server with a
        single SMTP credential).
        """
        joined = self._join(trace_id)
        if joined is None:
            return None, []
        ip, network = joined
        session = Session(trace_id or "", ip, network, server, ts, host)
        return session, self._judge_all(server, credential, ts, ip, network, host)

    def grant(
        self, trace_id: str | None, server: str, ts: float, host: str = "", credential: Scope | None = None
    ) -> list[Finding]:
        """:meth:`granted` without building the session (what the signals call once per grant)."""
        joined = self._join(trace_id)
        if joined is None:
            return []
        return self._judge_all(server, credential, ts, joined[0], joined[1], host)

    def _join(self, trace_id: str | None) -> tuple[str, str] | None:
        """The client address and network of connection ``trace_id``, counting the grant as joined or not."""
        client = self._clients.get(trace_id) if trace_id else None
        network = None if client is None else network_of(client[0])
        if network is None or client is None:
            self.sessions_unjoined += 1
            return None
        self.sessions_joined += 1
        return client[0], network

    def _judge_all(
        self, server: str, credential: Scope | None, ts: float, ip: str, network: str, host: str
    ) -> list[Finding]:
        findings = []
        cached = self._servers.get(server)
        if cached is None:
            scope = Scope(ScopeKind.SERVER, server)
            cached = self._servers[server] = (scope, self._state(scope, ts))
        scope, state = cached
        # a network the server already uses and that is not new any more changes nothing (the usual case)
        if network not in state.known or network in state.recent:
            found = self._judge(scope, state, ts, ip, network, host)
            if found is not None:
                findings.append(found)
        if credential is not None:
            found = self._judge(credential, self._state(credential, ts), ts, ip, network, host)
            if found is not None:
                findings.append(found)
        return findings

    def _state(self, scope: Scope, ts: float) -> _ScopeState:
        """The state of ``scope``, created as first seen at ``ts`` when it has none."""
        state = self._scopes.get(scope)
        if state is None:
            state = self._scopes[scope] = _ScopeState(first_seen=ts)
        return state

    def learn(self, scope: Scope, ip: str, ts: float) -> None:
        """History: ``scope`` authenticated from ``ip`` at ``ts`` (before the judged stream). Only learns:
        the network becomes usual, and the scope counts as observed since ``ts`` (so a scope with
        ``learn_for`` of history is judged from its first live session)."""
        network = network_of(ip)
        if network is None:
            return
        state = self._state(scope, ts)
        state.first_seen = min(state.first_seen, ts)
        state.known[network] = min(state.known.get(network, ts), ts)

    def rearm(self, since: float) -> None:
        """History arrived after live sessions: a network first seen live (at or after ``since``) while its
        scope was only learning, but which the history shows the scope never used for ``learn_for`` before,
        is new after all — its next sessions are judged, as if the history had been there from the start."""
        for state in self._scopes.values():
            for network, first in state.known.items():
                armed = first - state.first_seen >= self.settings.learn_for
                if first >= since and armed and network not in state.recent:
                    state.recent[network] = deque()

    def known_networks(self, scope: Scope) -> dict[str, float]:
        """The networks ``scope`` has used (network -> first session)."""
        state = self._scopes.get(scope)
        return dict(state.known) if state is not None else {}

    def _judge(
        self, scope: Scope, state: _ScopeState, ts: float, ip: str, network: str, host: str
    ) -> Finding | None:
        s = self.settings
        first = state.known.get(network)
        if first is None:
            state.known[network] = ts
            first = ts
            if ts - state.first_seen < s.learn_for:
                return None
            state.recent[network] = deque()
        recent = state.recent.get(network)
        if recent is None:
            return None
        if ts - first > s.novel_for:
            del state.recent[network]
            return None
        recent.append(ts)
        while recent and recent[0] < ts - s.window:
            recent.popleft()
        critical = len(recent) >= s.critical_sessions
        usual = [n for n in sorted(state.known, key=state.known.__getitem__) if n not in state.recent][:3]
        return Finding(
            kind="client_network",
            scope=scope,
            metric="new_client_network",
            severity=Severity.CRITICAL if critical else Severity.WARNING,
            observed=float(len(recent)),
            expected=float(s.critical_sessions),
            why=(
                f"authenticated from {ip} ({network}), a network {scope.display} never used before; "
                f"{len(recent)} session(s) from it in {s.window / 60:.0f} min; usual: {', '.join(usual)}"
            ),
            ts=ts,
            source=host or "db",
            action=SuggestedAction("hold the credential if this network is not the customer's", "x"),
        )
