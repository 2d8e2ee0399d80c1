"""Where each note of a clip goes on the 96-tick bar: its tick and its microtiming offset.

Two readings:

- `musical` (the default): each note goes to its intended grid position and the rest is kept as
  a signed offset in ticks. Every beat (24 ticks) is read on one subdivision: the meter's own
  (16ths of a quarter = 6 ticks in 4/4; 16ths of a dotted quarter = 4 ticks in 12/8 and 6/8)
  unless the notes of that beat clearly sit on another one (16th triplets, which hold 8th
  triplets, or 32nds in 4/4; duplets or 32nds in compound meter): a note at least CLEAR_OFF
  tick off the meter's grid and CLEAR_RATIO times as close to the other one, with that grid
  fitting the beat's notes better. So a performed 16th lands on the same tick in every bar when
  played up to about 1.3 ticks early or late (27 ms at 120 BPM); the offset keeps the feel:
  up to +-3 ticks on a 16th grid, +-2 on triplets, +-1.5 on 32nds.
- `nearest`: each note goes to the nearest of the 96 ticks, the offset in [-0.5, 0.5) ticks
  (the reading of R-VAE's 96-tick bar; kept for comparison).

Either way tick + offset is exactly where the note was played, so writing the Patterns back to
MIDI moves no note (beyond float32 rounding).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..pattern import OFFSET_LIMIT, TICKS_PER_BEAT, Meter

READINGS = ("musical", "nearest")
DEFAULT_READING = "musical"
# a beat leaves the meter's own subdivision only for a note at least CLEAR_OFF ticks off it and
# CLEAR_RATIO times as close to the other subdivision's position
CLEAR_RATIO = 0.5
CLEAR_OFF = 1.0


class Subdivision(NamedTuple):
    """A grid of positions every `step` ticks within a beat."""

    name: str
    step: int


SIMPLE = (Subdivision("16th", 6), Subdivision("16th triplet", 4), Subdivision("32nd", 3))
COMPOUND = (Subdivision("16th", 4), Subdivision("duplet 16th", 6), Subdivision("32nd", 2))


def subdivisions(meter: Meter) -> tuple[Subdivision, ...]:
    """The meter's own subdivision first, then the others a beat may be read on."""
    return COMPOUND if meter.compound else SIMPLE


def offset_limit(reading: str) -> float:
    """Largest |offset| (ticks) a reading produces: 3.0 (musical) or 0.5 (nearest)."""
    return OFFSET_LIMIT if reading == "musical" else 0.5


def check_reading(reading: str) -> str:
    """The reading's name; ValueError for an unknown one."""
    if reading not in READINGS:
        raise ValueError(f"unknown reading {reading!r}; expected one of {', '.join(READINGS)}")
    return reading


def _nearest(x: np.ndarray, step: float) -> np.ndarray:
    return np.floor(x / step + 0.5) * step


def place(positions: np.ndarray, meter: Meter, reading: str = DEFAULT_READING
          ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Notes at `positions` (ticks from the loop start, float) -> (ticks int64, offsets float64
    in ticks, name of the subdivision each note was read on). tick + offset == position."""
    x = np.asarray(positions, np.float64)
    if reading == "nearest":
        tick = np.floor(x + 0.5)
        return tick.astype(np.int64), x - tick, ["tick"] * len(x)
    check_reading(reading)
    subs = subdivisions(meter)
    base = subs[0]
    guard = base.step / 2.0  # a note up to half a subdivision before a beat belongs to it
    beat = np.floor((x + guard) / TICKS_PER_BEAT)
    f = x - beat * TICKS_PER_BEAT  # position within its beat, [-guard, 24 - guard)
    pos = _nearest(f, base.step)
    names = np.zeros(len(x), np.int64)
    for b in np.unique(beat):
        sel = beat == b
        fb = f[sel]
        r_base = fb - _nearest(fb, base.step)
        best, best_sse = 0, float(np.sum(r_base ** 2))
        for k, sub in enumerate(subs[1:], start=1):
            r = fb - _nearest(fb, sub.step)
            clear = (np.abs(r) <= CLEAR_RATIO * np.abs(r_base)) & (np.abs(r_base) >= CLEAR_OFF)
            sse = float(np.sum(r ** 2))
            if clear.any() and sse < best_sse:
                best, best_sse = k, sse
        if best:
            pos[sel] = _nearest(fb, subs[best].step)
            names[sel] = best
    tick = beat * TICKS_PER_BEAT + pos
    off = x - tick
    assert not len(off) or float(np.abs(off).max()) <= OFFSET_LIMIT + 1e-9
    return tick.astype(np.int64), off, [subs[int(k)].name for k in names]


def subdivisions_used(names: list[str]) -> list[str]:
    """The distinct subdivision names of `place`, in first-seen order."""
    return list(dict.fromkeys(names))


def quarters_to_ticks(quarter: float, meter: Meter) -> float:
    """Position in quarter notes -> ticks (24 per beat: 24 per quarter, 16 in 12/8 and 6/8)."""
    return quarter * meter.ticks_per_quarter


def ticks_to_quarters(ticks: float, meter: Meter) -> float:
    """Inverse of `quarters_to_ticks`."""
    return ticks / meter.ticks_per_quarter

