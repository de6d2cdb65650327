"""What screens and widgets read of the running app, typed: the engine, the message lookup, host versions.

:class:`~postaltop.ui.app.PostaltopApp` (and the replay app, its subclass) provides these; a screen or widget
asks :func:`app_services` for them instead of reading attributes off the App untyped. A test app hosting a
single widget provides none, and gets None.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from postaltop.engine import Engine
    from postaltop.runtime.interfaces import MessageLookup


@runtime_checkable
class AppServices(Protocol):
    """The running app's engine, message lookup (None without a database) and known Postal versions."""

    engine: Engine
    message_lookup: MessageLookup | None
    host_versions: dict[str, str]


def app_services(app: object) -> AppServices | None:
    """``app`` as :class:`AppServices` when it provides them (a postaltop app), else None."""
    return app if isinstance(app, AppServices) else None
