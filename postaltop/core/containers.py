"""Docker container names as Docker allows them: the one check before a name goes into a command line."""

from __future__ import annotations

import re

CONTAINER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
"""A container (or compose service) name: a letter or digit, then letters, digits, ``_``, ``.``, ``-``."""


def is_container_name(text: str) -> bool:
    """True when ``text`` is a whole, valid container name (safe to pass to ``docker``)."""
    return CONTAINER_NAME.fullmatch(text) is not None
