"""Screens and widgets read the app's engine, message lookup and host versions through a typed protocol."""

from __future__ import annotations

from textual.app import App

from postaltop.ui.services import app_services
from tests.ui import make_app, make_engine


async def _lookup(ref: str) -> object:
    return ref


def test_the_postaltop_app_provides_its_services() -> None:
    engine = make_engine()
    app = make_app(engine, message_lookup=_lookup, host_versions={"mx1": "3.3.4"})
    services = app_services(app)
    assert services is not None
    assert services.engine is engine
    assert services.message_lookup is _lookup
    assert services.host_versions == {"mx1": "3.3.4"}


def test_an_app_hosting_one_widget_provides_none() -> None:
    assert app_services(App[None]()) is None
