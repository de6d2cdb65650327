"""Every ``[notify]`` key is documented in docs/configuration.md and has a docstring."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from postaltop.config.sections.notify import (
    AlertmanagerChannelConfig,
    EmailChannelConfig,
    NotifyConfig,
    PagerDutyChannelConfig,
    SlackChannelConfig,
)
from tests.support.docstrings import field_docstrings

DOCS = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
REFUSED = {"webhook_url", "routing_key", "password"}

SECTIONS: list[tuple[str, type[BaseModel]]] = [
    ("", NotifyConfig),
    ("alertmanager.", AlertmanagerChannelConfig),
    ("slack.", SlackChannelConfig),
    ("pagerduty.", PagerDutyChannelConfig),
    ("email.", EmailChannelConfig),
]
CHANNELS = {"alertmanager", "slack", "pagerduty", "email"}


@pytest.mark.parametrize(
    ("prefix", "name", "model"),
    [(prefix, name, model) for prefix, model in SECTIONS for name in model.model_fields],
)
def test_notify_key_is_documented(prefix: str, name: str, model: type[BaseModel]) -> None:
    docs = DOCS.read_text(encoding="utf-8")
    assert field_docstrings(model).get(name), f"notify.{prefix}{name} has no docstring"
    if name in CHANNELS and not prefix:
        assert f"[notify.{name}]" in docs
    elif name in REFUSED:
        assert f"`{name} = " in docs or f"{name} = " in docs  # explained as refused
    else:
        assert f"`{prefix}{name}`" in docs or f"`{prefix}{name}` /" in docs or f"{prefix}{name}" in docs
        env = f"POSTALTOP_NOTIFY__{prefix.rstrip('.').upper() + '__' if prefix else ''}{name.upper()}"
        assert env in docs or env.rsplit("_", 1)[0] in docs, env
