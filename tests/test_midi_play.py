"""End to end: `rvae-visual play` as a subprocess on Xvfb and the JACK dummy server, with a
virtual MIDI input and output. CC messages into its input move the head and the notes it sends
change to the rhythm decoded there; MIDI learn (Tab, a key, then a pad) binds a pad that works
at once and is saved; notes carry the decoded velocities."""

from __future__ import annotations

import pytest
import subprocess
import sys
import time
from collections import Counter

import numpy as np

from midijack import MidiRecorder, note_phase_errors, wait_for
from render_support import kill_and_report, wait_for_window, x_env, xdotool
from rvae_visual.midi.mapping import load_mapping
from rvae_visual.midi.notes_out import velocity_byte
from rvae_visual.midi.ports import open_output
from rvae_visual.model.store import load_model

# Real-time timing on a VM that loses CPU to its host now and then (docs/architecture.md): a failed
# timing assertion is retried after 20 s (CPU steal comes in stretches), at most 3 times.
pytestmark = pytest.mark.flaky(reruns=3, reruns_delay=20, only_rerun=["AssertionError"])

BPM = 120.0  # one bar = 2 s
NOTES = (36, 38, 42)


def unit_to_latent(u: float, extent: float = 3.0) -> float:
    return -extent + 2.0 * extent * u


def pick_xy(model) -> tuple[int, int, np.ndarray, np.ndarray]:
    """Knob steps (0-127) for head X and Y whose rhythm differs most from the centre's by hit
    counts per instrument: (x step, y step, centre counts, counts there)."""
    centre = model.decode_pattern(0.0, 0.0)
    counts_a = centre.hit_mask(0.5).sum(axis=1)
    best = None
    for x in range(7, 128, 12):
        for y in range(7, 128, 12):
            p = model.decode_pattern(unit_to_latent(x / 127.0, model.extent), unit_to_latent(y / 127.0, model.extent))
            counts = p.hit_mask(0.5).sum(axis=1)
            d = int(np.abs(counts - counts_a).sum())
            if best is None or d > best[0]:
                best = (d, x, y, counts)
    assert best is not None and best[0] >= 3, "the default model's map should hold different rhythms"
    return best[1], best[2], counts_a, best[3]


def note_counts(events, start: int, stop: int) -> np.ndarray:
    c = Counter(d[1] for f, d in events if start <= f < stop and d[0] & 0xF0 == 0x90 and d[2] > 0)
    return np.array([c.get(n, 0) for n in NOTES])


def test_controller_moves_the_head_and_a_learned_pad_mutes(jack_server, xvfb_display, tmp_path):
    model = load_model()
    xb, yb, counts_a, counts_b = pick_xy(model)
    env = x_env(xvfb_display, **jack_server)
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    rec = MidiRecorder("rvae-e2e-midi")
    sr = rec.sample_rate
    proc = subprocess.Popen(
        [sys.executable, "-m", "rvae_visual", "play", "--audio-device", "system", "--bpm", str(BPM),
         "--windowed", "--size", "960x540", "--no-landmarks", "--duration", "90",
         "--midi-in", "virtual", "--midi-out", "virtual"],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    sender = None
    try:
        wid = wait_for_window(xvfb_display, "rvae-visual", proc)
        names = lambda: [p.name for p in rec.client.get_ports(is_midi=True)]  # noqa: E731
        assert wait_for(lambda: "rvae-visual-out:rvae-visual" in names() and "rvae-visual-in:rvae-visual" in names(), 20)
        rec.connect_from("rvae-visual-out:rvae-visual")
        sender = open_output("rvae-visual-in:rvae-visual", client_name="rvae-e2e-ctl")

        def window(seconds: float) -> tuple[int, int]:
            t0 = rec.cycle[0]
            time.sleep(seconds)
            return t0, rec.cycle[0]

        # the centre's rhythm, two bars of it
        time.sleep(0.5)
        a0, a1 = window(4.0)
        # turn the head knobs (generic preset: CC 70 = X, CC 71 = Y) from the head's place to
        # (xb, yb): soft takeover picks each up at the centre (64), then the head follows
        for cc, target in ((70, xb), (71, yb)):
            step = 1 if target >= 64 else -1
            for v in range(64 - 4 * step, target + step, step):
                sender.send([0xB0, cc, v])
                time.sleep(0.01)
        time.sleep(0.5)
        b0, b1 = window(4.0)
        # MIDI learn: Tab, Q (the kick's mute), then a pad (note 60, channel 2)
        xdotool(xvfb_display, "windowfocus", "--sync", wid)
        xdotool(xvfb_display, "key", "Tab")
        time.sleep(0.3)
        xdotool(xvfb_display, "key", "q")
        time.sleep(0.3)
        sender.send([0x91, 60, 100])
        sender.send([0x81, 60, 0])
        saved = tmp_path / "config" / "rvae-visual" / "controller.toml"
        assert wait_for(lambda: saved.exists(), 3.0)
        # hold the pad: the kick is muted while it is held (momentary), on MIDI out too
        sender.send([0x91, 60, 100])
        time.sleep(0.5)
        m0, m1 = window(3.0)
        sender.send([0x81, 60, 0])
        xdotool(xvfb_display, "key", "Tab")  # leave learn mode
        time.sleep(0.2)
        xdotool(xvfb_display, "key", "Escape")
        out, err = proc.communicate(timeout=30)
        events = rec.take()
    except BaseException:
        kill_and_report(proc)
        raise
    finally:
        if sender is not None:
            sender.close()
        rec.close()
    assert proc.returncode == 0, err
    bars = lambda a, b: (b - a) / (2.0 * sr)  # noqa: E731
    got_a = note_counts(events, a0, a1) / bars(a0, a1)
    got_b = note_counts(events, b0, b1) / bars(b0, b1)
    # per bar, each instrument's notes are the decoded pattern's hits (a bar edge may cut one)
    assert np.all(np.abs(got_a - counts_a) <= 1.0), (got_a, counts_a)
    assert np.all(np.abs(got_b - counts_b) <= 1.0), (got_b, counts_b)
    muted = note_counts(events, m0, m1)
    assert muted[0] == 0 and muted[1:].sum() > 0, muted
    learned = load_mapping(saved).for_action("mute_kick")
    assert [(b.kind, b.number, b.channel) for b in learned] == [("note", 60, 2)]
    # velocities are the decoded ones
    pat_b = model.decode_pattern(unit_to_latent(xb / 127.0, model.extent), unit_to_latent(yb / 127.0, model.extent))
    want = {velocity_byte(h.velocity) for h in pat_b.hits(0.5)}
    vel_b = {d[2] for f, d in events if b0 <= f < b1 and d[0] & 0xF0 == 0x90}
    assert vel_b <= want, (vel_b, want)


MASTER_BPM = 100.0  # the master's tempo; the player is started at BPM (120) and must follow
SPP_TICK = 96 * 2 + 30  # bar 3, beat 2, second 16th: not on a beat, so a wrong phase shows


def summary(errs: list[float]) -> str:
    if not errs:
        return "no notes"
    return f"median {np.median(errs):+.3f} max {np.max(np.abs(errs)):.3f} ({len(errs)} notes)"


def test_following_a_midi_clock_start_stop_song_position_and_continue(jack_server, xvfb_display, tmp_path):
    """A master at 100 BPM (the player starts at 120): Start, two bars, Stop, then Song
    Position to bar 3 beat 2.2 and Continue. The player's notes sit in the master's bar."""
    from midijack import JackClockTransport
    from rvae_visual.midi import clock_out
    from rvae_visual.midi.notes_out import MidiScheduler, NoteOutConfig

    pattern = load_model().decode_pattern(0.0, 0.0)
    env = x_env(xvfb_display, **jack_server)
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    rec = MidiRecorder("rvae-e2e-follow")
    sr = rec.sample_rate
    master = open_output("virtual", client_name="rvae-test-spp-master", port_name="clock")
    rec.connect_from("rvae-test-spp-master:clock")
    proc = subprocess.Popen(
        [sys.executable, "-m", "rvae_visual", "play", "--audio-device", "system", "--bpm", str(BPM),
         "--windowed", "--size", "960x540", "--no-landmarks", "--duration", "60", "--head", "0,0",
         "--clock", "midi", "--clock-in", "rvae-test-spp-master:clock", "--midi-out", "virtual"],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    bar = 4 * 60.0 / MASTER_BPM
    scheds = []
    try:
        wid = wait_for_window(xvfb_display, "rvae-visual", proc)
        names = lambda: [p.name for p in rec.client.get_ports(is_midi=True)]  # noqa: E731
        assert wait_for(lambda: "rvae-visual-out:rvae-visual" in names(), 20)
        rec.connect_from("rvae-visual-out:rvae-visual")
        time.sleep(1.0)
        idle = rec.take()  # waiting for the master: no notes
        segments = []
        for start_tick in (0, SPP_TICK):
            tr = JackClockTransport(rec, None, MASTER_BPM, lead=0.2, start_tick=start_tick)
            sched = MidiScheduler(tr.view, master.send, NoteOutConfig(clock_out=True))
            scheds.append(sched)
            sched.start()
            time.sleep(0.2 + 2 * bar + 0.1)
            tr.playing = False  # Stop
            stop_frame = rec.cycle[0]
            time.sleep(1.5)
            sched.close()
            segments.append((start_tick, tr.f0, stop_frame))
        xdotool(xvfb_display, "key", "--window", str(wid), "Escape")
        out, err = proc.communicate(timeout=30)
        events = rec.take()
    except BaseException:
        kill_and_report(proc)
        raise
    finally:
        for s in scheds:
            s.close()
        master.close()
        rec.close()
    assert proc.returncode == 0, err
    assert "waiting for Start or Continue" in err
    assert not [d for _, d in idle if d[0] & 0xF0 == 0x90]
    results = []
    for start_tick, f0, stop_frame in segments:
        clock = [(f, d) for f, d in events if f0 - sr <= f < stop_frame + sr and d[0] >= 0xF0]
        kinds = [d[0] for _, d in clock if d[0] != clock_out.CLOCK]
        assert kinds == ([clock_out.START] if start_tick == 0 else [clock_out.SONG_POSITION, clock_out.CONTINUE]) \
            + [clock_out.STOP], kinds
        pulses = [f for f, d in clock if d[0] == clock_out.CLOCK]
        first_bar = note_phase_errors(events, pulses, start_tick, pattern, NOTES, start_tick - 3, start_tick + 93)
        second_bar = note_phase_errors(events, pulses, start_tick, pattern, NOTES, start_tick + 93, start_tick + 189)
        print(f"start tick {start_tick}: phase error, ticks: first bar {summary(first_bar)}; "
              f"second bar {summary(second_bar)}")
        results.append((start_tick, f0, stop_frame, first_bar, second_bar))
        # stopped with the master
        late = [f for f, d in events if stop_frame + int(0.1 * sr) <= f < stop_frame + sr and d[0] & 0xF0 == 0x90]
        assert not late
    hits = pattern.hits(0.5)
    for start_tick, f0, stop_frame, first_bar, second_bar in results:
        # the notes sit in the master's bar: at the wrong place in it (the top of our own bar
        # after Song Position, as before this was built, 30 ticks off) each would be about 5 ticks or
        # more from the nearest hit of its instrument. How closely they sit is for
        # bench/midi.py (here, on a quiet host: within 0.45 tick, about 0.2 early - we line up
        # what is heard with the pulses, and JACK MIDI leaves with the audio block, 2 periods
        # before it is heard); a host taking CPU away shifts them by a tick or two for a
        # while, or drops a note too late to send.
        both = np.array(first_bar + second_bar)
        assert len(both) >= len(hits), len(both)
        assert abs(np.median(both)) < 2.0 and np.mean(np.abs(both) < 3.0) >= 0.7, both
    # the downbeat after Start is played (a little late), not skipped: the three hits on tick 0
    pulses0 = [f for f, d in events if segments[0][1] - sr <= f < segments[0][2] + sr and d[0] == clock_out.CLOCK]
    downbeat = note_phase_errors(events, pulses0, 0, pattern, NOTES, -3.0, 3.0)
    assert len(downbeat) >= sum(1 for h in hits if h.tick == 0) - 1, downbeat
