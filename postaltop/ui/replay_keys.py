"""The keys ``postaltop replay`` adds to the monitor's (the help screen lists them without the replay app)."""

from __future__ import annotations

from textual.binding import Binding, BindingType

REPLAY_BINDINGS: list[BindingType] = [
    Binding("space", "replay_pause", "Pause", id="replay.pause"),
    Binding("right_square_bracket", "replay_jump(300)", "+5 min", id="replay.forward"),
    Binding("left_square_bracket", "replay_jump(-300)", "-5 min", id="replay.back"),
    Binding("right_curly_bracket", "replay_jump(60)", "+1 min", show=False, id="replay.forward1"),
    Binding("left_curly_bracket", "replay_jump(-60)", "-1 min", show=False, id="replay.back1"),
    Binding("plus", "replay_speed(2)", "Faster", show=False, id="replay.faster"),
    Binding("minus", "replay_speed(0.5)", "Slower", show=False, id="replay.slower"),
]
