#!/usr/bin/env python3
"""Write the clip sets bundled in `rvae_visual/data/clips/`.

- footwork/ and trap/: drum loops written for this project (MIT), generated here from the
  hit lists below as type-0 Standard MIDI Files.
- gmd-*/ and stickflow/: selections copied byte for byte from ../shared/data (Groove MIDI
  Dataset, CC BY 4.0; StickFlow, CC0), with a NOTICE.txt naming each file's source.

Deterministic: no clock, no randomness, sorted output, so a rerun gives identical files.

    .venv/bin/python scripts/make_clip_sets.py [--out DIR] [--data DIR]
"""

from __future__ import annotations

import argparse
import csv
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import mido

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "rvae_visual" / "data" / "clips"
DEFAULT_DATA = REPO.parent / "shared" / "data"

TPQ = 1920  # file ticks per quarter, as rvae_visual.model.clips writes
PPQN = 24  # grid ticks per quarter (the Pattern grid)
FILE_TICKS = TPQ // PPQN  # file ticks per grid tick
BAR = 96  # grid ticks per 4/4 bar

KICK, SNARE, CLAP, HAT, OPEN_HAT = 36, 38, 39, 42, 46
NOTE_LENGTH = {KICK: 12, SNARE: 3, CLAP: 3, HAT: 2, OPEN_HAT: 6}  # in grid ticks (808 kick rings)

# ----------------------------------------------------------------------------------------------
# Written clips: hit lists
# ----------------------------------------------------------------------------------------------

Hit = tuple[float, int, int]  # (grid tick in the bar, with microtiming; MIDI note; velocity)


def hits(note: int, ticks: list[int], vel: int | list[int]) -> list[Hit]:
    """Hits of one note at grid ticks, one velocity or one per tick."""
    vels = vel if isinstance(vel, list) else [vel] * len(ticks)
    if len(vels) != len(ticks):
        raise ValueError("one velocity per tick")
    return [(float(t), note, v) for t, v in zip(ticks, vels)]


def ramp(v0: int, v1: int, n: int) -> list[int]:
    """n velocities from v0 to v1 (a crescendo or decrescendo)."""
    if n == 1:
        return [v0]
    return [round(v0 + (v1 - v0) * i / (n - 1)) for i in range(n)]


def roll(note: int, start: int, step: int, count: int, v0: int, v1: int) -> list[Hit]:
    """`count` hits `step` grid ticks apart from `start` (4 = 16th triplet, 3 = 32nd,
    2 = 32nd triplet), velocities ramping v0 -> v1."""
    return hits(note, [start + step * i for i in range(count)], ramp(v0, v1, count))


def accented(note: int, ticks: list[int], strong: int, medium: int, weak: int) -> list[Hit]:
    """Hits with a velocity by metric position: beat, 8th (or 8th triplet), anything else."""
    out = []
    for t in ticks:
        v = strong if t % 24 == 0 else medium if t % 12 == 0 or t % 8 == 0 else weak
        out.append((float(t), note, v))
    return out


def span(start: int, stop: int, step: int) -> list[int]:
    """Grid ticks start, start+step, ... below stop."""
    return list(range(start, stop, step))


def split_bars(note: int, abs_ticks: list[int], vel: int | list[int], n_bars: int) -> list[list[Hit]]:
    """Hits given in loop ticks (across bar lines), split into bars."""
    vels = vel if isinstance(vel, list) else [vel] * len(abs_ticks)
    bars: list[list[Hit]] = [[] for _ in range(n_bars)]
    for t, v in zip(abs_ticks, vels):
        bars[t // BAR].append((float(t % BAR), note, v))
    return bars


@dataclass
class Written:
    """One written clip: name, tempo, bars of hits, and optional humanising (in ms)."""

    name: str
    bpm: float
    bars: list[list[Hit]]
    description: str
    hat_ms: float = 0.0  # +- jitter of hi-hats, ms
    clap_late_ms: float = 0.0  # claps/snares laid back, ms
    swing_ms: float = 0.0  # off-8th 16th hats late, ms
    extra: dict = field(default_factory=dict)


def _lcg(seed: int):
    """A tiny deterministic generator of floats in [-1, 1) (no dependence on `random`)."""
    state = (seed * 2654435761 + 12345) & 0xFFFFFFFF
    while True:
        state = (1103515245 * state + 12345) & 0x7FFFFFFF
        yield state / 0x40000000 - 1.0


def humanise(clip: Written, seed: int) -> list[list[Hit]]:
    """Apply the clip's microtiming: offsets in grid ticks, rounded to the file's resolution."""
    if not (clip.hat_ms or clip.clap_late_ms or clip.swing_ms):
        return clip.bars
    ms_per_tick = 60000.0 / (clip.bpm * PPQN)
    rnd = _lcg(seed)
    out = []
    for bar in clip.bars:
        new = []
        for t, note, v in sorted(bar, key=lambda h: (h[0], h[1])):
            off_ms = 0.0
            if note in (HAT, OPEN_HAT):
                off_ms = clip.hat_ms * next(rnd)
                if clip.swing_ms and t % 12 == 6:
                    off_ms += clip.swing_ms
            elif note in (SNARE, CLAP) and v >= 90:
                off_ms = clip.clap_late_ms
            off = round(off_ms / ms_per_tick * FILE_TICKS) / FILE_TICKS
            off = max(-0.45, min(0.45, off))
            new.append((t + off, note, v))
        out.append(new)
    return out


def _merge(bars: list[list[Hit]]) -> list[list[Hit]]:
    """One hit per (tick, note): the loudest wins (rolls laid over a hat line)."""
    out = []
    for bar in bars:
        best: dict[tuple[float, int], int] = {}
        for t, n, v in bar:
            best[(t, n)] = max(v, best.get((t, n), 0))
        out.append([(t, n, v) for (t, n), v in sorted(best.items())])
    return out


def bar(*parts: list[Hit]) -> list[Hit]:
    """One bar from several hit lists."""
    return [h for p in parts for h in p]


def footwork_clips() -> list[Written]:
    """Footwork / juke at 155-165 BPM: kicks in threes against the 4/4 (dotted 8ths = every
    3 sixteenths = 18 grid ticks) or triplet figures, claps on 2 and 4 (or the 'and's, or 3),
    hi-hats off the beat with 16th-triplet rolls (4 grid ticks)."""
    c: list[Written] = []
    dotted = [0, 18, 36, 54, 72]
    c.append(Written("footwork_01_dotted_kick", 160, [
        bar(hits(KICK, dotted, [120, 100, 110, 100, 116]), hits(CLAP, [24, 72], 110),
            hits(HAT, [12, 36, 60, 84], 84)),
        bar(hits(KICK, dotted, [120, 98, 110, 102, 116]), hits(CLAP, [24, 72], 112),
            hits(HAT, [12, 36, 60], 84), roll(HAT, 72, 4, 6, 50, 100)),
    ], "kicks 3-3-3-3-4 sixteenths, claps on 2 and 4, off-beat hats, triplet roll into bar 1"))

    k = split_bars(KICK, span(0, 192, 18), [122, 96, 104, 92, 110, 98, 106, 94, 112, 96, 104], 2)
    c.append(Written("footwork_02_running_threes", 158, [
        bar(k[0], hits(CLAP, [24, 72], 108), accented(HAT, span(0, 96, 8), 72, 58, 44)),
        bar(k[1], hits(CLAP, [24, 72], 110), hits(CLAP, [90], 55),
            accented(HAT, span(0, 48, 8) + span(72, 96, 8), 72, 58, 44), roll(HAT, 48, 4, 6, 56, 96)),
    ], "kicks every 3 sixteenths straight through the bar line (3 against 4 over 2 bars), "
       "8th-triplet hats, ghost clap", hat_ms=4.0))

    c.append(Written("footwork_03_sparse", 162, [
        bar(hits(KICK, [0, 18, 36], [120, 96, 104]), hits(CLAP, [48], 115),
            hits(HAT, [84, 88, 92], [60, 75, 90])),
    ], "sparse: three dotted kicks, one clap on 3, a three-hit triplet pickup"))

    c.append(Written("footwork_04_triplet_kick", 160, [
        bar(hits(KICK, [0, 16, 32, 48, 66, 84], [120, 92, 100, 114, 96, 104]),
            hits(CLAP, [24, 72], 110), hits(HAT, [12, 60], 80),
            roll(HAT, 24, 4, 6, 90, 55), roll(HAT, 72, 4, 6, 55, 95)),
    ], "quarter-triplet kicks then dotted kicks, triplet hat rolls on 2 and 4",
        hat_ms=3.0, clap_late_ms=4.0))

    c.append(Written("footwork_05_dense_roll", 164, [
        bar(hits(KICK, span(0, 96, 18), [124, 100, 108, 98, 114, 92]), hits(CLAP, [24, 72], 115),
            hits(CLAP, [60], 50), accented(HAT, span(0, 96, 4), 96, 74, 50)),
    ], "dense: six dotted kicks, continuous 16th-triplet hats accented in 8th triplets",
        hat_ms=3.0))

    c.append(Written("footwork_06_and_claps", 156, [
        bar(hits(KICK, [0, 18, 36, 54, 78], [120, 98, 108, 100, 110]),
            hits(CLAP, [12, 36, 60, 84], [102, 84, 102, 84]), hits(HAT, [0, 24, 48, 72], 88)),
        bar(hits(KICK, [0, 18, 36, 60, 78], [120, 98, 108, 104, 110]),
            hits(CLAP, [12, 36, 60], [102, 84, 102]), roll(CLAP, 84, 4, 3, 60, 100),
            hits(HAT, [0, 24, 72], 88), roll(HAT, 48, 4, 6, 52, 92)),
    ], "claps on the 'and's, quarter hats, triplet roll and clap pickup in bar 2"))

    c.append(Written("footwork_07_juke_332", 160, [
        bar(hits(KICK, [0, 18, 36, 48, 66, 84], [120, 96, 104, 112, 98, 106]),
            hits(CLAP, [24, 72], 110), hits(HAT, [12, 36], 82), hits(OPEN_HAT, [60], 76),
            roll(HAT, 76, 4, 5, 50, 96)),
    ], "juke kicks 3-3-2 twice, open hat, five-hit triplet pickup", clap_late_ms=3.0))

    c.append(Written("footwork_08_halftime_clap", 160, [
        bar(hits(KICK, span(0, 96, 18), [120, 94, 104, 96, 110, 92]), hits(CLAP, [48], 116),
            accented(HAT, span(0, 96, 16), 82, 70, 70)),
        bar(hits(KICK, [12, 30, 48, 66, 84], [110, 96, 116, 98, 104]), hits(CLAP, [48], 116),
            accented(HAT, span(0, 64, 16), 82, 70, 70), roll(HAT, 64, 4, 8, 48, 104)),
    ], "clap only on 3, kicks in threes across the bar line, quarter-triplet hats (3 against 2)",
        hat_ms=4.0))

    c.append(Written("footwork_09_kick_stutter", 158, [
        bar(hits(KICK, [0, 18, 36, 72, 76, 80], [122, 96, 106, 112, 90, 100]),
            hits(CLAP, [24, 72], 110), hits(HAT, [12, 36, 84, 88, 92], [80, 80, 70, 60, 80]),
            roll(HAT, 48, 4, 4, 60, 90)),
    ], "three dotted kicks then a 16th-triplet kick stutter on 4"))

    c.append(Written("footwork_10_across_barline", 162, [
        bar(hits(KICK, span(0, 96, 18), [122, 96, 106, 98, 112, 94]), hits(CLAP, [24, 72], 110),
            hits(HAT, [0, 24, 48, 72], 80), hits(OPEN_HAT, [12, 36, 60, 84], 68)),
        bar(hits(KICK, [12, 30, 48, 66, 84], [112, 96, 110, 98, 104]), hits(CLAP, [24, 72], 112),
            hits(HAT, [0, 24], 80), hits(OPEN_HAT, [12, 36], 68), roll(HAT, 48, 4, 12, 40, 110)),
    ], "kick threes running over the bar line, open hats on the off-beats, long hat crescendo",
        hat_ms=3.5, clap_late_ms=3.0))

    c.append(Written("footwork_11_hat_crescendo", 155, [
        bar(hits(KICK, [0, 18, 36], [118, 94, 104]), hits(CLAP, [24, 72], 108),
            hits(HAT, [12], 70), roll(HAT, 48, 4, 12, 36, 112)),
    ], "three kicks, then a 16th-triplet hat crescendo over beats 3 and 4"))

    c.append(Written("footwork_12_displaced_threes", 160, [
        bar(hits(KICK, [6, 24, 42, 60, 78], [116, 100, 108, 98, 110]), hits(CLAP, [24, 72], 110),
            hits(HAT, [0, 12, 36, 48], [90, 72, 72, 82]), roll(HAT, 64, 4, 4, 58, 88),
            hits(OPEN_HAT, [84], 74)),
    ], "dotted kicks starting on the second 16th, open hat on the 'and' of 4"))

    c.append(Written("footwork_13_triplet_burst", 160, [
        bar(hits(KICK, [0, 8, 16, 36, 54, 72], [122, 94, 104, 110, 96, 112]),
            hits(CLAP, [24, 72], 110), hits(HAT, [12, 36, 60, 84], 82)),
        bar(hits(KICK, dotted, [120, 96, 106, 98, 114]), hits(CLAP, [24], 110),
            roll(CLAP, 72, 4, 6, 70, 118), hits(HAT, [12, 36], 82), roll(HAT, 48, 4, 5, 56, 88)),
    ], "8th-triplet kick burst on 1, dotted kicks, clap roll into bar 1", clap_late_ms=3.0))

    c.append(Written("footwork_14_swung_sixteenths", 165, [
        bar(hits(KICK, dotted, [120, 98, 108, 100, 114]), hits(CLAP, [24, 72], 110),
            accented(HAT, span(0, 96, 6), 88, 76, 54)),
        bar(hits(KICK, [0, 18, 36, 60, 78], [120, 98, 108, 104, 110]), hits(CLAP, [24, 72], 110),
            accented(HAT, span(0, 72, 6), 88, 76, 54), roll(HAT, 72, 4, 6, 60, 104)),
    ], "16th hats with the off-16ths laid back, triplet roll on 4 of bar 2",
        hat_ms=2.0, swing_ms=6.0))
    return c


def trap_clips() -> list[Written]:
    """Trap at 135-150 BPM in half time (snare/clap on beat 3 = grid tick 48): syncopated 808
    kicks, hats in 8ths/16ths with 16th-triplet rolls (4 grid ticks), 32nd ratchets (3) and
    32nd-triplet ratchets (2)."""
    c: list[Written] = []
    c.append(Written("trap_01_basic", 140, [
        bar(hits(KICK, [0, 42, 66], [124, 112, 116]), hits(CLAP, [48], 118),
            accented(HAT, span(0, 72, 12), 92, 72, 72), roll(HAT, 72, 4, 6, 56, 96)),
    ], "808 on 1, the 'a' of 2 and of 3; 8th hats and a triplet roll on 4"))

    c.append(Written("trap_02_ratchet", 145, [
        bar(hits(KICK, [0, 18, 60, 84], [124, 108, 114, 110]), hits(SNARE, [48], 118),
            accented(HAT, span(0, 36, 6) + span(48, 76, 6), 92, 78, 60),
            roll(HAT, 36, 3, 4, 64, 96), roll(HAT, 76, 4, 5, 58, 98)),
    ], "16th hats, a 32nd ratchet before the snare, triplet roll at the end"))

    c.append(Written("trap_03_two_bar", 140, [
        bar(hits(KICK, [0, 30, 60], [124, 110, 116]), hits(CLAP, [48], 118),
            accented(HAT, span(0, 84, 12), 92, 74, 74), roll(HAT, 84, 3, 4, 60, 100)),
        bar(hits(KICK, [0, 18, 54, 78, 90], [124, 104, 112, 108, 100]), hits(CLAP, [48], 118),
            hits(HAT, [0, 12, 48, 60, 72, 84], [92, 74, 92, 74, 92, 74]), roll(HAT, 24, 4, 6, 96, 56)),
    ], "two bars: 32nd ratchet into bar 2, falling triplet roll on 2 of bar 2"))

    c.append(Written("trap_04_sparse", 135, [
        bar(hits(KICK, [0, 66], [124, 112]), hits(CLAP, [48], 116),
            hits(HAT, [24], 86), roll(HAT, 76, 4, 5, 50, 92)),
    ], "sparse: two 808s, one hat on 2, one triplet roll"))

    c.append(Written("trap_05_dense", 150, [
        bar(hits(KICK, [0, 30, 54, 72, 78], [124, 108, 114, 110, 100]), hits(SNARE, [48], 118),
            hits(SNARE, [90], 45), accented(HAT, span(0, 36, 6) + span(48, 72, 6), 94, 80, 62),
            roll(HAT, 36, 2, 6, 54, 100), roll(HAT, 72, 4, 6, 70, 100)),
    ], "dense: 16th hats, a 32nd-triplet ratchet, triplet roll, ghost snare", hat_ms=2.0))

    c.append(Written("trap_06_open_hat", 140, [
        bar(hits(KICK, [0, 36, 66], [124, 110, 114]), hits(CLAP, [48], 118),
            hits(HAT, [0, 12, 24, 48, 60, 72, 84], [92, 72, 90, 92, 72, 90, 72]),
            hits(OPEN_HAT, [36], 84)),
        bar(hits(KICK, [0, 18, 42, 72], [124, 104, 112, 110]), hits(CLAP, [48], 118),
            hits(HAT, [0, 12, 24, 36, 72], [92, 72, 90, 72, 90]), roll(HAT, 48, 4, 6, 60, 100),
            hits(OPEN_HAT, [84], 84)),
    ], "8th hats with open hats, triplet roll after the clap in bar 2"))

    c.append(Written("trap_07_triplet_flow", 140, [
        bar(hits(KICK, [0, 40, 64], [124, 110, 114]), hits(SNARE, [48], 118),
            accented(HAT, span(0, 96, 8), 90, 70, 70), roll(HAT, 24, 4, 6, 66, 88),
            roll(HAT, 72, 4, 6, 66, 100)),
    ], "triplet flow: 8th-triplet hats, 808s on triplet positions, 16th-triplet rolls on 2 and 4",
        hat_ms=2.5))

    c.append(Written("trap_08_808_stutter", 142, [
        bar(hits(KICK, [0, 6, 30, 84, 88, 92], [124, 96, 112, 108, 100, 116]),
            hits(SNARE, [48], 118), accented(HAT, span(0, 72, 6), 92, 78, 60),
            roll(HAT, 72, 3, 4, 64, 96), hits(HAT, [84, 90], [80, 70])),
    ], "808 double and a triplet 808 stutter, 16th hats with a 32nd ratchet"))

    c.append(Written("trap_09_snare_roll", 138, [
        bar(hits(KICK, [0, 42, 66], [124, 110, 114]), hits(SNARE, [48], 118),
            hits(HAT, [0, 12, 24, 36, 48, 84], [92, 72, 90, 72, 92, 72]), roll(HAT, 60, 4, 4, 62, 90)),
        bar(hits(KICK, [0, 30], [124, 110]), hits(SNARE, [48], 118), roll(SNARE, 72, 4, 6, 50, 116),
            accented(HAT, span(0, 72, 12), 92, 72, 72)),
    ], "two bars, the second ending in a 16th-triplet snare roll"))

    c.append(Written("trap_10_ratchet_start", 146, [
        bar(hits(KICK, [0, 54, 78], [124, 112, 108]), hits(CLAP, [48], 118),
            roll(HAT, 0, 3, 8, 100, 56), accented(HAT, span(24, 96, 12), 90, 72, 72)),
    ], "a bar that opens with eight 32nd hats, then 8ths"))

    c.append(Written("trap_11_332_hats", 140, [
        bar(hits(KICK, [0, 36, 60, 72], [124, 110, 112, 104]), hits(CLAP, [48], 118),
            [(float(t), HAT, 106 if t in (0, 18, 36, 48, 66, 84) else 58) for t in span(0, 96, 6)]),
        bar(hits(KICK, [0, 18, 42, 66], [124, 104, 112, 110]), hits(CLAP, [48], 118),
            [(float(t), HAT, 106 if t in (0, 18, 36, 48, 66) else 58) for t in span(0, 72, 6)],
            roll(HAT, 72, 4, 4, 64, 88), roll(HAT, 86, 2, 5, 70, 110)),
    ], "16th hats accented 3-3-2, bar 2 ends triplet roll into a 32nd-triplet ratchet",
        hat_ms=2.0))

    c.append(Written("trap_12_bounce", 143, [
        bar(hits(KICK, [0, 27, 54, 66], [124, 106, 112, 108]), hits(SNARE, [48], 118),
            hits(CLAP, [84], 64), hits(HAT, [0, 6, 24, 30, 48, 54, 84, 90], [92, 64, 90, 64, 92, 64, 86, 64]),
            roll(HAT, 60, 4, 4, 60, 92)),
    ], "hats in pairs, an 808 on a 32nd position, triplet run before the last beat"))

    c.append(Written("trap_13_open_offbeats", 135, [
        bar(hits(KICK, [0, 18, 72], [124, 104, 112]), hits(SNARE, [48], 116),
            hits(OPEN_HAT, [12, 36, 60, 84], 70), roll(HAT, 64, 4, 5, 54, 90)),
    ], "sparse: open hats on the off-beats, a five-hit triplet roll", clap_late_ms=4.0))

    c.append(Written("trap_14_all_rolls", 150, [
        bar(hits(KICK, [0, 30, 60, 66], [124, 108, 112, 100]), hits(SNARE, [48], 118),
            accented(HAT, span(0, 96, 4), 92, 74, 52)),
        bar(hits(KICK, [0, 12, 42, 78], [124, 100, 112, 108]), hits(SNARE, [48], 118),
            hits(SNARE, [66, 90], 48), accented(HAT, span(0, 48, 6), 92, 78, 60),
            roll(HAT, 48, 3, 8, 56, 100), roll(HAT, 72, 4, 6, 64, 104)),
    ], "dense: a bar of 16th-triplet hats, then 16ths, a 32nd ratchet and a triplet roll",
        hat_ms=2.0))
    return c


def written_midi(clip: Written, seed: int) -> mido.MidiFile:
    """A type-0 MIDI file of a written clip: channel 10, tempo, 4/4, loop length exact."""
    bars = _merge(humanise(Written(clip.name, clip.bpm, _merge(clip.bars), clip.description,
                                   clip.hat_ms, clip.clap_late_ms, clip.swing_ms), seed))
    loop = len(bars) * BAR * FILE_TICKS
    notes: list[tuple[int, int, int]] = []  # (start, note, velocity) in file ticks
    for b, hs in enumerate(bars):
        for t, note, vel in hs:
            start = round((b * BAR + t) * FILE_TICKS)
            notes.append((start % loop, note, vel))
    notes.sort()
    events: list[tuple[int, int, int, int]] = []  # (time, 0 = off / 1 = on, note, velocity)
    for i, (start, note, vel) in enumerate(notes):
        nxt = [s for s, n, _ in notes[i + 1:] if n == note]
        stop = min(start + NOTE_LENGTH[note] * FILE_TICKS, loop, *(nxt[:1] or [loop]))
        events += [(start, 1, note, vel), (stop, 0, note, 0)]
    events.sort()
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("track_name", name=clip.name, time=0))
    track.append(mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0))
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(clip.bpm), time=0))
    now = 0
    for t, on, note, vel in events:
        kind = "note_on" if on else "note_off"
        track.append(mido.Message(kind, channel=9, note=note, velocity=vel, time=t - now))
        now = t
    track.append(mido.MetaMessage("end_of_track", time=loop - now))
    mid = mido.MidiFile(type=0, ticks_per_beat=TPQ)
    mid.tracks.append(track)
    return mid


WRITTEN_NOTICE = """\
{title}
{underline}
These {n} drum loops were written for rvae-visual, licensed under the project's licence (MIT).
They were written by the rvae-visual developers for this project (the R-VAE
papers trained on footwork and trap, but no clean-licence clips of those genres exist). They are
generated by scripts/make_clip_sets.py from the hit lists in that script: rerun it to rebuild
them byte for byte. They are not transcriptions or samples of any recording.

Style: {style}
Format: Standard MIDI File type 0, one track, drums on channel 10, 1920 ticks per quarter, a tempo
and a 4/4 time signature at tick 0; each file is an exact 1- or 2-bar loop.
Notes: 36 kick (808), 38 snare, 39 clap, 42 closed hi-hat, 46 open hi-hat.
Grid: 24 ticks per quarter (Pattern ticks): 16th = 6, 16th triplet = 4, 32nd = 3, 32nd triplet = 2.
Microtiming: clips marked 'humanised' carry small offsets (a few ms) on hats and claps.

Files:
{files}
"""

FOOTWORK_STYLE = """footwork / juke, 155-165 BPM. Kicks in threes against the 4/4 (every 3
  sixteenths, i.e. dotted 8ths, 3-3-3-3-4 or running across the bar line) or triplet kick
  figures; claps on 2 and 4 (sometimes on the 'and's or only on 3); hats off the beat with
  16th-triplet rolls; accents and ghost notes."""

TRAP_STYLE = """trap, 135-150 BPM in half time: snare/clap on beat 3 of every bar (grid tick
  48). Syncopated 808 kicks, hi-hats in 8ths/16ths with 16th-triplet rolls, 32nd and 32nd-triplet
  ratchets, open hats, snare rolls."""


def write_written_set(out: Path, name: str, clips: list[Written], title: str, style: str) -> list[str]:
    """Write one written set's MIDI files and NOTICE.txt; returns the file names."""
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    lines = []
    for i, clip in enumerate(clips):
        fname = clip.name + ".mid"
        mid = written_midi(clip, seed=i + 1)
        mid.save(str(folder / fname))
        names.append(fname)
        human = clip.hat_ms or clip.clap_late_ms or clip.swing_ms
        bars = len(clip.bars)
        lines.append(f"  {fname}: {clip.bpm:g} BPM, {bars} bar{'s' if bars > 1 else ''}"
                     f"{', humanised' if human else ''} - {clip.description}")
    text = WRITTEN_NOTICE.format(title=title, underline="=" * len(title), n=len(clips), style=style,
                                 files="\n".join(lines))
    (folder / "NOTICE.txt").write_text(text, encoding="utf-8")
    _remove_stale(folder, names)
    return names


# ----------------------------------------------------------------------------------------------
# Copied selections
# ----------------------------------------------------------------------------------------------

# Groove MIDI Dataset excerpts (from ../shared/data/gmd), chosen round-robin over drummers and
# performances among excerpts with <= 2 notes outside kick/snare/hi-hat (toms, crashes) and
# <= 3 same-tick collisions after quantising to the 96-tick grid.
GMD_SETS: dict[str, tuple[str, list[str]]] = {
    "gmd-funk": ("funk", [
        "funk/gmd_funk_drummer1_eval_session_1_funk-groove1_138_beat_4-4_bar002.mid",
        "funk/gmd_funk_drummer5_eval_session_2_funk-groove2_105_beat_4-4_bar002.mid",
        "funk/gmd_funk_drummer7_eval_session_1_funk-groove1_138_beat_4-4_bar002.mid",
        "funk/gmd_funk_drummer8_eval_session_5_funk-groove5_84_beat_4-4_bar002.mid",
        "funk/gmd_funk_drummer1_eval_session_2_funk-groove2_105_beat_4-4_bar002.mid",
        "funk/gmd_funk_drummer5_eval_session_5_funk-groove5_84_beat_4-4_bar002.mid",
        "funk/gmd_funk_drummer7_eval_session_2_funk-groove2_105_beat_4-4_bar002.mid",
        "funk/gmd_funk_drummer8_session1_18_funk_108_beat_4-4_bar002.mid",
        "funk/gmd_funk_drummer1_session1_126_funk-fast_125_beat_4-4_bar002.mid",
        "funk/gmd_funk_drummer5_session1_15_funk_100_beat_4-4_bar002.mid",
        "funk/gmd_funk_drummer7_session1_12_funk_102_beat_4-4_bar002.mid",
        "funk/gmd_funk_drummer8_session1_19_funk_108_beat_4-4_bar002.mid",
        "funk/gmd_funk_drummer1_session1_2_funk_80_beat_4-4_bar002.mid",
        "funk/gmd_funk_drummer5_eval_session_2_funk-groove2_105_beat_4-4_bar014.mid",
    ]),
    "gmd-hiphop": ("hip hop", [
        "hiphop/gmd_hiphop_drummer3_session2_25_hiphop_92_beat_4-4_bar002.mid",
        "hiphop/gmd_hiphop_drummer7_session1_17_hiphop_100_beat_4-4_bar006.mid",
        "hiphop/gmd_hiphop_drummer8_session1_14_hiphop_94_beat_4-4_bar002.mid",
        "hiphop/gmd_hiphop_drummer3_session2_26_hiphop_92_beat_4-4_bar002.mid",
        "hiphop/gmd_hiphop_drummer7_session1_22_hiphop_100_beat_4-4_bar002.mid",
        "hiphop/gmd_hiphop_drummer8_session1_15_hiphop_94_beat_4-4_bar002.mid",
        "hiphop/gmd_hiphop_drummer3_session2_32_hiphop_92_beat_4-4_bar002.mid",
        "hiphop/gmd_hiphop_drummer7_session1_38_hiphop_100_beat_4-4_bar002.mid",
        "hiphop/gmd_hiphop_drummer8_session1_4_hiphop_90_beat_4-4_bar002.mid",
        "hiphop/gmd_hiphop_drummer3_session2_40_hiphop_110_beat_4-4_bar002.mid",
        "hiphop/gmd_hiphop_drummer7_session1_39_hiphop_100_beat_4-4_bar002.mid",
        "hiphop/gmd_hiphop_drummer8_session2_10_hiphop_86_beat_4-4_bar002.mid",
        "hiphop/gmd_hiphop_drummer3_session2_25_hiphop_92_beat_4-4_bar006.mid",
        "hiphop/gmd_hiphop_drummer7_session2_123_hiphop_140_beat_4-4_bar002.mid",
    ]),
    "gmd-rock": ("rock", [
        "rock/gmd_rock_drummer1_eval_session_8_rock-groove8_65_beat_4-4_bar008.mid",
        "rock/gmd_rock_drummer2_session1_1_rock_110_beat_4-4_bar400.mid",
        "rock/gmd_rock_drummer3_session1_11_rock_120_beat_4-4_bar006.mid",
        "rock/gmd_rock_drummer5_session2_13_rock_140_beat_4-4_bar016.mid",
        "rock/gmd_rock_drummer6_session2_3_rock_88_beat_4-4_bar038.mid",
        "rock/gmd_rock_drummer7_session1_7_rock_93_beat_4-4_bar008.mid",
        "rock/gmd_rock_drummer8_eval_session_8_rock-groove8_65_beat_4-4_bar008.mid",
        "rock/gmd_rock_drummer9_session1_24_rock_90_beat_4-4_bar014.mid",
        "rock/gmd_rock_drummer1_session2_180_rock_50_beat_4-4_bar026.mid",
        "rock/gmd_rock_drummer2_session2_4_rock_130_beat_4-4_bar004.mid",
        "rock/gmd_rock_drummer3_session1_24_rock_120_beat_4-4_bar004.mid",
        "rock/gmd_rock_drummer5_session2_14_rock_140_beat_4-4_bar026.mid",
        "rock/gmd_rock_drummer6_session3_4_rock_127_beat_4-4_bar042.mid",
        "rock/gmd_rock_drummer7_session2_1_rock_120_beat_4-4_bar016.mid",
    ]),
    "gmd-latin": ("latin / afro-cuban (baiao, songo, bembe, rhumba, joropo, chacarera)", [
        "latin/gmd_latin_drummer1_session1_145_latin-brazilian-baiao_95_beat_4-4_bar002.mid",
        "latin/gmd_latin_drummer5_session1_20_latin-brazilian-baiao_110_beat_4-4_bar002.mid",
        "latin/gmd_latin_drummer8_session2_24_latin_84_beat_4-4_bar058.mid",
        "latin/gmd_latin_drummer1_session2_112_afrocuban-bembe_122_beat_4-4_bar018.mid",
        "latin/gmd_latin_drummer5_session2_15_latin-venezuelan-joropo_80_beat_4-4_bar002.mid",
        "latin/gmd_latin_drummer8_session2_34_latin-brazilian-songo_120_beat_4-4_bar002.mid",
        "latin/gmd_latin_drummer1_session2_161_afrocuban-rhumba_110_beat_4-4_bar016.mid",
        "latin/gmd_latin_drummer5_session2_23_latin-brazilian-songo_120_beat_4-4_bar012.mid",
        "latin/gmd_latin_drummer8_session2_35_latin-brazilian-songo_120_beat_4-4_bar002.mid",
        "latin/gmd_latin_drummer1_session2_2_latin-chacarera_118_beat_4-4_bar002.mid",
        "latin/gmd_latin_drummer5_session2_23_latin-brazilian-songo_120_beat_4-4_bar040.mid",
        "latin/gmd_latin_drummer8_session2_36_latin_118_beat_4-4_bar074.mid",
        "latin/gmd_latin_drummer1_session1_145_latin-brazilian-baiao_95_beat_4-4_bar010.mid",
        "latin/gmd_latin_drummer8_session2_34_latin-brazilian-songo_120_beat_4-4_bar062.mid",
    ]),
    # triplet feel: excerpts whose off-8th onsets sit mostly on 8th-triplet positions
    "gmd-triplet": ("triplet feel: jazz swing and shuffle (blues, rock, Purdie)", [
        "jazz/gmd_jazz_drummer1_session1_49_jazz_125_beat_4-4_bar008.mid",
        "jazz/gmd_jazz_drummer10_session1_3_jazz-swing_215_beat_4-4_bar024.mid",
        "jazz/gmd_jazz_drummer4_session1_2_jazz_158_beat_4-4_bar002.mid",
        "jazz/gmd_jazz_drummer7_session1_14_jazz_100_beat_4-4_bar014.mid",
        "jazz/gmd_jazz_drummer1_session1_52_jazz_125_beat_4-4_bar032.mid",
        "jazz/gmd_jazz_drummer10_session1_4_jazz-swing_215_beat_4-4_bar002.mid",
        "jazz/gmd_jazz_drummer1_session1_76_jazz-mediumfast_180_beat_4-4_bar002.mid",
        "shuffle/gmd_shuffle_drummer1_session1_239_funk-purdieshuffle_130_beat_4-4_bar014.mid",
        "shuffle/gmd_shuffle_drummer5_session1_17_blues-shuffle_72_beat_4-4_bar002.mid",
        "shuffle/gmd_shuffle_drummer8_session1_21_rock-shuffle_112_beat_4-4_bar010.mid",
        "shuffle/gmd_shuffle_drummer1_session1_51_rock-shuffle_125_beat_4-4_bar012.mid",
        "shuffle/gmd_shuffle_drummer5_session1_17_blues-shuffle_72_beat_4-4_bar022.mid",
        "shuffle/gmd_shuffle_drummer8_session1_21_rock-shuffle_112_beat_4-4_bar018.mid",
        "shuffle/gmd_shuffle_drummer1_session1_239_funk-purdieshuffle_130_beat_4-4_bar026.mid",
    ]),
}

STICKFLOW_FILES = [
    "funk/stickflow_medium-funk-1.mid",
    "funk/stickflow_medium-funk-2.mid",
    "funk/stickflow_medium-funk-3.mid",
    "funk/stickflow_medium-funk-353.mid",
    "latin/stickflow_easy-mozambique-987.mid",
    "rock/stickflow_easy-rock-1-quarter-note-feels.mid",
    "rock/stickflow_easy-rock-2-8th-notes-feel.mid",
    "rock/stickflow_easy-rock-3-16th-notes-feel.mid",
    "rock/stickflow_easy-rock-7.mid",
    "rock/stickflow_easy-rock-8.mid",
    "rock/stickflow_easy-rock-10.mid",
    "rock/stickflow_hard-rock-383.mid",
    "rock/stickflow_hard-rock-384.mid",
    "rock/stickflow_medium-offbeat-1.mid",
    "rock/stickflow_medium-offbeat-5.mid",
    "rock/stickflow_medium-offbeat-12.mid",
]

GMD_NOTICE = """\
{set_name}: {genre}, from the Groove MIDI Dataset
{underline}
SOURCE: Groove MIDI Dataset (GMD) v1.0.0, made available by Google LLC.
  Jon Gillick, Adam Roberts, Jesse Engel, Douglas Eck, David Bamman.
  "Learning to Groove with Inverse Sequence Transformations."
  Proceedings of the 36th International Conference on Machine Learning (ICML 2019).
  Dataset: https://magenta.tensorflow.org/datasets/groove
LICENCE: Creative Commons Attribution 4.0 International (CC BY 4.0),
  https://creativecommons.org/licenses/by/4.0/

CHANGES MADE: each file is a 2-bar excerpt of one GMD performance (human drummers on a Roland
TD-11 kit, played to a click). The excerpt starts on a bar line of the performance (source bar
below, 1-based); notes played up to a 32nd note before that downbeat were moved onto it, notes
within a 32nd note of the excerpt's end were left out; a tempo, a 4/4 time signature and the
end of the track were set. Pitches, velocities, timing and durations are otherwise unchanged
(480 ticks per quarter, TD-11 note numbers, not remapped; rvae-visual's drum map reads them).
The excerpts were made for rvae-visual's shared test data (see that folder's NOTICE.txt) and
copied here unchanged, file names kept. This set was chosen round-robin over drummers and
performances among excerpts with few tom/cymbal notes.

Files ({n}): file, GMD style, tempo, source file in groove-v1.0.0-midionly, source bar,
drummer, GMD's own train/validation/test split.
{files}
"""

STICKFLOW_NOTICE = """\
stickflow: rock, funk and mozambique practice grooves from StickFlow
=====================================================================
SOURCE: StickFlow Drum Patterns library, https://www.stickflow.app - public GitHub repository
  jkobti/stickflow-drum-patterns (commit 80bf78730dc368e59de8d9fe1532962cde0127c8).
  Credit: drum patterns by StickFlow (https://www.stickflow.app).
LICENCE: CC0 1.0 Universal (public domain dedication), per the repository's LICENSE file and
  export-info.json; its text is in LICENSE-CC0.txt beside this notice. The repository README
  asks users to give appropriate credit to StickFlow, which we gladly do.

WHAT THEY ARE: notated grooves (2 bars, 16th-note grid) written by StickFlow's authors,
converted from MusicXML for rvae-visual's shared test data: onset = position in the measure,
MIDI note = General MIDI drum note, velocity 96 for every note (the notation has no dynamics),
96 ticks per quarter, tempo = the pattern's default BPM. Copied here unchanged, names kept.

Files ({n}): file, genre, StickFlow pattern id, difficulty, tempo.
{files}
"""


def _manifest(data: Path, name: str) -> dict[str, dict[str, str]]:
    with open(data / name / "manifest.csv", newline="", encoding="utf-8") as f:
        return {row["file"]: row for row in csv.DictReader(f)}


def _remove_stale(folder: Path, keep: list[str]) -> None:
    """Delete MIDI files in a set folder that the set no longer lists."""
    for p in sorted(folder.glob("*.mid")):
        if p.name not in keep:
            p.unlink()


def copy_gmd_set(out: Path, data: Path, set_name: str, genre: str, files: list[str]) -> list[str]:
    """Copy one GMD selection unmodified and write its NOTICE.txt; returns the file names."""
    man = _manifest(data, "gmd")
    folder = out / set_name
    folder.mkdir(parents=True, exist_ok=True)
    names, lines = [], []
    for rel in files:
        src = data / "gmd" / rel
        name = Path(rel).name
        shutil.copyfile(src, folder / name)
        row = man[name]
        names.append(name)
        lines.append(f"  {name}: {row['style']}, {row['bpm']} BPM, {row['source_file']}, bar "
                     f"{row['source_bar']}, {row['drummer']}, gmd split {row['gmd_split']}")
    title = f"{set_name}: {genre}, from the Groove MIDI Dataset"
    text = GMD_NOTICE.format(set_name=set_name, genre=genre, underline="=" * len(title), n=len(files),
                             files="\n".join(lines))
    (folder / "NOTICE.txt").write_text(text, encoding="utf-8")
    _remove_stale(folder, names)
    return names


def copy_stickflow_set(out: Path, data: Path) -> list[str]:
    """Copy the StickFlow selection unmodified, with NOTICE.txt and the CC0 text."""
    man = _manifest(data, "stickflow")
    folder = out / "stickflow"
    folder.mkdir(parents=True, exist_ok=True)
    names, lines = [], []
    for rel in STICKFLOW_FILES:
        name = Path(rel).name
        shutil.copyfile(data / "stickflow" / rel, folder / name)
        row = man[name]
        names.append(name)
        lines.append(f"  {name}: {row['genre']}, {row['title']}, {row['difficulty']}, {row['bpm']} BPM")
    shutil.copyfile(data / "stickflow" / "LICENSE.CC0", folder / "LICENSE-CC0.txt")
    text = STICKFLOW_NOTICE.format(n=len(names), files="\n".join(lines))
    (folder / "NOTICE.txt").write_text(text, encoding="utf-8")
    _remove_stale(folder, names)
    return names


# ----------------------------------------------------------------------------------------------
# README
# ----------------------------------------------------------------------------------------------

README_HEAD = """\
# Bundled clip sets

Small sets of drum clips (MIDI, channel 10, 4/4, 1- or 2-bar loops) to train a map on, about a
dozen clips each, as R-VAE does. Each folder is one set and has a NOTICE.txt with its origin,
licence and the list of its files. Train on a set by passing its folder, e.g.
`rvae-visual train rvae_visual/data/clips/footwork`.

This folder is generated by `scripts/make_clip_sets.py` (rerun it to rebuild it byte for byte);
do not edit the files by hand.

| set | genre | clips | bars | tempo (BPM) | origin, licence |
|---|---|---|---|---|---|
"""

README_TAIL = """
Notes
- footwork and trap: the genres of the R-VAE papers. No clips of them with a clean licence
  exist, so they were written for rvae-visual (MIT), with 16th-triplet hat rolls (4 grid ticks
  at 24 ppqn), 32nd ratchets (3 ticks), footwork's kicks in threes against the 4/4 and trap's
  half-time snare on beat 3.
- gmd-*: performances by human drummers (real velocities and microtiming), from the Groove MIDI
  Dataset: Gillick, Roberts, Engel, Eck, Bamman, "Learning to Groove with Inverse Sequence
  Transformations", ICML 2019; CC BY 4.0. gmd-triplet holds jazz and shuffle excerpts with a
  triplet (swung) feel.
- stickflow: notated grooves (quantised, one velocity) from StickFlow (https://www.stickflow.app),
  CC0; credit to StickFlow as its authors ask.
"""


def write_readme(out: Path, rows: list[tuple[str, str, str]]) -> None:
    """README.md listing the sets; tempos and bar counts read from the files themselves."""
    lines = []
    for name, genre, origin in rows:
        bpms, bars = [], set()
        for p in sorted((out / name).glob("*.mid")):
            mid = mido.MidiFile(str(p))
            tempo = next(m.tempo for t in mid.tracks for m in t if m.type == "set_tempo")
            bpms.append(mido.tempo2bpm(tempo))
            length = max(sum(m.time for m in t) for t in mid.tracks) / mid.ticks_per_beat
            bars.add(round(length / 4))
        tempo = f"{min(bpms):.0f}-{max(bpms):.0f}" if round(min(bpms)) != round(max(bpms)) else f"{bpms[0]:.0f}"
        bar_text = f"{min(bars)}-{max(bars)}" if len(bars) > 1 else str(min(bars))
        lines.append(f"| `{name}/` | {genre} | {len(bpms)} | {bar_text} | {tempo} | {origin} |")
    (out / "README.md").write_text(README_HEAD + "\n".join(lines) + "\n" + README_TAIL, encoding="utf-8")


def build(out: Path, data: Path) -> None:
    """Write every set into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    write_written_set(out, "footwork", footwork_clips(), "footwork: written for rvae-visual",
                      FOOTWORK_STYLE)
    rows.append(("footwork", "footwork / juke", "written for rvae-visual, MIT"))
    write_written_set(out, "trap", trap_clips(), "trap: written for rvae-visual", TRAP_STYLE)
    rows.append(("trap", "trap (half time)", "written for rvae-visual, MIT"))
    for set_name, (genre, files) in GMD_SETS.items():
        copy_gmd_set(out, data, set_name, genre, files)
        rows.append((set_name, genre, "Groove MIDI Dataset (Gillick et al. 2019), CC BY 4.0"))
    copy_stickflow_set(out, data)
    rows.append(("stickflow", "rock, funk, mozambique (notated)", "StickFlow, CC0 (credit StickFlow)"))
    write_readme(out, rows)


def main(argv: list[str] | None = None) -> int:
    """Command line: build the sets."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA,
                    help=f"shared clip data with gmd/ and stickflow/ (default {DEFAULT_DATA})")
    args = ap.parse_args(argv)
    for sub in ("gmd", "stickflow"):
        if not (args.data / sub / "manifest.csv").is_file():
            print(f"make_clip_sets: error: {args.data / sub}: no manifest.csv (use --data)", file=sys.stderr)
            return 2
    build(args.out, args.data)
    print(f"wrote clip sets to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
