"""Discovery of organizations, servers and message databases on a realistic dataset."""

from __future__ import annotations

import ssl

import pytest

from postaltop.config import DatabaseConfig
from postaltop.sources import db_queries as q
from postaltop.sources.db_connect import build_ssl_context
from postaltop.sources.postal_db import PostalDbSource
from tests.support.postal_builder import Dataset

pytestmark = pytest.mark.mysql


async def test_discovers_live_servers_with_effective_suspension(
    source: PostalDbSource, dataset: Dataset
) -> None:
    servers = {s.id: s for s in await source.discover()}
    # 7 belongs to a soft-deleted organization, 8 is soft-deleted itself.
    assert sorted(servers) == [1, 2, 3, 4, 5, 6]
    assert servers[1].full_permalink == "acme/main"
    assert (servers[1].mode, servers[3].mode) == ("Live", "Development")
    assert (servers[1].send_limit, servers[2].send_limit, servers[3].send_limit) == (5000, 300, None)
    assert servers[4].suspended and servers[4].suspension_reason == "Spam complaints"
    # Only the organization is suspended: the org's reason shows.
    assert servers[5].suspended and servers[5].suspension_reason == "Unpaid invoice"
    assert not servers[1].suspended and servers[1].suspension_reason is None
    assert servers[2].message_db == f"{dataset.prefix}-server-2"
    assert [s.id for s in servers.values() if not s.message_db_exists] == [6]


async def test_missing_message_db_marks_only_that_server(source: PostalDbSource) -> None:
    result = await source.poll_once()
    assert result.connected
    by_id = {s.server_id: s for s in result.samples}
    assert by_id[6].error == "message database missing"
    assert by_id[6].stale
    for sid in (1, 2, 3, 4, 5):
        assert by_id[sid].error is None and not by_id[sid].stale, by_id[sid]
    assert any("acme/ghost (#6): message database missing" in e for e in result.errors)


def test_message_db_identifiers_only_from_ints_and_valid_prefix() -> None:
    assert q.message_db_ident("postal", 12) == "`postal-server-12`"
    assert (
        q.for_server("SELECT 1 FROM {db}.`messages`", "pt_ab", 3)
        == "SELECT 1 FROM `pt_ab-server-3`.`messages`"
    )
    for bad_prefix in ("", "a-b", "x`y", "p;DROP", "a" * 49, "é"):
        with pytest.raises(ValueError):
            q.message_db_ident(bad_prefix, 1)
    for bad_id in (0, -1, True, "1", 1.0):
        with pytest.raises(ValueError):
            q.message_db_ident("postal", bad_id)  # type: ignore[arg-type]
    assert q.message_db_pattern("pt_ab") == "pt\\_ab-server-%"
    assert q.for_main(q.QUEUE, "postal", 3).count("%s") == 3


def test_tls_context_follows_config() -> None:
    assert build_ssl_context(DatabaseConfig()) is None
    verified = build_ssl_context(DatabaseConfig(tls=True))
    assert verified is not None and verified.verify_mode == ssl.CERT_REQUIRED and verified.check_hostname
    unverified = build_ssl_context(DatabaseConfig(tls=True, tls_verify=False))
    assert (
        unverified is not None and unverified.verify_mode == ssl.CERT_NONE and not unverified.check_hostname
    )
