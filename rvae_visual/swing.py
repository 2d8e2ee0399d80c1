"""Swing as a time warp of tick-time (pure functions on floats, audio-thread safe).

Swing s (0.5 = straight .. 0.75) moves the second 16th of every 8th note (ticks 6, 18, ... at
24 ppqn) to s of the way through its 8th: each 12-tick cell [12q, 12q + 12) is warped piecewise
linearly, its first half stretched to 12s ticks and its second half pressed into the rest. The
warp is continuous and increasing and keeps every 8th-note line in place, so a hit's order, its
microtiming around its grid position and the bar and beat lines all stay; scanning a window of
samples unwarps the window's ends. A change of swing takes effect at the next 8th-note line
(`swing_at`), a point both warps keep, so no hit is played twice or lost.
"""

from __future__ import annotations

import math

STRAIGHT = 0.5
CELL = 12.0  # ticks: an 8th note at 24 ppqn
HALF = 6.0


def warp(x: float, swing: float) -> float:
    """Tick-time where pattern tick-time `x` sounds under `swing` (0.5..0.75)."""
    if swing == STRAIGHT:
        return x
    q = math.floor(x / CELL)
    u = x - CELL * q
    if u < HALF:
        return CELL * q + u * (2.0 * swing)
    return CELL * q + CELL * swing + (u - HALF) * (2.0 * (1.0 - swing))


def unwarp(y: float, swing: float) -> float:
    """The pattern tick-time that sounds at tick-time `y` under `swing`: warp's inverse."""
    if swing == STRAIGHT:
        return y
    q = math.floor(y / CELL)
    u = y - CELL * q
    first = CELL * swing
    if u < first:
        return CELL * q + u / (2.0 * swing)
    return CELL * q + HALF + (u - first) / (2.0 * (1.0 - swing))


def warp_switching(x: float, swing: float, swing_next: float, swing_at: float) -> float:
    """`warp` under `swing` before tick-time `swing_at` (an 8th-note line) and `swing_next` from it."""
    return warp(x, swing if x < swing_at else swing_next)


def unwarp_switching(y: float, swing: float, swing_next: float, swing_at: float) -> float:
    """The inverse of `warp_switching` (`swing_at` is kept by both warps)."""
    return unwarp(y, swing if y < swing_at else swing_next)


def next_line(x: float) -> float:
    """The first 8th-note line after tick-time `x`."""
    return (math.floor(x / CELL) + 1.0) * CELL
