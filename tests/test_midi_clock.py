"""MIDI clock in (tempo estimate, transport messages, a vanished clock) and clock out helpers,
with synthetic timestamps."""

from __future__ import annotations

import random

import pytest

from rvae_visual.midi import clock_out
from rvae_visual.midi.clock_in import ClockFollower, slope
from rvae_visual.pattern import samples_per_tick


def started(pulses: int, timeout: float = 0.5, step: float = 0.02) -> tuple[ClockFollower, float]:
    """A follower after Start and `pulses` pulses `step` s apart (read as they arrive), and
    the time of the last one."""
    f = ClockFollower(timeout=timeout)
    t = 0.0
    f.feed(clock_out.START, t, t)
    for _ in range(pulses):
        t += step
        f.feed(clock_out.CLOCK, t, t)
    return f, t


def pulse_times(bpm: float, n: int, period: float = 128 / 48000, seed: int = 1, t0: float = 10.0):
    """Pulse arrival times as JACK delivers them: each rounded up to the next audio period,
    plus a little sender jitter."""
    rng = random.Random(seed)
    per = 60.0 / (bpm * 24)
    out = []
    for k in range(n):
        t = t0 + k * per + rng.uniform(0, 0.0005)
        out.append((int(t / period) + 1) * period)
    return out


def test_slope_of_exact_pulses():
    assert slope([0.0, 0.5, 1.0, 1.5]) == pytest.approx(0.5)


@pytest.mark.parametrize("bpm", [100.0, 140.0, 60.0, 200.0])
def test_tempo_settles_within_half_a_bpm_after_one_bar(bpm):
    f = ClockFollower()
    ts = pulse_times(bpm, 96)
    for t in ts:
        f.feed(clock_out.CLOCK, t, t)
    assert f.bpm == pytest.approx(bpm, abs=0.5)
    # and it follows a tempo change within a bar
    per = 60.0 / (110.0 * 24)
    for k in range(1, 97):
        t = ts[-1] + k * per
        f.feed(clock_out.CLOCK, t, t)
    assert f.bpm == pytest.approx(110.0, abs=0.05)


def test_start_stop_continue_and_song_position():
    f = ClockFollower()
    t = 0.0
    f.feed(clock_out.START, t, t)
    assert f.take_events() == []  # a follower starts with the next pulse, not the Start
    for _ in range(30):
        t += 0.02
        f.feed(clock_out.CLOCK, t, t + 0.001)  # read 1 ms after it arrived
    assert f.running and f.position == 30
    f.feed(clock_out.STOP, t, t)
    assert not f.running
    spp = clock_out.song_position(48)  # bar 1 beat 3 = 16th number 8
    f.feed(spp[0], t, t, spp[1:])
    assert f.position == 48
    f.feed(clock_out.CONTINUE, t + 0.5, t + 0.5)
    assert f.ticks_at(t + 0.5) is None  # until the pulse that carries the position
    t += 0.52
    f.feed(clock_out.CLOCK, t, t)
    assert f.running and f.position == 49
    ev = f.take_events()
    assert [(e, tick) for e, tick, _ in ev] == [("start", 0), ("stop", 30), ("position", 48), ("continue", 48)]
    # start and continue hold when their pulse arrived here (port time + the least read delay)
    assert ev[0][2] == pytest.approx(0.021) and ev[3][2] == pytest.approx(t)
    assert f.take_events() == []
    assert f.ticks_at(t) == pytest.approx(48.0)


def test_song_position_while_running_jumps_at_the_next_pulse():
    f, t = started(10)
    f.take_events()
    spp = clock_out.song_position(96 * 3)
    f.feed(spp[0], t, t, spp[1:])
    t += 0.02
    f.feed(clock_out.CLOCK, t, t)
    assert [(e, tick) for e, tick, _ in f.take_events()] == [("position", 288), ("continue", 288)]
    assert f.ticks_at(t + 0.01) == pytest.approx(288.5)


def test_a_vanished_clock_is_noticed_once():
    f, t = started(48)
    f.take_events()
    assert not f.check(t + 0.3)
    assert f.check(t + 0.6)
    assert [e[:2] for e in f.take_events()] == [("lost", 48)]
    assert not f.running and not f.present
    assert not f.check(t + 5.0)
    # it comes back: the tempo is measured afresh, not across the gap
    t += 10.0
    for _ in range(30):
        t += 0.025
        f.feed(clock_out.CLOCK, t, t)
    assert f.present and f.bpm == pytest.approx(100.0, abs=0.01)


def test_pulses_in_window_sit_on_the_ticks_and_tile_windows():
    sr, bpm, origin = 48000, 137.0, 123.4
    spt = samples_per_tick(bpm, sr)
    whole = clock_out.pulses_in_window(bpm, sr, origin, 0, 200000)
    parts = []
    for a in range(0, 200000, 997):
        parts += clock_out.pulses_in_window(bpm, sr, origin, a, min(a + 997, 200000))
    assert whole == parts
    for s, k in whole:
        assert s == int(origin + k * spt + 0.5)
    # one quarter note = 24 pulses
    quarter = [s for s, k in whole if 0 <= k < 25]
    assert len(quarter) == 25 and quarter[24] - quarter[0] == pytest.approx(24 * spt, abs=1)


def test_song_position_and_start_messages():
    assert clock_out.song_position(0) == [0xF2, 0, 0]
    assert clock_out.song_position(6 * 200) == [0xF2, 200 & 0x7F, 200 >> 7]
    assert clock_out.start_messages(0) == [[clock_out.START]]
    assert clock_out.start_messages(96) == [[0xF2, 16, 0], [clock_out.CONTINUE]]


def test_one_held_up_pulse_does_not_bend_the_tempo():
    per = 60.0 / (120.0 * 24)
    ts = [k * per for k in range(40)]
    ts[36] += 0.012  # the MIDI system stalled: one pulse late, the next on time
    f = ClockFollower()
    for t in ts:
        f.feed(clock_out.CLOCK, t, t)
    assert f.bpm == pytest.approx(120.0, abs=0.05)
    assert 60.0 / (slope(ts[-25:]) * 24) != pytest.approx(120.0, abs=0.3)  # a plain fit would bend


def test_ticks_at_extrapolates_from_the_last_pulse_with_the_least_read_delay():
    f = ClockFollower()
    per = 60.0 / (120.0 * 24)
    f.feed(clock_out.START, 0.0, 5.0)
    assert f.ticks_at(5.0) is None
    rng = random.Random(2)
    for k in range(48):
        t = k * per
        f.feed(clock_out.CLOCK, t, 5.0 + t + 0.0005 + rng.uniform(0, 0.002))  # polled late
    now = 5.0 + 47 * per + 0.010
    assert f.ticks_at(now) == pytest.approx(47 + 0.0095 / per, abs=0.05)


def test_a_clock_stopped_by_stop_may_stop_its_pulses_without_a_lost_event():
    f, t = started(48)
    f.feed(clock_out.STOP, t, t)
    assert not f.check(t + 0.6) and not f.present
    assert [e[0] for e in f.take_events()] == ["start", "stop"]


def test_song_place_names_bar_beat_and_sixteenth():
    from rvae_visual.midi.clock_follow import song_place

    assert song_place(0) == "bar 1 beat 1"
    assert song_place(240) == "bar 3 beat 3"
    assert song_place(96 + 24 + 18) == "bar 2 beat 2.4"
