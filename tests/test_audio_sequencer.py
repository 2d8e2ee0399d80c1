"""The sequencer (pure) and the transport: exact sample positions, window edges, microtiming,
tempo changes and quantised pattern changes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rvae_visual.audio.sequencer import check_bpm, compile_pattern, hits_in_window
from rvae_visual.audio.transport import Transport
from rvae_visual.model.clips import read_clip
from rvae_visual.pattern import Pattern, samples_per_tick

SR = 48000


def pattern(cells: list[tuple[int, int, float, float]], prob: float = 1.0, n_inst: int = 3) -> Pattern:
    """cells: (instrument, tick, velocity, offset)."""
    on = np.zeros((n_inst, 96), np.float32)
    vel = np.zeros_like(on)
    off = np.zeros_like(on)
    for inst, tick, v, o in cells:
        on[inst, tick] = prob
        vel[inst, tick] = v
        off[inst, tick] = o
    return Pattern(on, vel, off)


def expected(x_ticks: float, bpm: float, origin: float = 0.0) -> int:
    return math.floor(origin + x_ticks * samples_per_tick(bpm, SR) + 0.5)


def test_positions_follow_the_time_base():
    p = pattern([(0, 0, 1.0, 0.0), (1, 24, 0.8, 0.25), (2, 50, 0.5, -0.4)])
    bpm = 97.0  # samples per tick not an integer
    hits = hits_in_window(p, 0.5, (), bpm, SR, 0, 10 * 96 * 1300)
    bar = 96 * samples_per_tick(bpm, SR)
    assert hits[:3] == [(expected(0, bpm), 0, 1.0), (expected(24.25, bpm), 1, pytest.approx(0.8)),
                        (expected(49.6, bpm), 2, 0.5)]
    # every bar repeats at its exact place, not accumulated from rounded bars
    kicks = [s for s, i, _ in hits if i == 0]
    assert kicks == [math.floor(b * bar + 0.5) for b in range(len(kicks))]


def test_hit_on_last_sample_of_block_belongs_to_that_block():
    bpm = 120.0  # 1000 samples per tick at 48 kHz
    p = pattern([(2, 1, 1.0, 0.127)])  # tick 1.127 -> sample 1127
    assert hits_in_window(p, 0.5, (), bpm, SR, 1000, 1128) == [(1127, 2, 1.0)]
    assert hits_in_window(p, 0.5, (), bpm, SR, 1128, 1256) == []
    assert hits_in_window(p, 0.5, (), bpm, SR, 1127, 1128) == [(1127, 2, 1.0)]
    assert hits_in_window(p, 0.5, (), bpm, SR, 999, 1127) == []


def test_negative_offset_on_tick_zero_falls_in_previous_bar_window():
    bpm = 120.0
    bar = 96_000
    p = pattern([(0, 0, 1.0, -0.3)])
    # bar 1's early kick sounds 300 samples before its bar line, inside bar 0's last block
    assert hits_in_window(p, 0.5, (), bpm, SR, bar - 512, bar) == [(bar - 300, 0, 1.0)]
    assert hits_in_window(p, 0.5, (), bpm, SR, bar, bar + 128) == []
    # with the loop starting at `origin`, bar 0's early hit is before it
    origin = 10_000
    assert hits_in_window(p, 0.5, (), bpm, SR, 0, origin + 1, origin=origin) == [(origin - 300, 0, 1.0)]


def test_positive_offset_on_last_tick_crosses_into_next_bar():
    p = pattern([(1, 95, 1.0, 0.49)])
    bpm = 120.0
    s = expected(95.49, bpm)
    assert s == 95_490
    assert hits_in_window(p, 0.5, (), bpm, SR, 95_400, 96_000) == [(s, 1, 1.0)]
    assert hits_in_window(p, 0.5, (), bpm, SR, 96_000, 96_128 + 96_000) == [(s + 96_000, 1, 1.0)]


@pytest.mark.parametrize("block", [1, 64, 128, 333, 4096])
def test_any_partition_gives_each_hit_once(corpus, block):
    clip = read_clip(sorted((corpus / "gmd" / "funk").glob("*.mid"))[0])
    p = clip.patterns[0]
    bpm = 131.3
    total = int(3 * 96 * samples_per_tick(bpm, SR))
    whole = hits_in_window(p, 0.5, (), bpm, SR, -5000, total)
    parts = []
    for start in range(-5000, total, block):
        parts += hits_in_window(p, 0.5, (), bpm, SR, start, min(start + block, total))
    assert parts == whole
    spt = samples_per_tick(bpm, SR)
    want = sorted((math.floor((96 * b + h.tick + h.offset) * spt + 0.5), h.instrument)
                  for b in range(-1, 4) for h in p.hits(0.5))
    assert [(s, i) for s, i, _ in whole] == [w for w in want if -5000 <= w[0] < total]


def test_threshold_is_strict_and_mutes_apply():
    p = pattern([(0, 0, 1.0, 0.0), (1, 24, 1.0, 0.0), (2, 48, 1.0, 0.0)], prob=0.5)
    assert hits_in_window(p, 0.5, (), 120, SR, 0, 96_000) == []
    assert len(hits_in_window(p, 0.49, (), 120, SR, 0, 96_000)) == 3
    assert [i for _, i, _ in hits_in_window(p, 0.49, (False, True), 120, SR, 0, 96_000)] == [0, 2]


def test_bpm_range_is_checked():
    assert check_bpm(40) == 40.0 and check_bpm(300) == 300.0
    for bad in (39.9, 300.1, 0):
        with pytest.raises(ValueError, match="40-300"):
            check_bpm(bad)
    with pytest.raises(ValueError):
        hits_in_window(Pattern.empty(), 0.5, (), 20, SR, 0, 10)


# ------------------------------------------------------------------ transport


def run(t: Transport, frames: int, blocks: int) -> list[tuple[int, int, float]]:
    out: list[tuple[int, int, float]] = []
    for _ in range(blocks):
        t.advance(frames, lambda s, i, v: out.append((s, i, v)))
    return out


def test_transport_plays_from_zero_and_stops():
    p = pattern([(0, 0, 1.0, 0.0), (1, 48, 0.7, 0.0)])
    t = Transport(SR, 120.0)
    t.request_pattern(p)
    assert run(t, 128, 10) == []  # not started
    t.request_playing(True)
    hits = run(t, 128, 800)  # 102400 samples > one bar
    assert [(s, i) for s, i, _ in hits] == [(0, 0), (48_000, 1), (96_000, 0)]
    t.request_playing(False)
    assert run(t, 128, 800) == []
    t.request_playing(True)  # starts again from the top
    assert run(t, 128, 1)[0][0] == 0


def test_locate_starts_at_a_tick_and_jumps_while_playing():
    p = pattern([(0, 0, 1.0, 0.0), (1, 48, 0.7, 0.0), (2, 60, 0.5, -0.25)])
    t = Transport(SR, 120.0)  # 1000 samples per tick
    t.request_pattern(p)
    t.request_locate(96 * 2 + 50)  # Song Position bar 3, tick 50, then Continue
    hits = run(t, 128, 500)  # 64000 samples: ticks 242 .. 306
    assert t.run == 1 and t.run_start == 0
    # tick 60 (-0.25) of bar 3 at 9750, bar 4's downbeat at 46000
    assert [(s, i) for s, i, _ in hits] == [(9_750, 2), (46_000, 0)]
    assert t.tick_time(0) == pytest.approx(242.0)
    # while playing: a jump keeps the sample count going and plays from the new tick at once
    jump_at = t.pos
    t.request_locate(47.5)
    hits = run(t, 128, 100)
    assert t.run == 2 and t.run_start == jump_at
    assert [(s - jump_at, i) for s, i, _ in hits] == [(500, 1), (12_250, 2)]


def test_locate_at_a_time_is_carried_to_the_block_heard_then():
    t = Transport(SR, 120.0)  # 48 ticks a second
    t.request_pattern(pattern([(0, 24, 1.0, 0.0)]))
    t.request_locate(10.0, at=100.0)  # tick 10 is heard at t = 100 s
    out: list = []
    t.advance(128, lambda s, i, v: out.append(s), heard_time=100.25)  # taken up 0.25 s later
    assert t.tick_time(0) == pytest.approx(22.0)  # 10 + 0.25 s * 48 ticks/s
    t.advance(128 * 100, lambda s, i, v: out.append(s), heard_time=100.25 + 128 / SR)
    assert out == [2000]  # tick 24, two ticks in
    # stop and start within one block still restarts from the top
    t.request_playing(False)
    t.request_playing(True)
    t.advance(128, lambda s, i, v: None)
    assert t.run == 2 and t.tick_time(t.block_start) == 0.0


def test_a_late_locate_plays_the_hits_it_skipped_at_once():
    t = Transport(SR, 120.0)  # 48 ticks a second, 1000 samples a tick
    t.request_pattern(pattern([(0, 0, 1.0, -0.2), (1, 1, 1.0, 0.0), (2, 2, 1.0, 0.0), (2, 95, 1.0, 0.0)]))
    t.request_locate(0.0, at=100.0)  # a clock's Start: its first pulse was heard at t = 100 s
    out: list = []
    t.advance(128, lambda s, i, v: out.append((s, i)), heard_time=100.03)  # 1.44 ticks late
    t.advance(1000, lambda s, i, v: out.append((s, i)), heard_time=100.03 + 128 / SR)
    # the downbeat (a little early in the pattern) and tick 1 at once, tick 2 on time;
    # the previous bar's last tick is not caught up
    assert out == [(0, 0), (0, 1), (560, 2)]
    assert t.catch_up_from == -1940 and t.run_start == 0  # tick -0.5 is 1.94 ticks back
    # too late to catch up: skipped
    t.request_playing(False)
    t.advance(128, lambda s, i, v: None)
    t.request_locate(0.0, at=200.0)
    out.clear()
    t.advance(128, lambda s, i, v: out.append((s, i)), heard_time=200.2)
    assert out == []


def test_tempo_change_mid_bar_keeps_phase_and_plays_each_hit_once():
    offs = [float(np.float32(o)) for o in [0, .3, -.4, .1, -.2, .45, -.5, 0] * 2]
    cells = [(2, k, 1.0, o) for k, o in zip(range(0, 96, 6), offs)]
    p = pattern(cells)
    t = Transport(SR, 120.0)  # 1000 samples per tick
    t.request_pattern(p)
    t.request_playing(True)
    before = run(t, 128, 300)  # 38400 samples: the change comes mid-bar
    change_at = t.pos
    t.request_bpm(90.0)
    after = run(t, 128, 1200)
    spt_new = samples_per_tick(90.0, SR)
    x_c = (change_at - 0.5) / 1000.0  # tick-time where the old tempo hands over
    origin_new = change_at - 0.5 - x_c * spt_new
    all_x = [96 * b + k + o for b in range(4) for _, k, _, o in cells]
    want_before = sorted(math.floor(x * 1000 + 0.5) for x in all_x if 0 <= x < x_c)
    want_after = sorted(s for s in (math.floor(origin_new + x * spt_new + 0.5) for x in all_x if x >= x_c)
                        if s < t.pos)
    assert [s for s, _, _ in before] == want_before
    assert [s for s, _, _ in after] == want_after
    assert min(s for s, _, _ in after) >= change_at  # nothing doubled or lost at the change
    assert len(after) > 10


@pytest.mark.parametrize("quant,step", [("tick", 1), ("beat", 24), ("bar", 96)])
def test_quantised_pattern_change(quant, step):
    a = pattern([(0, k, 1.0, 0.0) for k in range(0, 96, 3)])  # kick every 3 ticks
    b = pattern([(1, k, 1.0, -0.25) for k in range(0, 96, 3)])  # snare, early
    t = Transport(SR, 120.0, quantize=quant)
    t.request_pattern(a)
    t.request_playing(True)
    first = run(t, 128, 80)  # up to sample 10240 = tick 10.24
    t.request_pattern(b)
    rest = run(t, 128, 1600)
    x_req = 10240 / 1000.0
    switch = math.ceil((x_req + 0.25 + 1e-6) / step) * step
    kicks = [s for s, i, _ in first + rest if i == 0]
    snares = [s for s, i, _ in rest if i == 1]
    assert max(kicks) == ((switch - 1) // 3) * 3000  # a's last kick is before the switch tick
    assert snares[0] == math.ceil(switch / 3) * 3 * 1000 - 250  # b starts on its first tick >= switch, early
    assert all(s < snares[0] for s in kicks)
    assert len(snares) == len([k for k in range(switch, 96 * 3) if k % 3 == 0 and (k * 1000 - 250) < t.pos])


def test_compiled_pattern_sorted_by_time():
    p = pattern([(0, 10, 1.0, 0.4), (1, 11, 1.0, -0.45), (2, 0, 1.0, -0.5)])
    cp = compile_pattern(p)
    assert list(cp.xs) == sorted(cp.xs)
    assert cp.min_offset == pytest.approx(-0.5) and cp.max_offset == pytest.approx(0.4)


# ---------------------------------------------------------------- swing

def test_swing_warp_moves_the_off_beat_16th_and_keeps_the_8th_lines():
    from rvae_visual.swing import unwarp, warp

    for s in (0.5, 0.58, 2 / 3, 0.75):
        assert warp(6.0, s) == pytest.approx(12 * s)  # the off-beat 16th at s of its 8th
        for line in (-12.0, 0.0, 12.0, 24.0, 96.0, 1200.0):
            assert warp(line, s) == pytest.approx(line)
        xs = np.linspace(-30, 200, 2301)
        ws = [warp(float(x), s) for x in xs]
        assert all(b > a for a, b in zip(ws, ws[1:]))  # increasing: the order of hits stays
        assert max(abs(unwarp(w, s) - x) for w, x in zip(ws, xs)) < 1e-9
    assert warp(3.0, 0.75) == pytest.approx(4.5) and warp(9.0, 0.75) == pytest.approx(10.5)


@pytest.mark.parametrize("block", [64, 128, 997])
def test_swing_changed_while_playing_plays_each_hit_once_at_its_swung_place(block):
    """16ths with microtiming, the swing turned while they play: every hit sounds exactly once,
    at its tick-time warped by the swing in force on its 8th note (a change takes over at the
    next 8th-note line after it is asked for)."""
    from rvae_visual.swing import next_line, warp

    offs = [float(np.float32(o)) for o in [0, .3, -.4, .1, -.2, .45, -.5, 0] * 2]
    cells = [(2, k, 1.0, o) for k, o in zip(range(0, 96, 6), offs)]
    t = Transport(SR, 120.0)  # 1000 samples per tick
    t.request_pattern(pattern(cells))
    t.request_playing(True)
    got: list[int] = []
    changes: list[tuple[float, float]] = [(-1e9, 0.5)]  # (8th line from which, swing)
    rng = np.random.default_rng(block)
    for k in range(60):
        got += [s for s, _, _ in run(t, block, int(rng.integers(1, 40)) * 1024 // block)]
        new = float(rng.choice([0.5, 0.54, 0.6, 2 / 3, 0.75]))
        if new != changes[-1][1]:
            line = next_line((t.pos - 0.5) / 1000.0)
            changes = [c for c in changes if c[0] < line] + [(line, new)]  # a pending change is replaced
        t.request_swing(new)
    end = t.pos
    want = []
    for b in range(end // 96000 + 2):
        for _, tick, _, o in cells:
            x = 96 * b + tick + o
            swing = [s for at, s in changes if at <= x][-1]
            pos = math.floor(warp(x, swing) * 1000 + 0.5)
            if 0 <= pos < end:
                want.append(pos)
    assert got == sorted(want)
    assert len(changes) > 10 and len(got) > 100


def test_a_threshold_per_instrument_decides_each_drums_hits():
    p = pattern([(0, 0, 1.0, 0.0), (1, 24, 1.0, 0.0), (2, 48, 1.0, 0.0)], prob=0.6)
    assert [i for _, i, _ in hits_in_window(p, 0.5, (False,) * 3, 120.0, SR, 0, 96000)] == [0, 1, 2]
    assert [i for _, i, _ in hits_in_window(p, (0.5, 0.7, 0.55), (False,) * 3, 120.0, SR, 0, 96000)] == [0, 2]
    assert [h.instrument for h in p.hits((0.7, 0.5, 0.7))] == [1]
    t = Transport(SR, 120.0, threshold=(0.7, 0.5, 0.5))
    t.request_pattern(p)
    t.request_playing(True)
    assert [i for _, i, _ in run(t, 128, 750)] == [1, 2]
