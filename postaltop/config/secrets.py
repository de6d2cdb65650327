"""Read a channel secret (webhook URL, routing key, SMTP password) from the environment or a 0600 file.

A secret is never taken from the configuration file itself, never logged and never put into an error message.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

MAX_SECRET_BYTES = 16_384


class SecretError(Exception):
    """A secret could not be read; the message names where it was looked for, never its value."""


def read_secret(
    what: str, env: str | None, file: Path | None, environ: Mapping[str, str] | None = None
) -> str:
    """The secret named by ``env`` (an environment variable) or ``file`` (a file readable by its owner only).

    Args:
        what: a human name for error messages (``slack webhook_url``).
        env: name of the environment variable holding the secret.
        file: path of a file holding it (surrounding whitespace is stripped); must not be readable or writable
            by group or others.
        environ: the environment (tests); defaults to ``os.environ``.

    Raises:
        SecretError: when neither is set, the variable is empty, or the file is missing, too open or empty.
    """
    environ = os.environ if environ is None else environ
    if env:
        value = environ.get(env, "").strip()
        if not value:
            raise SecretError(f"{what}: the environment variable {env} is not set or empty")
        return value
    if file is not None:
        path = file.expanduser()
        try:
            info = path.stat()
        except OSError as exc:
            raise SecretError(f"{what}: cannot read {path}: {exc.strerror or exc}") from None
        if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise SecretError(
                f"{what}: {path} is readable by others (mode {stat.S_IMODE(info.st_mode):04o}); "
                f"run `chmod 600 {path}`"
            )
        try:
            data = path.read_bytes()[:MAX_SECRET_BYTES]
        except OSError as exc:
            raise SecretError(f"{what}: cannot read {path}: {exc.strerror or exc}") from None
        value = data.decode("utf-8", "replace").strip()
        if not value:
            raise SecretError(f"{what}: {path} is empty")
        return value
    raise SecretError(f"{what}: set the name of an environment variable (_env) or a 0600 file (_file)")
