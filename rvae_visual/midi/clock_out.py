"""MIDI clock out: one pulse per tick (24 per quarter), start, stop, continue, song position.

Pure helpers; `notes_out.MidiScheduler` places the pulses by transport sample, like notes,
so the clock is as steady as the audio clock and lines up with the hits.
"""

from __future__ import annotations

import math

from ..pattern import samples_per_tick

CLOCK = 0xF8
START = 0xFA
CONTINUE = 0xFB
STOP = 0xFC
SONG_POSITION = 0xF2
TICKS_PER_SIXTEENTH = 6  # song position counts MIDI beats = 16th notes = 6 clocks


def pulses_in_window(bpm: float, sample_rate: int, origin: float, start: int, stop: int
                     ) -> list[tuple[int, int]]:
    """Clock pulses in [start, stop) transport samples: (sample, tick-time index).

    Pulse k sits on tick k at sample floor(origin + k * samples_per_tick + 0.5), the same
    rounding as the hits (a hit on tick k without microtiming starts with pulse k)."""
    if stop <= start:
        return []
    spt = samples_per_tick(bpm, sample_rate)
    k = math.ceil((start - 0.5 - origin) / spt - 1e-9)
    out: list[tuple[int, int]] = []
    while True:
        s = math.floor(origin + k * spt + 0.5)
        if s >= stop:
            return out
        if s >= start:
            out.append((s, k))
        k += 1


def song_position(tick: int) -> list[int]:
    """Song Position Pointer for a tick count (rounded down to a 16th; 14 bits, wraps)."""
    beats = (max(tick, 0) // TICKS_PER_SIXTEENTH) & 0x3FFF
    return [SONG_POSITION, beats & 0x7F, beats >> 7]


def start_messages(first_tick: int) -> list[list[int]]:
    """What to send before the first pulse when the transport starts at `first_tick`.

    From the top: Start. Elsewhere: Song Position + Continue (the next pulse is that position,
    so `first_tick` should be on a 16th)."""
    if first_tick <= 0:
        return [[START]]
    return [song_position(first_tick), [CONTINUE]]
