"""The TUI's start-up check: the configuration is validated in a forked child while the parent imports the UI.

Validating the configuration needs pydantic and the config models (~200 ms of imports), as much as Textual
itself; done in turn, the two put the first frame at ~2.5x a bare Textual app's. A bad configuration must
still never open the UI (its error is printed and the exit status is 2). So :func:`start` forks a child
*before any thread exists*; the child loads and validates the configuration exactly as before
(:func:`postaltop.config.load_settings`) and writes its verdict to a pipe: either what the first frame shows
(host names, whether a database is configured, the ``[ui]`` theme, keymap and follow mode, the warnings: no
secret) or the :class:`ConfigError` message, which is what the sequential path prints. Meanwhile the parent
imports Textual and the app; :meth:`Pending.result` then waits for the verdict before anything is drawn. The
full settings are loaded again in the parent after the first frame (:meth:`FirstFrame.load`), where the run
needs them.

Without ``os.fork``, with a thread already running (forking then is unsafe), or when the child ends without a
usable verdict (an unexpected error, killed), the check runs in the parent, as before: the same exceptions,
the same messages.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from postaltop.config_error import ConfigError

if TYPE_CHECKING:
    from postaltop.config import LoadedSettings

MAX_VERDICT_BYTES = 4_000_000
"""A verdict larger than this is not the child's (a config file is at most 1 MB): checked here instead."""


@dataclass(frozen=True, slots=True)
class UiChoices:
    """The ``[ui]`` settings the first frame uses (the validated values of ``UiConfig``)."""

    theme: str = "dark"
    keymap: Mapping[str, str] = field(default_factory=dict)
    follow: bool = True


@dataclass(frozen=True)
class FirstFrame:
    """What the first frame shows of a configuration that was validated (by the child or here)."""

    path: Path | None
    """The file given with ``--config`` (None: the default location)."""
    source: Path | None
    """The config file that was read (None: defaults and environment only)."""
    hosts: tuple[str, ...]
    """The ``[[hosts]]`` names, in order."""
    database: bool
    """A ``[database]`` is configured."""
    ui: UiChoices
    warnings: tuple[str, ...] = ()
    """Problems that did not stop loading, to print before the UI opens."""
    loaded: LoadedSettings | None = None
    """The full settings when the check ran in this process (else :meth:`load` reads them)."""

    @property
    def is_configured(self) -> bool:
        """True when there is something to monitor (a database or at least one host)."""
        return self.database or bool(self.hosts)

    def load(self) -> LoadedSettings:
        """The full, validated settings (imports pydantic; called after the first frame).

        Raises:
            ConfigError: when the file changed since the check and is no longer valid.
        """
        if self.loaded is not None:
            return self.loaded
        from postaltop.config import load_settings

        return load_settings(self.path)


def frame_fields(loaded: LoadedSettings) -> dict[str, Any]:
    """The JSON-able part of a :class:`FirstFrame` (names and UI choices only: never a secret)."""
    settings = loaded.settings
    ui = settings.ui
    return {
        "source": None if loaded.settings_source is None else str(loaded.settings_source),
        "hosts": [host.name for host in settings.hosts],
        "database": settings.database is not None,
        "ui": {"theme": ui.theme, "keymap": dict(ui.keymap), "follow": ui.follow},
        "warnings": list(loaded.warnings),
    }


def frame_from(
    path: Path | None, fields: Mapping[str, Any], loaded: LoadedSettings | None = None
) -> FirstFrame:
    """A :class:`FirstFrame` from :func:`frame_fields`' output."""
    ui = fields["ui"]
    source = fields["source"]
    return FirstFrame(
        path=path,
        source=None if source is None else Path(source),
        hosts=tuple(str(name) for name in fields["hosts"]),
        database=bool(fields["database"]),
        ui=UiChoices(str(ui["theme"]), {str(k): str(v) for k, v in ui["keymap"].items()}, bool(ui["follow"])),
        warnings=tuple(str(w) for w in fields["warnings"]),
        loaded=loaded,
    )


def check_here(path: Path | None) -> FirstFrame:
    """The check in this process (the sequential path).

    Raises:
        ConfigError: when the configuration is unusable (and whatever else loading raised).
    """
    from postaltop.config import load_settings

    loaded = load_settings(path)
    return frame_from(path, frame_fields(loaded), loaded)


def verdict(path: Path | None) -> dict[str, Any]:
    """What the child reports: ``{"verdict": "ok", ...frame fields}`` or ``{"verdict": "config-error", ...}``.

    Any other exception propagates (the child then reports nothing and the parent checks again itself).
    """
    try:
        frame = check_here(path)
    except ConfigError as exc:
        return {"verdict": "config-error", "message": exc.message}
    assert frame.loaded is not None
    return {"verdict": "ok", **frame_fields(frame.loaded)}


def can_fork() -> bool:
    """Fork only where it is safe: POSIX, and no other thread whose locks the child would inherit held."""
    return hasattr(os, "fork") and threading.active_count() == 1


@dataclass
class Pending:
    """A check under way (:func:`start`); :meth:`result` waits for it."""

    path: Path | None
    pid: int | None = None
    """The child's process id (None: the check runs in :meth:`result`)."""
    fd: int | None = None
    """The reading end of the child's pipe."""

    def result(self) -> FirstFrame:
        """The child's verdict (waiting for it), or the check run here when there is no usable verdict.

        Raises:
            ConfigError: the configuration is unusable (the child's message, or this process's).
        """
        if self.pid is None or self.fd is None:
            return check_here(self.path)
        data = _read_all(self.fd)
        self.fd = None
        os.waitpid(self.pid, 0)
        self.pid = None
        report = _parse(data)
        if report is None:
            return check_here(self.path)
        if report["verdict"] == "config-error":
            raise ConfigError(str(report["message"]))
        return frame_from(self.path, report)


def start(path: Path | None) -> Pending:
    """Start checking the configuration at ``path`` (``--config``; None: the default) in a child process.

    Call it before any thread is started; without a safe fork the check waits for :meth:`Pending.result`.
    """
    if not can_fork():
        return Pending(path)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(read_end)
        _child(path, write_end)
    os.close(write_end)
    return Pending(path, pid, read_end)


def _child(path: Path | None, fd: int) -> None:
    """Validate, write the verdict, leave with ``os._exit`` (no cleanup of the parent's state runs here)."""
    code = 1
    try:
        data = json.dumps(verdict(path)).encode("utf-8")
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        code = 0
    except BaseException:  # an unexpected failure: the parent, finding no verdict, checks again itself
        pass
    finally:
        os._exit(code)


def _read_all(fd: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    try:
        while size <= MAX_VERDICT_BYTES:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks)


def _parse(data: bytes) -> dict[str, Any] | None:
    """The child's report, or None when it is not a complete one (the child failed or was killed)."""
    try:
        report = json.loads(data.decode("utf-8"))
    except ValueError:
        return None
    if not isinstance(report, dict):
        return None
    if report.get("verdict") == "config-error" and isinstance(report.get("message"), str):
        return report
    keys = ("source", "hosts", "database", "ui", "warnings")
    if report.get("verdict") == "ok" and all(key in report for key in keys):
        return report
    return None
