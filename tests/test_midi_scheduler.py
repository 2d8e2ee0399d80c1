"""The MIDI out scheduler with an injected clock: notes and clock pulses at the times the audio
plays the hits, microtiming and negative offsets included, latency, mutes, stop and panic."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rvae_visual.midi import clock_out
from rvae_visual.midi.notes_out import MidiScheduler, NoteOutConfig, TransportView, velocity_byte
from rvae_visual.pattern import Pattern, samples_per_tick

SR = 48000


def make_pattern() -> Pattern:
    on = np.zeros((3, 96), np.float32)
    vel = np.zeros((3, 96), np.float32)
    off = np.zeros((3, 96), np.float32)
    for inst, tick, v, o in [(0, 0, 1.0, -0.3), (1, 24, 0.6, 0.2), (2, 48, 0.3, 0.0), (0, 60, 0.8, 0.45),
                             (2, 72, 0.5, -0.45)]:
        on[inst, tick], vel[inst, tick], off[inst, tick] = 0.9, v, o
    on[1, 90], vel[1, 90] = 0.4, 1.0  # below the 0.5 threshold
    return Pattern(on, vel, off)


class FakeTransport:
    """A transport started at monotonic time `t0` (sample 0 heard then); views read at `now`."""

    def __init__(self, pattern: Pattern, bpm: float = 120.0, t0: float = 1.0) -> None:
        self.pattern, self.bpm, self.t0 = pattern, bpm, t0
        self.playing = True
        self.mutes = (False, False, False)
        self.threshold = 0.5
        self.now = 0.0
        self.run = 1

    def view(self) -> TransportView:
        return TransportView(self.playing, self.pattern, self.threshold, self.mutes, self.bpm, 0.0, SR,
                             (self.now - self.t0) * SR, self.now, self.run)


def simulate(sched: MidiScheduler, tr: FakeTransport, t_end: float, start: float = 0.0,
             events: dict | None = None) -> list[tuple[float, list[int]]]:
    """Run the scheduler event by event on simulated time; returns (send time, message)."""
    sent: list[tuple[float, list[int]]] = []
    sched.send = lambda m: sent.append((tr.now, list(m)))
    now = start
    events = dict(events or {})
    while now < t_end:
        for t in [t for t in events if t <= now]:
            events.pop(t)(tr)
        tr.now = now
        now = max(sched.step(now), now + 1e-6)
    return sent


def expected_hits(p: Pattern, bars: int, bpm: float, threshold: float = 0.5, mutes=(False,) * 3):
    spt = samples_per_tick(bpm, SR)
    out = []
    for b in range(-1, bars + 1):
        for h in p.hits(threshold):
            if mutes[h.instrument]:
                continue
            s = math.floor((b * 96 + h.tick + h.offset) * spt + 0.5)
            out.append((s, h.instrument, h.velocity))
    return sorted(out)


def test_notes_go_out_when_their_samples_are_heard_with_microtiming_and_velocity():
    p = make_pattern()
    tr = FakeTransport(p, t0=1.0)
    cfg = NoteOutConfig(notes=(36, 38, 42), channels=(9, 9, 9), length=0.03, spin=0.0)
    sched = MidiScheduler(tr.view, lambda m: None, cfg)
    sent = simulate(sched, tr, 1.0 + 4 * 2.0 + 0.5, start=0.9)
    ons = [(t, m) for t, m in sent if m[0] == 0x99]
    exp = [(s, i, v) for s, i, v in expected_hits(p, 4, 120.0) if 0 <= s < (4 * 2.0 + 0.5 - 0.05) * SR]
    assert len(ons) >= len(exp) > 12
    for (t, m), (s, i, v) in zip(ons, exp):
        assert m[1] == (36, 38, 42)[i]
        assert m[2] == velocity_byte(v)
        assert t == pytest.approx(1.0 + s / SR, abs=1e-6)
    # the early kick of bar 2 (tick 0, offset -0.3) went out before the bar line
    bar2 = 1.0 + 2.0
    assert any(bar2 - 0.02 < t < bar2 and m[1] == 36 for t, m in ons)
    # every note-on has its note-off 30 ms later
    offs = [(t, m) for t, m in sent if m[0] == 0x89]
    for t, m in ons[:-2]:
        assert any(abs(t2 - (t + 0.03)) < 1e-6 and m2[1] == m[1] for t2, m2 in offs)


def test_latency_threshold_mutes_and_channels():
    p = make_pattern()
    tr = FakeTransport(p)
    tr.mutes = (False, True, False)
    tr.threshold = 0.35  # lets the 0.4 snare in, but the snare is muted
    cfg = NoteOutConfig(notes=(35, 40, 44), channels=(0, 1, 2), latency=-0.015, length=0.01, spin=0.0)
    sched = MidiScheduler(tr.view, lambda m: None, cfg)
    sent = simulate(sched, tr, 5.0, start=0.9)
    ons = [(t, m) for t, m in sent if m[0] & 0xF0 == 0x90]
    exp = [(s, i, v) for s, i, v in expected_hits(p, 2, 120.0, 0.35, (False, True, False)) if 0 <= s < 3.9 * SR]
    assert [m[1] for _, m in ons[:len(exp)]] == [(35, 40, 44)[i] for _, i, _ in exp]
    assert all(m[0] & 0x0F == (0, 1, 2)[i] for (_, m), (_, i, _) in zip(ons, exp))
    for (t, _), (s, _, _) in zip(ons, exp):
        assert t == pytest.approx(1.0 + s / SR - 0.015, abs=1e-6)


def test_threshold_change_takes_effect_and_stop_sends_note_offs_and_all_notes_off():
    p = make_pattern()
    tr = FakeTransport(p)
    cfg = NoteOutConfig(length=0.5, clock_out=True, spin=0.0)
    sched = MidiScheduler(tr.view, lambda m: None, cfg)

    def stop(t):
        t.playing = False

    sent = simulate(sched, tr, 3.0, start=0.9, events={2.26: stop})
    after = [(t, m) for t, m in sent if t >= 2.26]
    # a note was sounding (0.5 s notes): its note-off, then Stop and All Notes Off, nothing after
    kinds = [m for _, m in after]
    assert [0xFC] in kinds and [0xB9, 123, 0] in kinds
    assert any(m[0] == 0x89 for m in kinds)
    assert not any(m[0] == 0x99 or m == [0xF8] for m in kinds)
    assert all(t < 2.27 for t, _ in after)


def test_retriggered_note_ends_before_the_next_note_on():
    on = np.zeros((3, 96), np.float32)
    on[0, 0] = on[0, 1] = 1.0
    p = Pattern(on, np.full((3, 96), 0.5, np.float32), np.zeros((3, 96), np.float32))
    tr = FakeTransport(p)
    sched = MidiScheduler(tr.view, lambda m: None, NoteOutConfig(length=0.2, spin=0.0))
    sent = simulate(sched, tr, 1.3, start=0.9)
    kick = [(t, m[0]) for t, m in sent if m[1] == 36 and m[0] in (0x89, 0x99)]
    assert [k for _, k in kick[:4]] == [0x99, 0x89, 0x99, 0x89]
    assert kick[1][0] == kick[2][0]  # the first note ends exactly when the second starts


def test_clock_out_24_pulses_per_quarter_with_start_first():
    p = Pattern.empty()
    tr = FakeTransport(p, bpm=100.0)
    sched = MidiScheduler(tr.view, lambda m: None, NoteOutConfig(clock_out=True, spin=0.0))
    sent = simulate(sched, tr, 1.0 + 3 * 0.6 + 0.01, start=0.9)
    assert sent[0][1] == [clock_out.START]
    pulses = [t for t, m in sent if m == [clock_out.CLOCK]]
    spt = samples_per_tick(100.0, SR)
    for k, t in enumerate(pulses):
        assert t == pytest.approx(1.0 + math.floor(k * spt + 0.5) / SR, abs=1e-6)
    assert len(pulses) == 3 * 24 + 1  # three quarters of 0.6 s, both ends
    assert sched.stats.pulses == len(pulses)


def test_restart_from_the_top_sends_start_again():
    tr = FakeTransport(Pattern.empty())
    sched = MidiScheduler(tr.view, lambda m: None, NoteOutConfig(clock_out=True, spin=0.0))

    def restart(t):
        t.run += 1
        t.t0 = 2.0

    sent = simulate(sched, tr, 2.2, start=0.9, events={1.5: restart})
    msgs = [m for _, m in sent]
    assert msgs.count([clock_out.START]) == 2
    i = msgs.index([clock_out.START], 1)
    assert [clock_out.STOP] in msgs[:i]


def test_late_note_ons_are_dropped_not_sent_late():
    p = make_pattern()
    tr = FakeTransport(p)
    sched = MidiScheduler(tr.view, lambda m: None, NoteOutConfig(spin=0.0))
    sent = []
    sched.send = lambda m: sent.append(list(m))
    tr.now = 1.49
    sched.step(1.49)  # commits the look-ahead window: the snare due at 1.504 s
    tr.now = 1.6
    sched.step(1.6)  # ~0.1 s late: dropped
    assert sched.stats.dropped_late >= 1
    assert not any(m[0] == 0x99 for m in sent)


def test_clock_fit_follows_drift_ignores_a_stray_reading_and_takes_a_real_jump():
    from rvae_visual.midi.notes_out import ClockFit

    rate = SR * 1.002  # the audio clock runs 0.2 % fast against the system clock
    fit = ClockFit(SR)
    rng = np.random.default_rng(0)
    t = 100.0
    for k in range(400):  # a reading per 2.67 ms block, with 0.3 ms of jitter
        t = 100.0 + k * 128 / rate
        fit.add(t + rng.normal(0, 0.0003), k * 128.0)
    s_next = 401 * 128.0
    assert fit.time_of(s_next) == pytest.approx(100.0 + s_next / rate, abs=0.0002)
    fit.add(t + 0.005, 400 * 128.0)  # one stray late reading: ignored
    assert fit.time_of(s_next) == pytest.approx(100.0 + s_next / rate, abs=0.0002)
    for k in range(402, 405):  # an xrun: from here on every sample is heard 2.67 ms later
        fit.add(100.0 + k * 128 / rate + 0.00267, k * 128.0)
    assert fit.jumps == 1
    assert fit.time_of(410 * 128.0) == pytest.approx(100.0 + 410 * 128 / rate + 0.00267, abs=0.0004)


def test_clock_fit_keeps_up_with_a_clock_that_keeps_jumping():
    """A loaded host's JACK dummy driver skips a period every few cycles: the readings never agree
    three in a row, yet the fit must follow them, not freeze on the old line and drift away."""
    from rvae_visual.midi.notes_out import ClockFit

    fit = ClockFit(SR)
    rng = np.random.default_rng(1)
    lost = 0  # periods JACK skipped so far: each makes every later sample heard one period later
    for k in range(2000):
        if k > 100 and rng.random() < 0.2:
            lost += 1
        t = 100.0 + (k + lost) * 128 / SR
        fit.add(t, k * 128.0)
        if k > 200:
            assert abs(fit.time_of(k * 128.0) - t) < 0.010, k
    assert fit.jumps > 10
