"""Attract wander: after `idle_s` seconds without a visitor's input the head wanders by itself.

Moves go from where the head is to a point near one of the training bars (the model's
landmarks, with a little seeded jitter; anywhere in the inner map without landmarks), start on
a bar line, glide over `move_beats` beats and rest `rest_beats` beats there. The same seed gives
the same walk. Any input ends it at once where the head is; it starts again after `idle_s`.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from ..pattern import PPQN, TICKS_PER_BAR
from ..performance import Performance

NEAR = 0.25  # latent units: how far from a training bar a target may fall (standard deviation)
INNER = 0.9  # targets stay inside this fraction of the map window


def _ease(f: float) -> float:
    """Smoothstep: a move starts and ends slowly."""
    return f * f * (3.0 - 2.0 * f)


class Wander:
    """The wander of one session; `touch` on every input, `step` once per sync."""

    def __init__(self, perf: Performance, idle_s: float, seed: int = 0, move_beats: float = 8.0,
                 rest_beats: float = 8.0) -> None:
        self.perf = perf
        self.idle_s = float(idle_s)  # 0: never
        self.move_ticks = float(move_beats) * PPQN
        self.rest_ticks = float(rest_beats) * PPQN
        self.rng = np.random.default_rng(seed)
        self.points: Sequence[tuple[float, float]] = ()
        self.last_input: float | None = None
        self.active = False
        self.moves = 0  # moves started so far
        self._last = -1  # the landmark aimed at last
        # (from, to, first tick-time, the head as last set) of the move under way
        self._move: tuple[tuple[float, float], tuple[float, float], float, tuple[float, float]] | None = None
        self._next_at: float | None = None  # tick-time the next move starts

    def configure(self, idle_s: float, seed: int) -> None:
        """Wander after `idle_s` seconds without input (0: never), on the walk of `seed`."""
        self.idle_s = float(idle_s)
        self.rng = np.random.default_rng(seed)

    def set_points(self, points: Sequence[tuple[float, float]]) -> None:
        """The training bars' latent points of the model playing (its landmarks)."""
        e = self.perf.extent * INNER
        self.points = [(z1, z2) for z1, z2 in points if abs(z1) <= e and abs(z2) <= e]

    def touch(self, now: float) -> None:
        """A visitor's input at `now` (s): the wander stops where the head is."""
        self.last_input = now
        self.active = False
        self._move = self._next_at = None

    def step(self, ahead: float, now: float) -> None:
        """At tick-time `ahead` (being published) and time `now` (s): start, move or rest."""
        if self.idle_s <= 0 or not self.perf.playing:
            return
        if self.last_input is None:
            self.last_input = now
        if not self.active:
            if now - self.last_input < self.idle_s:
                return
            self.active = True
            self._next_at = self._bar_after(ahead)
        p = self.perf
        if self._move is not None:
            start, end, t0, last = self._move
            if p.head != last:  # moved by something else (a scene, the mouse): that wins
                self.touch(now)
                return
            f = min(1.0, max(0.0, (ahead - t0) / self.move_ticks))
            g = _ease(f)
            p.move_head(start[0] + (end[0] - start[0]) * g, start[1] + (end[1] - start[1]) * g, now)
            if f >= 1.0:
                self._move = None
                self._next_at = self._bar_after(t0 + self.move_ticks + self.rest_ticks - 1e-6)
            else:
                self._move = (start, end, t0, p.head)
        elif self._next_at is not None and ahead >= self._next_at:
            self._move = (p.head, self._target(), self._next_at, p.head)
            self.moves += 1
            self._next_at = None

    @staticmethod
    def _bar_after(t: float) -> float:
        return float((math.floor(t / TICKS_PER_BAR) + 1) * TICKS_PER_BAR)

    def _target(self) -> tuple[float, float]:
        e = self.perf.extent * INNER
        if not self.points:
            z = self.rng.uniform(-e, e, 2)
            return (float(z[0]), float(z[1]))
        k = int(self.rng.integers(len(self.points)))
        if k == self._last and len(self.points) > 1:
            k = (k + 1) % len(self.points)
        self._last = k
        z1, z2 = self.points[k]
        d = self.rng.normal(0.0, NEAR, 2)
        return (float(min(e, max(-e, z1 + d[0]))), float(min(e, max(-e, z2 + d[1]))))
