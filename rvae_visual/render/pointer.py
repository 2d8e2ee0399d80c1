"""The mouse: a press away from the head moves it there, a drag carries it along, a click on the
head silences or revives it; presses on a HUD knob turn that knob instead."""

from __future__ import annotations

import math

from ..controls import NOISE_MAX
from ..performance import Performance, map_unit
from .head import hits_head
from .hud import Hud
from .mapview import MapGeometry

DRAG_PIXELS = 4  # a press that moves less than this is a click
KNOB_PIXELS = 200.0  # dragging a knob this far up sweeps its whole range
WHEEL_STEP = 0.02  # of a knob's range per wheel notch


def knob_value(perf: Performance, knob: str) -> float:
    """A knob's position 0..1."""
    return perf.threshold if knob == "threshold" else perf.noise / NOISE_MAX


def set_knob(perf: Performance, knob: str, value: float) -> None:
    """Turn a knob to `value` (0..1 of its range)."""
    if knob == "threshold":
        perf.set_threshold(value)
    elif knob == "noise":
        perf.set_noise(map_unit(value, 0.0, NOISE_MAX))


class Pointer:
    """Mouse state between press and release (left button)."""

    def __init__(self) -> None:
        self.press: tuple[int, int] | None = None
        self.on_head = False
        self.dragging = False
        self.knob: tuple[str, float, float] | None = None  # (name, press y, value at press)

    def down(self, pos: tuple[int, int], geom: MapGeometry, hud: Hud, perf: Performance, now: float) -> None:
        """Left button pressed at pixel `pos`."""
        knob = hud.knob_at(*pos)
        if knob:
            self.knob = (knob, float(pos[1]), knob_value(perf, knob))
            return
        if not geom.contains(*pos):
            return
        self.press = pos
        self.dragging = False
        self.on_head = hits_head(geom, perf.head, pos[0] + 0.5, pos[1] + 0.5)
        if not self.on_head:  # a press away from the head moves it there at once
            perf.place_head(*geom.pixel_to_latent(*pos), now=now)

    def motion(self, pos: tuple[int, int], geom: MapGeometry, perf: Performance, now: float) -> None:
        """The mouse moved to `pos` (with or without a button held)."""
        if self.knob is not None:
            knob, y0, v0 = self.knob
            set_knob(perf, knob, v0 + (y0 - pos[1]) / KNOB_PIXELS)
            return
        if self.press is None:
            return
        if not self.dragging and math.dist(pos, self.press) >= DRAG_PIXELS:
            self.dragging = True
            if self.on_head:
                perf.place_head(*perf.head, now=now)  # the trail of this drag starts here
        if self.dragging:
            perf.move_head(*geom.pixel_to_latent(*pos), now=now)

    def up(self, pos: tuple[int, int], geom: MapGeometry, perf: Performance, now: float) -> None:
        """Left button released at `pos`."""
        if self.knob is not None:
            self.knob = None
            return
        if self.press is None:
            return
        if self.dragging:
            perf.move_head(*geom.pixel_to_latent(*pos), now=now)
        elif self.on_head:
            perf.toggle_listening()  # a click on the head: heard <-> silent
        self.press = None
        self.dragging = False

    @staticmethod
    def wheel(pos: tuple[int, int], notches: float, hud: Hud, perf: Performance) -> None:
        """Mouse wheel over a knob turns it."""
        knob = hud.knob_at(*pos)
        if knob:
            set_knob(perf, knob, knob_value(perf, knob) + WHEEL_STEP * notches)
