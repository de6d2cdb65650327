"""Read Postal's ``postal.yml`` from a Postal host over SSH (host key checked, read-only: ``cat`` only).

The file usually belongs to root (Postal v3 installs it in ``/opt/postal/config``): when plain ``cat`` is
refused, ``sudo -n cat`` is tried (never a password prompt). The text is parsed with ``yaml.safe_load`` (no
object construction) and size-capped; the caller gets the database settings, never the raw text.
"""

from __future__ import annotations

import shlex
from typing import Any

import yaml

from postaltop.config import HostConfig
from postaltop.core.setup_discovery import PostalConfigError, PostalDatabase, parse_postal_config
from postaltop.sources.ssh import SshError, SshOptions, connect

DEFAULT_POSTAL_YML = "/opt/postal/config/postal.yml"
"""Where Postal v3's installer puts the configuration (mounted into the containers at ``/config``)."""

MAX_BYTES = 1_000_000


class PostalConfigUnavailable(Exception):
    """postal.yml could not be read or understood; ``str()`` is a sentence for the user (no secret in it)."""


async def read_postal_database(host: HostConfig, options: SshOptions, path: str) -> PostalDatabase:
    """The database settings of ``path`` on ``host``.

    Raises:
        PostalConfigUnavailable: SSH failed, the file is missing or unreadable, or it is not Postal's YAML.
    """
    try:
        handle = await connect(host, options)
    except SshError as exc:
        raise PostalConfigUnavailable(str(exc)) from None
    try:
        quoted = shlex.quote(path)
        result: Any = await handle.conn.run(f"head -c {MAX_BYTES} -- {quoted}", check=False)
        if result.exit_status != 0:
            result = await handle.conn.run(f"sudo -n head -c {MAX_BYTES} -- {quoted}", check=False)
        if result.exit_status != 0:
            reason = str(result.stderr or "").strip().splitlines()
            detail = reason[-1][:200] if reason else f"exit status {result.exit_status}"
            raise PostalConfigUnavailable(f"cannot read {path} on {host.name}: {detail}")
        text = (
            result.stdout
            if isinstance(result.stdout, str)
            else bytes(result.stdout).decode("utf-8", "replace")
        )
    finally:
        handle.close()
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise PostalConfigUnavailable(f"{path} on {host.name} is not valid YAML{where}") from None
    try:
        return parse_postal_config(data)
    except PostalConfigError as exc:
        raise PostalConfigUnavailable(f"{exc} ({path} on {host.name})") from None
