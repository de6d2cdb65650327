"""Version parsing on real tag formats and the comparison with the packaged release table."""

from __future__ import annotations

import pytest

from postaltop.core.versions import (
    ReleaseTableError,
    compare,
    demo_host_versions,
    parse_image_ref,
    parse_releases,
    parse_version,
    parse_version_output,
)
from postaltop.sources.host_version import load_release_table, parse_ps


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("ghcr.io/postalserver/postal:3.3.4", "3.3.4"),
        ("ghcr.io/postalserver/postal:3.3.6", "3.3.6"),
        ("3.3.4", "3.3.4"),
        ("v3.3.4", "3.3.4"),
        ("postalserver/postal:2.1.1", "2.1.1"),
        ("registry.example:5000/mirror/postal:3.2.1", "3.2.1"),
        ("ghcr.io/postalserver/postal:3.3.4@sha256:" + "b" * 64, "3.3.4"),
        ("ghcr.io/postalserver/postal:2.0.0-beta.1", "2.0.0-beta.1"),
    ],
)
def test_image_tags_name_their_release(ref: str, expected: str) -> None:
    reading = parse_image_ref(ref)
    assert reading.known and str(reading.version) == expected


@pytest.mark.parametrize(
    ("ref", "why"),
    [
        ("ghcr.io/postalserver/postal:latest", "follows a branch"),
        ("latest", "follows a branch"),
        ("ghcr.io/postalserver/postal:main", "follows a branch"),
        ("ghcr.io/postalserver/postal@sha256:" + "a" * 64, "digest"),
        ("sha256:" + "c" * 64, "digest"),
        ("ghcr.io/postalserver/postal", "no tag"),
        ("ghcr.io/postalserver/postal:custom-build", "not a version"),
    ],
)
def test_moving_tags_and_digests_are_unknown_with_a_reason(ref: str, why: str) -> None:
    reading = parse_image_ref(ref)
    assert not reading.known
    assert why in reading.reason


def test_postal_version_output_version_file_and_v2_ruby_file() -> None:
    assert str(parse_version_output("3.3.4\n").version) == "3.3.4"
    assert str(parse_version_output("Postal v3.2.1 (branch main)").version) == "3.2.1"
    v2 = "module Postal\n  VERSION = '2.1.1'\n  REVISION = nil\nend\n"
    assert str(parse_version_output(v2, "version.rb").version) == "2.1.1"
    missing = parse_version_output("0.0.0\n")
    assert not missing.known and "0.0.0" in missing.reason
    assert not parse_version_output("docker: command not found").known


def test_prerelease_sorts_before_its_release() -> None:
    beta, final = parse_version("2.0.0-beta.1"), parse_version("2.0.0")
    assert beta is not None and final is not None and beta < final


def test_comparison_with_the_packaged_table() -> None:
    table = load_release_table()
    assert str(table.latest.version) == "3.3.6"
    assert [str(r.version) for r in table.releases if r.security] == [
        "2.0.0-beta.1",
        "3.0.0",
        "3.3.5",
        "3.3.6",
    ]
    old = compare(parse_image_ref("ghcr.io/postalserver/postal:3.3.4"), table)
    assert old.behind == 2
    assert [str(r.version) for r in old.missing_security] == ["3.3.5", "3.3.6"]
    assert old.severity == "high"
    assert (
        "2 releases behind 3.3.6" in old.describe()
        and "security fixes missing: 3.3.5, 3.3.6" in old.describe()
    )
    v2 = compare(parse_version("2.3.2"), table)
    assert v2.behind == 15 and "3.0.0" in v2.describe()
    current = compare(parse_version("3.3.6"), table)
    assert current.up_to_date and current.severity == "ok" and current.short() == "v3.3.6"
    unknown = compare(parse_image_ref("ghcr.io/postalserver/postal:latest"), table)
    assert unknown.version is None and "follows a branch" in unknown.describe()
    newer = compare(parse_version("3.4.0"), table)
    assert newer.newer_than_table and newer.behind == 0


def test_operator_table_refreshes_the_packaged_one(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "releases.toml"
    path.write_text(
        '[[release]]\nversion = "3.3.6"\ndate = "2026-04-28"\nsecurity = true\n'
        '[[release]]\nversion = "3.4.0"\ndate = "2026-07-01"\nsecurity = true\nnote = "new"\n'
    )
    table = load_release_table(path)
    status = compare(parse_version("3.3.6"), table)
    assert status.behind == 1 and [str(r.version) for r in status.missing_security] == ["3.4.0"]
    with pytest.raises(ReleaseTableError, match="no valid version"):
        parse_releases('[[release]]\nversion = "x"\ndate = "2026-01-01"\n')
    with pytest.raises(ReleaseTableError, match="no \\[\\[release\\]\\]"):
        parse_releases("updated = 1\n")


def test_demo_fleet_has_one_host_behind_with_a_security_fix_missing() -> None:
    versions = {v.host: v for v in demo_host_versions(load_release_table())}
    assert versions["mx1"].status.up_to_date
    assert versions["mx3"].status.behind == 1
    assert [str(r.version) for r in versions["mx3"].status.missing_security] == ["3.3.6"]


def test_docker_ps_output_is_parsed_and_bad_names_dropped() -> None:
    out = (
        "postal-web-1\tghcr.io/postalserver/postal:3.3.6\nbad;name\tx\n"
        "postal-worker-1 ghcr.io/postalserver/postal:3.3.6\n"
    )
    assert parse_ps(out) == [
        ("postal-web-1", "ghcr.io/postalserver/postal:3.3.6"),
        ("postal-worker-1", "ghcr.io/postalserver/postal:3.3.6"),
    ]
