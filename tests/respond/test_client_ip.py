"""Client-network novelty: Postal's SMTP lines joined by trace id, judged per server and credential (pure)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postaltop.core.alerts import Scope, ScopeKind, Severity
from postaltop.core.detect.client_ip import (
    ClientNetworkDetector,
    ClientNetworkSettings,
    network_of,
)

SERVER = "acme/transactional"
CRED = Scope(ScopeKind.CREDENTIAL, "3", "main smtp")


@pytest.mark.parametrize(
    ("ip", "net"),
    [
        ("203.0.113.45", "203.0.113.0/24"),
        ("2001:db8:1:2::5", "2001:db8:1::/48"),
        ("::ffff:198.51.100.7", "198.51.100.0/24"),
        ("[2001:db8::1]", "2001:db8::/48"),
        ("not-an-ip", None),
        ("203.0.113.45\x1b[0m", None),
        ("", None),
    ],
)
def test_network_of(ip: str, net: str | None) -> None:
    assert network_of(ip) == net


@pytest.mark.parametrize(
    "ip",
    ["0.0.0.0", "255.255.255.255", "10.1.2.3", "256.1.2.3", "01.2.3.4", "1.2.3", "1.2.3.4.5", " 1.2.3.4",
     "1.2.3.4 ", "1.2.3.04", "192.168.1.255", "1.2.3.-1", "1..2.3", "[1.2.3.4]", "::1.2.3.4", "1.2.3.٤"],
)  # fmt: skip
def test_network_of_fast_path_agrees_with_ipaddress(ip: str) -> None:
    """The dotted IPv4 fast path gives what the ``ipaddress`` path gives, for valid and invalid text."""
    import ipaddress

    text = ip.strip().strip("[]")
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        expected = None
    else:
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped
        prefix = 24 if addr.version == 4 else 48
        expected = str(ipaddress.ip_network(f"{addr}/{prefix}", strict=False))
    assert network_of(ip) == expected


def session(det: ClientNetworkDetector, n: int, ip: str, ts: float, credential: Scope | None = None) -> list:
    trace = f"T{n:07d}"
    det.identified(trace, ip, ts)
    _session, findings = det.granted(trace, SERVER, ts, "mx1", credential)
    return findings


def test_learns_usual_networks_then_flags_a_new_one_and_escalates_with_volume() -> None:
    det = ClientNetworkDetector(ClientNetworkSettings(learn_for=3600, critical_sessions=5, window=600))
    n = 0
    for minute in range(120):  # two hours of the customer's two app servers
        for ip in ("203.0.113.10", "203.0.113.77", "198.51.100.4"):
            n += 1
            assert session(det, n, ip, minute * 60.0, CRED) == []
    t = 7200.0
    first = session(det, 10_000, "192.0.2.250", t, CRED)
    assert {f.scope for f in first} == {Scope(ScopeKind.SERVER, SERVER), CRED}
    assert all(f.severity is Severity.WARNING for f in first)
    assert "192.0.2.0/24" in first[0].why and "203.0.113.0/24" in first[0].why
    for i in range(1, 5):
        found = session(det, 10_000 + i, f"192.0.2.{i}", t + i * 10, CRED)
    assert all(f.severity is Severity.CRITICAL for f in found), "5 sessions in 10 min from the new network"
    assert session(det, 20_000, "203.0.113.99", t + 100, CRED) == [], "a known network"
    assert session(det, 30_000, "192.0.2.9", t + 3700, CRED) == [], "new for an hour only"


def test_a_new_server_only_learns_at_first() -> None:
    det = ClientNetworkDetector(ClientNetworkSettings(learn_for=3600))
    assert session(det, 1, "203.0.113.10", 0.0) == []
    assert session(det, 2, "192.0.2.1", 60.0) == [], "still learning"


def test_grants_without_a_client_line_are_counted_not_guessed() -> None:
    det = ClientNetworkDetector()
    sess, findings = det.granted("NOTSEEN1", SERVER, 0.0)
    assert sess is None and findings == []
    det.identified("BADIP001", "999.1.1.1", 0.0)
    assert det.granted("BADIP001", SERVER, 1.0) == (None, [])
    assert det.sessions_unjoined == 2
    assert det.sessions_joined == 0


def test_the_join_memory_is_bounded() -> None:
    det = ClientNetworkDetector(ClientNetworkSettings(max_sessions=100))
    for i in range(1000):
        det.identified(f"T{i}", "203.0.113.1", float(i))
    assert det.granted("T0", SERVER, 2000.0)[0] is None
    assert det.granted("T999", SERVER, 2000.0)[0] is not None


def test_client_identified_fact_in_normal_and_proxy_protocol_mode() -> None:
    from postaltop.core.facts import ClientIdentified, extract_fact

    head = b"2026-04-28 09:14:07 +0000 DEBUG  "
    normal = head + b"Client identified as 203.0.113.45 trace_id=Q7RZK2PD component=smtp-server"
    proxy = head + b"\x1b[35mClient identified as 2001:db8::5\x1b[0m trace_id=Q7RZK2PD component=smtp-server"
    hostile = head + b"Client identified as \x1b]0;pwn\x07 trace_id=X component=smtp-server"
    assert extract_fact(normal, 33, ts=1.0, host="mx1", seq=1) == ClientIdentified(
        1.0, "mx1", 1, "203.0.113.45", "Q7RZK2PD"
    )
    fact = extract_fact(proxy, 33, ts=1.0, host="mx1", seq=2)
    assert isinstance(fact, ClientIdentified) and fact.ip == "2001:db8::5"
    assert extract_fact(hostile, 33, ts=1.0, host="mx1", seq=3) is None


def test_history_read_back_at_connect_arms_the_detector_at_once() -> None:
    det = ClientNetworkDetector(ClientNetworkSettings(learn_for=3600))
    scope = Scope(ScopeKind.SERVER, SERVER)
    t0 = 1_000_000.0
    det.learn(scope, "203.0.113.10", t0)  # an hour of history, before the stream
    det.learn(scope, "203.0.113.99", t0 + 1800)
    assert set(det.known_networks(scope)) == {"203.0.113.0/24"}
    live = t0 + 3600
    assert session(det, 1, "203.0.113.50", live) == [], "a usual network is not a finding"
    [finding] = session(det, 2, "192.0.2.7", live + 10)
    assert finding.kind == "client_network" and "192.0.2.0/24" in finding.why
    fresh = ClientNetworkDetector(ClientNetworkSettings(learn_for=3600))
    assert session(fresh, 1, "203.0.113.50", live) == []
    assert session(fresh, 2, "192.0.2.7", live + 10) == [], "without history it only learns at first"


def test_a_network_learnt_live_before_the_history_arrived_is_new_after_all() -> None:
    det = ClientNetworkDetector(ClientNetworkSettings(learn_for=3600))
    scope = Scope(ScopeKind.SERVER, SERVER)
    t0 = 1_000_000.0
    live = t0 + 3600
    assert session(det, 1, "203.0.113.50", live) == []  # only learning: no history yet
    assert session(det, 2, "192.0.2.7", live + 5) == []
    det.learn(scope, "203.0.113.10", t0)
    det.rearm(live)
    assert session(det, 3, "203.0.113.51", live + 20) == [], "a network of the history stays usual"
    [finding] = session(det, 4, "192.0.2.8", live + 30)
    assert "192.0.2.0/24" in finding.why


class _Unskipped(ClientNetworkDetector):
    """The judgement without the usual-network skip or the per-server cache (what ``granted`` did before)."""

    def _judge_all(self, server, credential, ts, ip, network, host):  # type: ignore[no-untyped-def]
        findings = []
        for scope in [Scope(ScopeKind.SERVER, server)] + ([credential] if credential is not None else []):
            found = self._judge(scope, self._state(scope, ts), ts, ip, network, host)
            if found is not None:
                findings.append(found)
        return findings


_step = st.tuples(
    st.sampled_from(["session", "session", "session", "learn", "rearm"]),
    st.sampled_from(["a/one", "a/two"]),
    st.sampled_from(["203.0.113.9", "198.51.100.7", "192.0.2.1", "2001:db8::1", "bad"]),
    st.floats(0, 900),
    st.booleans(),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_step, max_size=80))
def test_grant_judges_like_the_unskipped_detector(steps: list[tuple[str, str, str, float, bool]]) -> None:
    """Skipping a usual network and caching the server's scope change no finding and no state."""
    settings_ = ClientNetworkSettings(learn_for=1200, novel_for=2400, window=600, critical_sessions=3)
    fast, ref = ClientNetworkDetector(settings_), _Unskipped(settings_)
    ts = 0.0
    for n, (what, server, ip, step, with_cred) in enumerate(steps):
        ts += step
        cred = CRED if with_cred else None
        for det in (fast, ref):
            if what == "learn":
                det.learn(Scope(ScopeKind.SERVER, server), ip, ts - 5000)
            elif what == "rearm":
                det.rearm(ts)
            else:
                det.identified(f"T{n}", ip, ts)
        if what == "session":
            assert (
                fast.grant(f"T{n}", server, ts, "mx1", cred)
                == ref.granted(f"T{n}", server, ts, "mx1", cred)[1]
            )
    for scope in (Scope(ScopeKind.SERVER, "a/one"), Scope(ScopeKind.SERVER, "a/two"), CRED):
        assert fast.known_networks(scope) == ref.known_networks(scope)
    assert (fast.sessions_joined, fast.sessions_unjoined) == (ref.sessions_joined, ref.sessions_unjoined)
