"""The performance state: pure logic (head, listening, threshold, noise jitter, mutes, trail, tempo)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rvae_visual.performance import BPM_MAX, BPM_MIN, NOISE_MAX, Performance, map_unit


def test_head_is_clamped_to_the_map_window():
    p = Performance(extent=3.0)
    p.place_head(5.0, -7.0)
    assert p.head == (3.0, -3.0)
    p.move_head(-1.25, 0.5, now=0.0)
    assert p.head == (-1.25, 0.5)


def test_threshold_noise_and_tempo_are_clamped():
    p = Performance()
    p.set_threshold(1.7)
    assert p.threshold == 1.0
    p.set_threshold(-0.2)
    assert p.threshold == 0.0
    p.set_noise(99)
    assert p.noise == NOISE_MAX
    p.set_noise(-1)
    assert p.noise == 0.0
    p.set_tempo(1000)
    assert p.bpm == BPM_MAX
    p.set_tempo(1)
    assert p.bpm == BPM_MIN


def test_no_noise_means_the_head_itself_every_bar():
    p = Performance(head=(0.7, -0.3), noise=0.0)
    assert [p.target(b) for b in range(5)] == [(0.7, -0.3)] * 5


def test_jitter_is_a_function_of_seed_and_bar():
    a = Performance(noise=0.5, seed=7)
    b = Performance(noise=0.5, seed=7)
    c = Performance(noise=0.5, seed=8)
    bars = [3, 0, 2, 3, 1]  # any order, repeated: same bar -> same jitter
    ja = [a.jitter(k) for k in bars]
    assert ja == [b.jitter(k) for k in bars]
    assert ja[0] == ja[3]
    assert len({ja[i] for i in (1, 2, 0, 4)}) == 4  # differs from bar to bar
    assert [c.jitter(k) for k in bars] != ja
    a.reseed(8)
    assert [a.jitter(k) for k in bars] == [c.jitter(k) for k in bars]


def test_jitter_scales_with_noise_and_is_roughly_standard_normal():
    p = Performance(noise=1.0, seed=3)
    unit = np.array([p.jitter(k) for k in range(4000)])
    assert abs(unit.mean()) < 0.06
    assert abs(unit.std() - 1.0) < 0.05
    p.set_noise(0.25)
    quarter = np.array([p.jitter(k) for k in range(4000)])
    np.testing.assert_allclose(quarter, unit * 0.25, rtol=1e-12)


def test_target_is_head_plus_jitter_kept_in_the_window():
    p = Performance(head=(1.0, 2.0), noise=0.3, seed=11)
    dz = p.jitter(5)
    t = p.target(5)
    assert t == pytest.approx((1.0 + dz[0], min(3.0, 2.0 + dz[1])))
    p.place_head(3.0, 3.0)
    p.set_noise(NOISE_MAX)
    for bar in range(50):
        z1, z2 = p.target(bar)
        assert -3.0 <= z1 <= 3.0 and -3.0 <= z2 <= 3.0


def test_mutes_held_latched_and_all():
    p = Performance(n_instruments=3)
    assert p.mutes == (False, False, False)
    p.hold_mute(0, True)
    assert p.mutes == (True, False, False)
    p.hold_mute(0, False)
    assert p.mutes == (False, False, False)
    p.toggle_latch(2)
    assert p.mutes == (False, False, True)
    p.hold_mute(2, True)
    p.hold_mute(2, False)  # releasing a held key does not undo a latch
    assert p.mutes == (False, False, True)
    p.toggle_mute_all()
    assert p.mutes == (True, True, True)
    p.toggle_mute_all()
    assert p.mutes == (False, False, True)
    p.toggle_latch(2)
    assert p.mutes == (False, False, False)
    p.hold_mute(7, True)  # no such instrument: ignored
    assert p.mutes == (False, False, False)


def test_trail_fades_and_is_pruned():
    p = Performance(trail_seconds=3.0)
    p.place_head(0.0, 0.0, now=10.0)
    p.move_head(0.5, 0.0, now=11.0)
    p.move_head(0.5, 0.0, now=11.5)  # did not move: no new point
    p.move_head(1.0, 0.5, now=12.0)
    pts = p.trail_points(now=12.0)
    assert [(z1, z2) for _, z1, z2, _ in pts] == [(0.0, 0.0), (0.5, 0.0), (1.0, 0.5)]
    assert [f for f, *_ in pts] == pytest.approx([1 / 3, 2 / 3, 1.0])
    assert len({s for *_, s in pts}) == 1  # one stroke
    pts = p.trail_points(now=13.5)  # the first point is now 3.5 s old
    assert [(z1, z2) for _, z1, z2, _ in pts] == [(0.5, 0.0), (1.0, 0.5)]
    p.clear_trail()
    assert p.trail_points(now=13.5) == []


def test_a_jump_starts_a_new_stroke():
    p = Performance()
    p.place_head(0.0, 0.0, now=0.0)
    p.move_head(1.0, 0.0, now=0.1)
    p.place_head(-2.0, 1.0, now=0.2)
    p.move_head(-2.0, 2.0, now=0.3)
    strokes = [s for *_, s in p.trail_points(now=0.3)]
    assert strokes[0] == strokes[1] != strokes[2] == strokes[3]


def test_listening_and_playing_toggle():
    p = Performance()
    assert p.listening and p.playing
    p.toggle_listening()
    p.toggle_playing()
    assert not p.listening and not p.playing


def test_map_unit():
    assert map_unit(0.0, 0.0, NOISE_MAX) == 0.0
    assert map_unit(1.0, 0.0, NOISE_MAX) == NOISE_MAX
    assert map_unit(0.5, 40, 300) == 170
    assert map_unit(2.0, 0, 1) == 1.0
    assert math.isclose(map_unit(0.25, -3, 3), -1.5)


def test_resize_instruments_resets_mutes():
    p = Performance(n_instruments=3)
    p.toggle_latch(1)
    p.resize_instruments(5)
    assert p.mutes == (False,) * 5


def test_moves_at_the_same_moment_make_one_trail_point():
    p = Performance()
    p.place_head(0.0, 0.0, now=1.0)
    p.move_head(0.5, 0.0, now=2.0)
    p.move_head(0.5, 0.5, now=2.0)  # y of the same controller moment
    p.move_head(1.0, 0.5, now=3.0)
    p.move_head(1.0, 1.0, now=3.0)
    assert [(z1, z2) for _, z1, z2, _ in p.trail_points(now=3.0)] == [(0.0, 0.0), (0.5, 0.5), (1.0, 1.0)]
