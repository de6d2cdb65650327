"""Fixtures of the watch/notify tests: local HTTP receivers and an SMTP sink."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.watch.receiver import Receiver, start_receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """An HTTP receiver standing in for Alertmanager / Slack / PagerDuty."""
    server = start_receiver()
    yield server
    server.close()
