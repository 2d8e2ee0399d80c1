"""MIDI through real JACK MIDI ports on the JACK dummy server (rtmidi's UNIX_JACK API):
controller input and learn, a CC flood, notes out timing, clock out, following a clock, hot-plug."""

from __future__ import annotations

import queue
import re
import threading
import time

import numpy as np
import pytest

from rvae_visual.audio.sequencer import hits_in_window
from rvae_visual.midi import clock_out
from rvae_visual.midi.mapping import load_mapping
from rvae_visual.midi.notes_out import MidiScheduler, NoteOutConfig, velocity_byte
from rvae_visual.midi.ports import open_output
from rvae_visual.midi.system import MidiConfig, MidiSystem
from rvae_visual.pattern import Pattern, samples_per_tick

from transport_support import CLOCK_START, CLOCK_STOP, RecordingTransport
from midijack import JackClockTransport, MidiRecorder, MonotonicTransport, assert_on_time, wait_for

# Real-time timing on a VM that loses CPU to its host now and then (docs/architecture.md): a failed
# timing assertion is retried after 20 s (CPU steal comes in stretches), at most 3 times.
pytestmark = pytest.mark.flaky(reruns=3, reruns_delay=20, only_rerun=["AssertionError"])

IN_PORT = "rvae-visual-in:rvae-visual"


def drain(q: queue.SimpleQueue) -> list:
    out = []
    while not q.empty():
        out.append(q.get_nowait())
    return out


def collect(q: queue.SimpleQueue, into: list, want, timeout: float = 3.0):
    """Drain `q` into `into` until want(into) holds."""
    def check():
        into.extend(drain(q))
        return want(into)
    return wait_for(check, timeout)


@pytest.fixture
def midi_env(jack_server, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return jack_server


def test_cc_into_the_input_moves_the_head_and_a_learned_binding_works(midi_env, tmp_path):
    q: queue.SimpleQueue = queue.SimpleQueue()
    system = MidiSystem(MidiConfig(midi_in="virtual", controller="generic"), q, err=None)
    system.start()
    sender = open_output(IN_PORT, client_name="rvae-test-ctl")
    try:
        got: list = []
        sender.send([0xB0, 70, 64])
        sender.send([0xB0, 71, 100])
        assert collect(q, got, lambda g: {"head_x", "head_y"} <= {a for a, _ in g})
        assert dict(got)["head_x"] == pytest.approx(64 / 127)
        assert dict(got)["head_y"] == pytest.approx(100 / 127)
        assert any("MIDI in" in line and "virtual" in line for line in system.status_lines())

        system.learn("threshold")
        sender.send([0xB4, 30, 12])  # CC 30 on channel 5 becomes the threshold knob
        assert wait_for(lambda: system.learning is None)
        saved = tmp_path / "config" / "rvae-visual" / "controller.toml"
        assert [b.number for b in load_mapping(saved).for_action("threshold")] == [30]
        got = []
        sender.send([0xB4, 30, 100])
        assert collect(q, got, lambda g: any(a == "threshold" for a, _ in g))
        assert dict(got)["threshold"] == pytest.approx(100 / 127)
    finally:
        sender.close()
        system.close()


def test_a_flood_of_cc_is_all_read_and_stalls_nothing(midi_env):
    q: queue.SimpleQueue = queue.SimpleQueue()
    system = MidiSystem(MidiConfig(midi_in="virtual", controller="generic"), q, err=None)
    system.start()
    sender = open_output(IN_PORT, client_name="rvae-test-flood")
    n = 10000

    def flood() -> None:  # 10,000 CC in one second, 100 every 10 ms
        t0 = time.monotonic()
        for k in range(n):
            sender.send([0xB0, 70 + k % 3, k % 128])
            if k % 100 == 99:
                time.sleep(max(0.0, t0 + (k + 1) / n - time.monotonic()))

    th = threading.Thread(target=flood)
    try:
        frames, gaps, batch_max = 0, [], 0
        th.start()
        last = time.monotonic()
        end = last + 1.6
        while time.monotonic() < end:  # a 60 fps player loop draining its queue
            batch = drain(q)
            batch_max = max(batch_max, len(batch))
            time.sleep(1 / 60)
            now = time.monotonic()
            gaps.append(now - last)
            last = now
            frames += 1
        th.join()
        assert wait_for(lambda: system.poller.received >= n, 2.0), system.poller.received
        assert system.poller.received == n  # none lost
        assert batch_max <= 3  # one action per knob per frame
        assert max(gaps) < 0.1, f"the frame loop stalled {max(gaps) * 1000:.0f} ms"
    finally:
        sender.close()
        system.close()


def test_notes_out_arrive_at_the_hits_sample_positions_within_one_period(midi_env):
    rng = np.random.default_rng(3)
    on = (rng.random((3, 96)) > 0.85).astype(np.float32)
    vel = rng.random((3, 96)).astype(np.float32)
    off = ((rng.random((3, 96)) - 0.5) * 0.9).astype(np.float32)
    p = Pattern(on, vel, off)
    rec = MidiRecorder("rvae-test-notes")
    period, sr = rec.period, rec.sample_rate
    out = open_output("virtual", client_name="rvae-test-notes-out")
    try:
        rec.connect_from("rvae-test-notes-out:")
        tr = JackClockTransport(rec, p, 132.0, lead=0.15)
        cfg = NoteOutConfig(notes=(36, 38, 42), channels=(9, 9, 3))
        sched = MidiScheduler(tr.view, out.send, cfg)
        sched.start()
        time.sleep(2.5)
        tr.playing = False
        time.sleep(0.1)
        sched.close()
        ev = rec.take()
    finally:
        out.close()
        rec.close()
    ons = [(f, d) for f, d in ev if d[0] & 0xF0 == 0x90]
    hits = hits_in_window(p, 0.5, (False,) * 3, 132.0, sr, 0, int(2.6 * sr), 0)
    assert len(ons) > 40
    by_key = {}
    for s, i, v in hits:
        by_key.setdefault((cfg.channels[i], cfg.notes[i]), []).append((tr.f0 + s, velocity_byte(v)))
    errs = []
    for f, d in ons:
        cands = by_key[(d[0] & 0x0F, d[1])]  # right note on the right channel
        frame, vbyte = min(cands, key=lambda c: abs(c[0] - f))
        assert d[2] == vbyte  # decoded velocity
        errs.append(f - frame)
    # JACK delivers rtmidi's events at the start of the next period: 0..1 period late, plus
    # our wake-up jitter (target: p99 within 1 ms beyond the period)
    assert_on_time(errs, period, sr)
    # the first hits went out, including early ones: nothing missing before the stop
    expected = [h for h in hits if h[0] < (2.5 - 0.15 - 0.3) * sr]  # margin: this VM stalls
    assert len(ons) >= len(expected)
    # stop: All Notes Off on both channels
    cc = [d for _, d in ev if d[0] & 0xF0 == 0xB0]
    assert bytes([0xB9, 123, 0]) in cc and bytes([0xB3, 123, 0]) in cc


def test_clock_out_sends_24_pulses_per_quarter_at_the_tempo(midi_env):
    rec = MidiRecorder("rvae-test-clk")
    period, sr = rec.period, rec.sample_rate
    out = open_output("virtual", client_name="rvae-test-clk-out")
    try:
        rec.connect_from("rvae-test-clk-out:")
        tr = JackClockTransport(rec, None, 125.0, lead=0.1)
        sched = MidiScheduler(tr.view, out.send, NoteOutConfig(clock_out=True))
        sched.start()
        time.sleep(2.2)
        sched.close()
        time.sleep(0.05)
        ev = rec.take()
    finally:
        out.close()
        rec.close()
    assert ev[0][1] == bytes([clock_out.START])
    pulses = np.array([f for f, d in ev if d == bytes([clock_out.CLOCK])])
    spt = samples_per_tick(125.0, sr)  # 960 frames
    k = np.arange(len(pulses))  # one pulse per tick from tick 0, none missing
    want = tr.f0 + np.floor(k * spt + 0.5)
    # a period the loaded VM's JACK skipped moves its frames on; the scheduler knows only at the next
    # cycles (docs/architecture.md), so the pulses due up to 20 periods after a skip are not judged
    gaps = rec.gaps()
    near_gap = np.array([any(a <= w <= b + 20 * period for a, b in gaps) for w in want])
    assert np.count_nonzero(~near_gap) >= 20, gaps
    assert_on_time((pulses - want)[~near_gap], period, sr)
    per_quarter = pulses[24::24] - pulses[:-24:24]
    assert len(per_quarter) >= 3 and np.median(per_quarter) == pytest.approx(24 * spt, abs=period)
    assert bytes([clock_out.STOP]) in [d for _, d in ev]


@pytest.mark.parametrize("bpm", [100.0, 140.0])
def test_following_a_midi_clock_settles_within_half_a_bpm_after_one_bar(midi_env, bpm):
    clock_src = open_output("virtual", client_name="rvae-test-master", port_name="clock")
    q: queue.SimpleQueue = queue.SimpleQueue()
    rec = RecordingTransport()
    system = MidiSystem(MidiConfig(clock="midi", clock_in="rvae-test-master:clock"), q, err=None, transport=rec)
    system.start()
    tr = MonotonicTransport(None, bpm, lead=0.05)
    sched = MidiScheduler(tr.view, clock_src.send, NoteOutConfig(clock_out=True))
    try:
        sched.start()
        got: list = []
        end = time.monotonic() + 0.05 + 4 * 60.0 / bpm + 0.02  # one bar of pulses
        while time.monotonic() < end:  # the player drains its queue every frame
            got.extend(drain(q))
            time.sleep(1 / 60)
        got.extend(drain(q))
        assert got == []  # the clock drives the transport, not the control queue
        assert [c.kind for c in drain(rec.cmds)][:1] == [CLOCK_START]
        tempos = rec.tempos
        assert len(tempos) > 10 and tempos[-1] == pytest.approx(bpm, abs=0.5)
        assert system.follower.running
        shown = [line for line in system.status_lines() if line.startswith("clock: MIDI")]
        assert shown and float(re.search(r"([0-9.]+) BPM", shown[0]).group(1)) == pytest.approx(bpm, abs=0.5)
        tr.playing = False  # the master stops: Stop
        cmds: list = []
        assert collect(rec.cmds, cmds, lambda c: CLOCK_STOP in [x.kind for x in c])
    finally:
        sched.close()
        clock_src.close()
        system.close()


def test_a_vanished_clock_stops_or_holds_and_says_so(midi_env):
    for mode in ("stop", "hold"):
        clock_src = open_output("virtual", client_name="rvae-test-master2", port_name="clock")
        q: queue.SimpleQueue = queue.SimpleQueue()
        rec = RecordingTransport()
        system = MidiSystem(MidiConfig(clock="midi", clock_in="rvae-test-master2:clock", clock_stop=mode),
                            q, err=None, transport=rec)
        system.start()
        tr = MonotonicTransport(None, 120.0, lead=0.05)
        sched = MidiScheduler(tr.view, clock_src.send, NoteOutConfig(clock_out=True))
        try:
            sched.start()
            time.sleep(0.6)
            sched._stop.set()  # the master dies without a Stop message
            sched._thread.join()
            assert wait_for(lambda: any("stopped arriving" in n for _, n in system.notices), 3.0)  # noqa: B023
            cmds = [c.kind for c in drain(rec.cmds)]
            assert cmds[:1] == [CLOCK_START]
            if mode == "stop":
                assert CLOCK_STOP in cmds
            else:
                assert CLOCK_STOP not in cmds
                held = re.search(r"holding ([0-9.]+) BPM", system.notices[-1][1])
                assert held and float(held.group(1)) == pytest.approx(120.0, abs=0.5)
        finally:
            clock_src.close()
            system.close()


def test_a_controller_that_disappears_is_reported_and_reopened_when_it_returns(midi_env):
    fake = open_output("virtual", client_name="rvae-test-kaoss", port_name="pad")
    q: queue.SimpleQueue = queue.SimpleQueue()
    system = MidiSystem(MidiConfig(midi_in="rvae-test-kaoss", controller="kaoss"), q, err=None,
                        hotplug_interval=0.2)
    system.start()
    try:
        got: list = []
        fake.send([0xB0, 12, 127])
        assert collect(q, got, lambda g: ("head_x", 1.0) in g)
        fake.close()  # unplugged
        assert wait_for(lambda: any("LOST" in s for s in system.status_lines()), 3.0), system.status_lines()
        assert any("disappeared" in n for _, n in system.notices)
        fake = open_output("virtual", client_name="rvae-test-kaoss", port_name="pad")  # plugged back
        assert wait_for(lambda: any("is back" in n for _, n in system.notices), 3.0), system.notices
        got = []
        fake.send([0xB0, 13, 0])
        assert collect(q, got, lambda g: ("head_y", 0.0) in g)
    finally:
        fake.close()
        system.close()


def test_a_synth_that_disappears_gets_notes_again_when_it_returns(midi_env):
    on = np.zeros((3, 96), np.float32)
    on[:, ::12] = 1.0
    p = Pattern(on, np.full((3, 96), 0.7, np.float32), np.zeros((3, 96), np.float32))
    rec = MidiRecorder("rvae-test-synth")
    tr = MonotonicTransport(p, 120.0)
    system = MidiSystem(MidiConfig(midi_out="rvae-test-synth"), queue.SimpleQueue(), view=tr.view,
                        err=None, hotplug_interval=0.2)
    system.start()
    try:
        assert wait_for(lambda: any(d[0] == 0x99 for _, d in rec.events), 3.0)
        rec.close()
        assert wait_for(lambda: any("disappeared" in n for _, n in system.notices), 3.0)
        rec = MidiRecorder("rvae-test-synth")
        assert wait_for(lambda: any("is back" in n for _, n in system.notices), 3.0)
        assert wait_for(lambda: any(d[0] == 0x99 for _, d in rec.events), 3.0)
    finally:
        system.close()
        rec.close()


def test_a_missing_port_at_start_is_waited_for_and_a_wrong_name_is_an_error(midi_env):
    q: queue.SimpleQueue = queue.SimpleQueue()
    system = MidiSystem(MidiConfig(midi_in="rvae-test-later"), q, err=None, hotplug_interval=0.2)
    system.start()  # not there: reported, the instrument plays on
    fake = None
    try:
        assert any("waiting for 'rvae-test-later'" in s for s in system.status_lines())
        fake = open_output("virtual", client_name="rvae-test-later", port_name="x")
        assert wait_for(lambda: any("connected" in n for _, n in system.notices), 3.0)
        got: list = []
        fake.send([0xB0, 72, 0])
        assert collect(q, got, lambda g: any(a == "threshold" for a, _ in g))
    finally:
        system.close()
    a = open_output("virtual", client_name="rvae-test-dup-a", port_name="x")
    b = open_output("virtual", client_name="rvae-test-dup-b", port_name="x")
    try:
        from rvae_visual.errors import InputError
        with pytest.raises(InputError) as ei:
            MidiSystem(MidiConfig(midi_in="rvae-test-dup"), queue.SimpleQueue(), err=None).start()
        assert "ambiguous" in str(ei.value) and "rvae-test-dup-a:x" in str(ei.value)
    finally:
        a.close()
        b.close()
        if fake is not None:
            fake.close()


def test_devices_lists_midi_ports_with_indices(midi_env):
    import os
    import subprocess
    import sys

    ext = open_output("virtual", client_name="rvae-test-devices", port_name="keys")
    try:
        env = {**os.environ, **midi_env}
        r = subprocess.run([sys.executable, "-m", "rvae_visual", "devices"], capture_output=True,
                           text=True, env=env, timeout=60)
    finally:
        ext.close()
    assert r.returncode == 0, r.stderr
    text = r.stdout
    assert "API: rtmidi/UNIX_JACK" in text
    start = text.index("inputs (")
    inputs = text[start:text.index("outputs (", start)]
    assert re.search(r"\[\d+\] rvae-test-devices:keys", inputs), text
