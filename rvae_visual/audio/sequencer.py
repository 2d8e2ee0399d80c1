"""The sequencer, a pure function: which hits of a looping Pattern start in a window of samples.

Time base (docs/architecture.md): the Pattern loops every bar from transport sample `origin`; tick t of
bar b with microtiming offset o is at tick-time x = b*96 + t + o, and sounds at sample
floor(origin + x * samples_per_tick + 0.5) (rounded half up, so every hit has exactly one
sample). Negative offsets on tick 0 fall into the previous bar's window, positive offsets on
tick 95 into the next one's.

The live callback and the offline render both call `scan`, which emits hits through a function
and allocates no containers, so the audio thread can use it; `hits_in_window` is the list-
returning form for everyone else.
"""

from __future__ import annotations

import itertools

import math
from bisect import bisect_left
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from ..controls import BPM_MAX as MAX_BPM
from ..controls import BPM_MIN as MIN_BPM
from ..pattern import TICKS_PER_BAR, Pattern, samples_per_tick
from ..swing import STRAIGHT, unwarp_switching, warp_switching

EPS_TICKS = 1e-6  # search margin in ticks; the exact sample test decides
NO_LIMIT = 1 << 62  # tick bound meaning "no bound"

Emit = Callable[[int, int, float], None]


def check_bpm(bpm: float) -> float:
    """The tempo as float; ValueError outside MIN_BPM-MAX_BPM."""
    v = float(bpm)
    if not MIN_BPM <= v <= MAX_BPM:
        raise ValueError(f"tempo {v:g} BPM is outside {MIN_BPM:g}-{MAX_BPM:g}")
    return v


@dataclass(frozen=True, eq=False)
class CompiledPattern:
    """A Pattern's cells with onset probability > 0, sorted by tick-time within the bar.

    Tuples of plain Python numbers, so the audio thread reads them without allocating.
    """

    pattern: Pattern
    xs: tuple[float, ...]  # tick + offset, ascending
    ticks: tuple[int, ...]  # tick 0..95
    insts: tuple[int, ...]
    vels: tuple[float, ...]
    probs: tuple[float, ...]
    x_min: float
    x_max: float
    min_offset: float  # <= 0
    max_offset: float  # >= 0
    serial: int = 0  # unique per compile in this process: block records name what plays by it

    @property
    def n_instruments(self) -> int:
        """Instrument rows of the Pattern."""
        return self.pattern.n_instruments


_serials = itertools.count(1)


def compile_pattern(pattern: Pattern) -> CompiledPattern:
    """Sort a Pattern's possible hits by tick-time (main thread; about 0.1 ms for 288 cells)."""
    onsets = pattern.onsets.ravel()
    cells = np.flatnonzero(onsets > 0.0)
    offs = pattern.offsets.ravel()[cells].astype(np.float64)
    tick = cells % TICKS_PER_BAR
    xs = tick + offs
    order = np.lexsort((cells // TICKS_PER_BAR, xs))  # by time, then instrument
    cells, xs, offs, tick = cells[order], xs[order], offs[order], tick[order]
    has = len(cells) > 0
    return CompiledPattern(
        pattern=pattern,
        xs=tuple(xs.tolist()),
        ticks=tuple(tick.tolist()),
        insts=tuple((cells // TICKS_PER_BAR).tolist()),
        vels=tuple(pattern.velocities.ravel()[cells].tolist()),
        probs=tuple(onsets[cells].tolist()),
        x_min=float(xs[0]) if has else 0.0,
        x_max=float(xs[-1]) if has else 0.0,
        min_offset=min(0.0, float(offs.min())) if has else 0.0,
        max_offset=max(0.0, float(offs.max())) if has else 0.0,
        serial=next(_serials),
    )


def sample_at(x: float, spt: float, origin: float) -> int:
    """Transport sample of tick-time `x` (ticks since origin), rounded half up."""
    return math.floor(origin + x * spt + 0.5)


def scan(
    cp: CompiledPattern,
    threshold: float | tuple[float, ...],
    mutes: Sequence[bool],
    spt: float,
    origin: float,
    start: int,
    stop: int,
    emit: Emit,
    tick_lo: int = -NO_LIMIT,
    tick_hi: int = NO_LIMIT,
    swing: float = STRAIGHT,
    swing_next: float = STRAIGHT,
    swing_at: float = NO_LIMIT,
) -> None:
    """Call emit(sample, instrument, velocity) for each hit starting in [start, stop) samples,
    in time order; only hits whose bar tick (b*96 + t) lies in [tick_lo, tick_hi) count.
    Hits sound swung by `swing` (rvae_visual.swing), by `swing_next` from tick-time `swing_at`.
    `threshold` is one for all instruments or a tuple with one each.

    `spt` is samples per tick; allocates no containers (audio-thread safe)."""
    xs = cp.xs
    if not xs or stop <= start:
        return
    # tick-times whose rounded sample can fall in [start, stop)
    xa = (start - 0.5 - origin) / spt - EPS_TICKS
    xb = (stop - 0.5 - origin) / spt + EPS_TICKS
    swung = swing != STRAIGHT or swing_next != STRAIGHT
    if swung:  # the pattern tick-times that sound there
        xa = unwarp_switching(xa, swing, swing_next, swing_at)
        xb = unwarp_switching(xb, swing, swing_next, swing_at)
    b_first = math.floor((xa - cp.x_max) / TICKS_PER_BAR)
    b_last = math.floor((xb - cp.x_min) / TICKS_PER_BAR)
    ticks = cp.ticks
    insts = cp.insts
    probs = cp.probs
    n_mutes = len(mutes)
    each: tuple[float, ...] | None = None
    thr = 1.0
    if isinstance(threshold, tuple):
        each = threshold
    else:
        thr = float(threshold)
    n_each = len(each) if each is not None else 0
    for b in range(b_first, b_last + 1):
        base = b * TICKS_PER_BAR
        lo = bisect_left(xs, xa - base)
        hi = bisect_left(xs, xb - base)
        for i in range(lo, hi):
            inst = insts[i]
            if probs[i] <= (each[inst] if each is not None and inst < n_each else thr):
                continue
            if inst < n_mutes and mutes[inst]:
                continue
            bar_tick = base + ticks[i]
            if bar_tick < tick_lo or bar_tick >= tick_hi:
                continue
            x = base + xs[i]
            if swung:
                x = warp_switching(x, swing, swing_next, swing_at)
            s = math.floor(origin + x * spt + 0.5)
            if start <= s < stop:
                emit(s, inst, cp.vels[i])


_last: tuple[tuple[Pattern, CompiledPattern], ...] = ()  # MIDI out asks about the playing and the next pattern


def _compiled(pattern: Pattern) -> CompiledPattern:
    global _last
    last = _last  # one read: safe if two threads ask at once
    for p, cp in last:
        if p is pattern:
            return cp
    cp = compile_pattern(pattern)
    _last = ((pattern, cp),) + last[:1]
    return cp


def hits_in_window(
    pattern: Pattern,
    threshold: float | tuple[float, ...],
    mutes: Sequence[bool],
    bpm: float,
    sample_rate: int,
    start: int,
    stop: int,
    origin: float = 0,
    tick_lo: int = -NO_LIMIT,
    tick_hi: int = NO_LIMIT,
    swing: float = STRAIGHT,
    swing_next: float = STRAIGHT,
    swing_at: float = NO_LIMIT,
) -> list[tuple[int, int, float]]:
    """Hits whose sound starts in [start, stop) samples of the transport: (sample position,
    instrument, velocity), in time order; only those of ticks in [tick_lo, tick_hi) (tick-time
    ticks since the origin, as `scan`).

    The pattern loops every bar starting at sample `origin`; tick t of bar b with offset o
    starts at origin + round((b*96 + t + o) * samples_per_tick(bpm, sample_rate)) (half up);
    negative offsets on tick 0 fall into the previous bar's window; `swing*` as `scan`."""
    out: list[tuple[int, int, float]] = []
    scan(_compiled(pattern), threshold, mutes, samples_per_tick(check_bpm(bpm), sample_rate),
         origin, start, stop, lambda s, i, v: out.append((s, i, v)), tick_lo, tick_hi,
         swing, swing_next, swing_at)
    return out
