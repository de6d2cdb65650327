"""Where postaltop keeps its files (XDG directories on Linux, via platformdirs).

Functions, not constants: the directories depend on ``XDG_*`` variables, which tests point at temporary trees.
Nothing here creates a directory except :func:`ensure_dir`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import platformdirs

APP_NAME = "postaltop"
"""Directory name used under every XDG base directory."""

CONFIG_FILE_NAME = "config.toml"
"""File name of the configuration inside :func:`config_dir`."""

DEMO_NAMESPACE = "demo"
"""Sub-directory of the data and state directories for everything the simulated fleet writes."""

_namespace = ""


@contextlib.contextmanager
def namespace(name: str) -> Iterator[None]:
    """Inside the block, :func:`data_dir` and :func:`state_dir` are their ``name`` sub-directory.

    The demo (``postaltop demo`` and every ``--demo``) runs inside :data:`DEMO_NAMESPACE`, so its audit
    trail, reviews, filters, baselines and alert state never mix with a real installation's.
    """
    global _namespace
    previous, _namespace = _namespace, name
    try:
        yield
    finally:
        _namespace = previous


def current_namespace() -> str:
    """The namespace in force (``""`` for real state)."""
    return _namespace


def _scoped(base: Path) -> Path:
    return base / _namespace if _namespace else base


def config_dir() -> Path:
    """Directory of the configuration file and trusted host keys (``$XDG_CONFIG_HOME/postaltop``)."""
    return Path(platformdirs.user_config_dir(APP_NAME))


def default_config_path() -> Path:
    """Where the configuration file is looked for when ``--config`` is not given."""
    return config_dir() / CONFIG_FILE_NAME


def data_dir() -> Path:
    """Durable data: baselines, alerts, audit, recordings (``$XDG_DATA_HOME/postaltop``; demo: ``…/demo``)."""
    return _scoped(Path(platformdirs.user_data_dir(APP_NAME)))


def state_dir() -> Path:
    """State worth keeping between runs but not precious (``$XDG_STATE_HOME/postaltop``; demo: ``…/demo``)."""
    return _scoped(Path(platformdirs.user_state_dir(APP_NAME)))


def cache_dir() -> Path:
    """Directory of disposable caches (``$XDG_CACHE_HOME/postaltop``)."""
    return Path(platformdirs.user_cache_dir(APP_NAME))


def known_hosts_path() -> Path:
    """SSH host keys trusted with ``postaltop hosts trust`` (kept apart from ``~/.ssh/known_hosts``)."""
    return config_dir() / "known_hosts"


def ensure_dir(path: Path) -> Path:
    """Create ``path`` (private to the user: mode 0700) if needed and return it."""
    from postaltop.private_files import private_dir

    return private_dir(path, own=True)
