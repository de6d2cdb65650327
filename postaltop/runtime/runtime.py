"""The object that owns a run: engine, monitor, sources, stores, actions and the recording.

Built by :func:`~postaltop.runtime.build.build_runtime` from the settings and the mode; a front end (the TUI,
``watch``) then drives it::

    runtime = build_runtime(loaded, RuntimeOptions(mode="demo", scenario="compromised-credential"))
    runtime.start()                  # open the recording; from here every input is recorded
    ...run runtime.engine.run() and each of runtime.sources...
    runtime.reload()                 # SIGHUP in watch: re-read the file, apply what can change live
    runtime.stop()                   # stop reading versions, finish the recording, unsubscribe

Nothing here imports Textual: the UI reads the engine and the monitor and sends intents through
:mod:`postaltop.runtime.interfaces`.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from postaltop.config import ConfigError, LoadedSettings, load_settings
from postaltop.engine import Engine
from postaltop.monitoring import Monitor
from postaltop.recording.file import Recorder
from postaltop.recording.replay import ReplayController
from postaltop.runtime.actions import Actions
from postaltop.runtime.detection import DetectionSeeds
from postaltop.runtime.filters import FileFilterHistory
from postaltop.runtime.interfaces import MessageLookup

Mode = Literal["live", "demo", "replay"]
SourceTask = Callable[[], Coroutine[Any, Any, None]]
"""A factory of a coroutine that feeds the engine (a Textual worker in the TUI, a task in ``watch``)."""
VersionCallback = Callable[[str, str], None]
"""``(host, text)``: a host's Postal version as the host bar shows it (``v3.3.5 -1 !sec``)."""

LIVE_SECTIONS = ("actions",)
"""Sections :meth:`Runtime.reload` applies without a restart."""


@dataclass(frozen=True, slots=True)
class NamedSource:
    """One source of the engine's input."""

    name: str
    run: SourceTask


@dataclass(frozen=True, slots=True)
class Reload:
    """What :meth:`Runtime.reload` did."""

    applied: tuple[str, ...] = ()
    """Changed sections now in effect."""
    restart_needed: tuple[str, ...] = ()
    """Changed sections that take effect at the next start."""
    error: str | None = None
    """Why the file was not reloaded (the running settings stay)."""


@dataclass
class Runtime:
    """One run's parts, typed; see the module text for the lifecycle."""

    loaded: LoadedSettings
    mode: Mode
    engine: Engine
    label: str
    """What the host bar says the run is (``monitor``, ``demo · normal · seed 1``...)."""
    monitor: Monitor | None = None
    """The detectors and the alert lifecycle (None when ``[detection] enabled = false``)."""
    seeds: DetectionSeeds | None = None
    sources: list[NamedSource] = field(default_factory=list)
    actions: Actions | None = None
    message_lookup: MessageLookup | None = None
    filters: FileFilterHistory | None = None
    """The filter history (None: not persisted, as in a replay)."""
    host_versions: dict[str, str] = field(default_factory=dict)
    """Host -> Postal version text known at start (the demo's); live hosts report theirs later."""
    placeholder: str = "Waiting for log lines…"
    record_path: Path | None = None
    record_meta: dict[str, Any] = field(default_factory=dict)
    recorder: Recorder | None = None
    log_runner: Any = None
    """The SSH log streams (``postaltop.sources.log_runner.LogRunner``), when hosts are configured."""
    fleet: Any = None
    """The demo's simulated fleet (``postaltop.core.sim.Fleet``)."""
    replay: ReplayController | None = None
    """The replay clock and feed (replay mode)."""
    auth_history: tuple[int, list[str]] | None = None
    """SMTP sessions read back at connect for the client-network detector, and the hosts that failed to
    answer (None until read)."""
    _version_runner: Any = None
    _version_listeners: list[VersionCallback] = field(default_factory=list)
    _unsubscribe: list[Callable[[], None]] = field(default_factory=list)

    @property
    def settings(self) -> Any:
        """The settings in force (``postaltop.config.Settings``)."""
        return self.loaded.settings

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        """Open the recording (when asked for) and start reading host versions.

        Raises:
            OSError: the recording file cannot be created.
        """
        if self.record_path is not None and self.recorder is None:
            self.recorder = Recorder(self.record_path, meta=self.record_meta)
            self.recorder.attach(self.engine)
            if self.seeds is not None:
                self.seeds.record_to(self.recorder.write)
            if self.monitor is not None:
                self._unsubscribe.append(self.monitor.on_alert(self._record_alert))
        if self.log_runner is not None and self._version_runner is None:
            from postaltop.sources.version_runner import attach_version_runner

            self._version_runner = attach_version_runner(self.log_runner, self.settings, self._on_version)

    def stop(self) -> None:
        """Stop reading versions, finish the recording and unsubscribe from the engine."""
        if self._version_runner is not None:
            self._version_runner.close()
            self._version_runner = None
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        if self.recorder is not None:
            self.recorder.close()
        if self.monitor is not None:
            self.monitor.detach()

    def reload(self, loader: Callable[[Path | None], LoadedSettings] = load_settings) -> Reload:
        """Re-read the configuration file; apply what can change while running (``[actions]``).

        A file that no longer loads changes nothing (the error is returned); other changed sections are
        reported as needing a restart.
        """
        try:
            fresh = loader(self.loaded.settings_source)
        except ConfigError as exc:
            return Reload(error=exc.message)
        old, new = self.loaded.settings, fresh.settings
        changed = [name for name in type(new).model_fields if getattr(old, name) != getattr(new, name)]
        applied = tuple(name for name in changed if name in LIVE_SECTIONS)
        if "actions" in applied and self.actions is not None:
            self.actions.reconfigure(new.actions)
        kept = {name: getattr(old, name) for name in changed if name not in LIVE_SECTIONS}
        self.loaded = replace(fresh, settings=new.model_copy(update=kept))
        return Reload(applied, tuple(name for name in changed if name not in LIVE_SECTIONS))

    # -- host versions ----------------------------------------------------------------------

    @property
    def version_runner(self) -> Any:
        """The hosts' version reader (``postaltop.sources.version_runner.VersionRunner``) once started."""
        return self._version_runner

    def on_host_version(self, callback: VersionCallback) -> None:
        """Call ``callback(host, text)`` whenever a host's Postal version is read."""
        self._version_listeners.append(callback)

    def _on_version(self, host: str, text: str, _version: object) -> None:
        self.host_versions[host] = text
        for callback in list(self._version_listeners):
            callback(host, text)

    # -- recording --------------------------------------------------------------------------

    def _record_alert(self, event: Any) -> None:
        from postaltop.notify.from_alert import notification_for

        note = notification_for(event)
        if note is not None and self.recorder is not None:
            self.recorder.alert(note)
