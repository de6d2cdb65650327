"""Gate tests on real services: skip locally with a reason, fail under CI.

``.ci/run`` exports ``POSTALTOP_REQUIRE_SERVICES=1``; then a missing MariaDB or sshd is a
test failure, never a silent skip.
"""

from __future__ import annotations

import os

import pytest


def services_required() -> bool:
    """True when missing services must fail the run (CI)."""
    return os.environ.get("POSTALTOP_REQUIRE_SERVICES", "") not in ("", "0", "false", "no")


def missing_service(reason: str) -> None:
    """Skip the calling test with ``reason``, or fail it when services are required."""
    if services_required():
        pytest.fail(f"required service missing (POSTALTOP_REQUIRE_SERVICES=1): {reason}", pytrace=False)
    pytest.skip(reason)
