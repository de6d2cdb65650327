"""``postaltop replay``'s screen: the full UI (:class:`~postaltop.ui.app.PostaltopApp`) fed by a recording.

A small subclass adds the replay keys and mounts the replay bar on the main screen; everything else is the
monitor itself, so the review looks exactly like the incident did. Jumping back restarts the app on a fresh
run fed up to the earlier time (an engine cannot forget lines): the app exits with :data:`RESTART`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from postaltop.engine import Engine
from postaltop.runtime.interfaces import ReplayControls
from postaltop.ui import app as ui_app
from postaltop.ui.app import PostaltopApp
from postaltop.ui.replay_keys import REPLAY_BINDINGS
from postaltop.ui.widgets.replay_bar import ReplayBar

RESTART = 75
"""Internal return code: the app closed to restart the replay at an earlier time."""


class ReplayApp(PostaltopApp):
    """The monitor UI over a replay's clock (its feed is one of the app's sources)."""

    CSS_PATH = str(Path(ui_app.__file__).with_name("app.tcss"))
    BINDINGS = [*PostaltopApp.BINDINGS, *REPLAY_BINDINGS]

    def __init__(self, engine: Engine, controller: ReplayControls, **kwargs: Any) -> None:
        super().__init__(engine, **kwargs)
        self.controller = controller
        self.bar: ReplayBar | None = None

    def on_mount(self) -> None:
        """Start as the monitor does, then add the replay bar and its timer."""
        super().on_mount()
        screen = self.main_screen
        if screen is not None:
            self.bar = ReplayBar()
            status = screen.query("#status-line")
            if status:
                screen.mount(self.bar, before=status.first())
            else:
                screen.mount(self.bar)
        self.set_interval(0.25, self.show_replay)
        self.show_replay()

    def show_replay(self) -> None:
        """Redraw the replay bar."""
        if self.bar is None or not self.bar.is_mounted:
            return
        ctl = self.controller
        alerts = [f"{e.title} — {e.scope}" for e in ctl.open_alerts().values()]
        self.bar.show(
            position=ctl.position,
            progress=ctl.progress,
            speed=ctl.speed,
            paused=ctl.paused,
            finished=ctl.finished,
            alerts=alerts,
        )

    def action_replay_pause(self) -> None:
        """Pause or resume the replay."""
        self.controller.toggle_pause()
        self.show_replay()

    def action_replay_jump(self, seconds: float) -> None:
        """Jump forward at once, or restart the replay earlier."""
        if not self.controller.jump(float(seconds)):
            self.exit(return_code=RESTART)
            return
        self.show_replay()

    def action_replay_speed(self, factor: float) -> None:
        """Multiply the speed."""
        self.controller.set_speed(self.controller.speed * float(factor))
        self.notify(f"Replay speed x{self.controller.speed:g}", markup=False, timeout=1.5)
        self.show_replay()
