"""MIDI benchmarks on the JACK dummy server (started or reused, like the tests).

1. Note-out timing: MidiScheduler sends a dense random pattern (microtiming included) through a
   JACK MIDI loopback to a recorder; error = recorded JACK frame - ideal frame of each hit.
   rtmidi's JACK events start the period after they are sent, so the error lies in 0..1 period
   plus our wake-up jitter. Target: p99 <= 1 ms beyond the JACK period.
2. CC to sound: the real MidiSystem reads a CC on its input; a 60 fps loop (as the player's)
   drains the actions and publishes the pattern under the head to the real AudioEngine; the
   latency is the JACK frame of the first sound of the new pattern minus the frame the CC
   arrived at. Target: one tick plus one audio block. Measured twice: "frame" applies actions
   at the next frame only; "wake" also applies them as they arrive between frames
   (MidiSystem.wait_actions), as the player does with MIDI on.
3. Following a clock: `rvae-visual play --clock midi` (SDL dummy video, audio and MIDI on JACK)
   follows a master at --master-bpm (it starts at --bpm): Start, some bars, Stop, then Song
   Position to bar 3 beat 2.2 and Continue, some bars, Stop. For each of its notes: the
   master's tick when it arrived minus the hit's tick in the pattern, in ticks (and ms). "first
   bar" covers the bar after Start / Continue, "settled" the bars after it. Our notes should
   sit about one output latency early here: we line up what is heard with the pulses, and JACK
   MIDI leaves with the audio block.

Last stdout line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import statistics
import sys
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))


def host_steal_s() -> float:
    """CPU time the VM's host took from us so far, seconds (the 'steal' column of /proc/stat);
    on these machines it is what spoils a real-time run."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            fields = f.readline().split()
        return int(fields[8]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def ms(frames: float, sr: int) -> float:
    return round(1000.0 * frames / sr, 3)


def bench_timing(seconds: float, bpm: float) -> dict:
    from midijack import JackClockTransport, MidiRecorder
    from rvae_visual.audio.sequencer import hits_in_window
    from rvae_visual.midi.notes_out import MidiScheduler, NoteOutConfig
    from rvae_visual.midi.ports import open_output
    from rvae_visual.pattern import Pattern

    rng = np.random.default_rng(7)
    on = (rng.random((3, 96)) > 0.75).astype(np.float32)
    vel = rng.random((3, 96)).astype(np.float32)
    off = ((rng.random((3, 96)) - 0.5) * 0.9).astype(np.float32)
    p = Pattern(on, vel, off)
    rec = MidiRecorder("rvae-bench-midi-rec")
    period, sr = rec.period, rec.sample_rate
    out = open_output("virtual", client_name="rvae-bench-midi-out")
    try:
        rec.connect_from("rvae-bench-midi-out:")
        tr = JackClockTransport(rec, p, bpm, lead=0.2)
        cfg = NoteOutConfig(notes=(36, 38, 42), channels=(9, 9, 9), clock_out=True)
        sched = MidiScheduler(tr.view, out.send, cfg)
        sched.stats.keep = 1 << 20
        sched.start()
        clk = time.pthread_getcpuclockid(sched._thread.ident)
        cpu0, wall0 = time.clock_gettime(clk), time.monotonic()
        time.sleep(seconds)
        cpu = time.clock_gettime(clk) - cpu0
        wall = time.monotonic() - wall0
        tr.playing = False
        time.sleep(0.1)
        sched.close()
        time.sleep(0.05)
        ev = rec.take()
    finally:
        out.close()
        rec.close()
    hits = hits_in_window(p, 0.5, (False,) * 3, bpm, sr, 0, int((seconds + 1) * sr), 0)
    notes = (36, 38, 42)
    by_note: dict[int, list[int]] = {}
    for s, i, _ in hits:
        by_note.setdefault(notes[i], []).append(tr.f0 + s)
    errs = []
    for f, d in ev:
        if d[0] == 0x99:
            cands = by_note[d[1]]
            errs.append(f - min(cands, key=lambda c: abs(c - f)))
    pulses = np.array([f for f, d in ev if d == b"\xf8"])
    from rvae_visual.pattern import samples_per_tick

    spt = samples_per_tick(bpm, sr)
    k = np.round((pulses - tr.f0) / spt)  # the tick each pulse stands for
    perr = pulses - (tr.f0 + np.floor(k * spt + 0.5)) if len(pulses) else np.zeros(0)
    kk = k.astype(int)
    missing = int(kk.max() - kk.min() + 1 - len(set(kk.tolist()))) if len(kk) else 0
    e = np.abs(np.array(errs, float))
    lateness = np.array(sched.stats.lateness) * 1000.0
    return {
        "notes": len(errs),
        "jack_period_ms": ms(period, sr),
        "note_error_median_ms": ms(float(np.median(e)), sr),
        "note_error_p99_ms": ms(float(np.percentile(e, 99)), sr),
        "note_error_max_ms": ms(float(e.max()), sr),
        "note_p99_beyond_period_ms": ms(max(0.0, float(np.percentile(e, 99)) - period), sr),
        "clock_pulses": int(len(pulses)),
        "clock_error_p99_ms": ms(float(np.percentile(np.abs(perr), 99)), sr) if len(perr) else None,
        "clock_pulses_missing_or_doubled": missing + int(len(kk) - len(set(kk.tolist()))),
        "send_lateness_median_ms": round(float(np.median(lateness)), 3) if len(lateness) else None,
        "send_lateness_p99_ms": round(float(np.percentile(lateness, 99)), 3) if len(lateness) else None,
        "realtime_thread": bool(sched.realtime),
        "scheduler_thread_cpu_fraction": round(cpu / wall, 4),
    }


def bench_cc_to_sound(trials: int, bpm: float, jack_env: dict, wake: bool) -> dict:
    from jackcapture import RecorderProcess, onsets_after_silence
    from midijack import MidiRecorder
    from rvae_visual.audio.engine import AudioEngine
    from rvae_visual.midi.ports import open_output
    from rvae_visual.midi.system import MidiConfig, MidiSystem
    from rvae_visual.pattern import Pattern, samples_per_tick

    silent = Pattern.empty()
    on = np.zeros((3, 96), np.float32)
    on[2, :] = 1.0  # a hi-hat on every tick: the first tick after the change sounds
    busy = Pattern(on, np.full((3, 96), 0.8, np.float32), np.zeros((3, 96), np.float32))
    engine = AudioEngine(kit="acoustic", bpm=bpm, device="system", jack_client_name="rvae-bench-cc")
    engine.publish(silent)
    midi_rec = MidiRecorder("rvae-bench-cc-midi")
    sr = midi_rec.sample_rate
    q: queue.SimpleQueue = queue.SimpleQueue()
    system = MidiSystem(MidiConfig(midi_in="virtual", controller="generic",
                                   user_mapping=Path("/nonexistent/rvae-bench.toml")), q, err=None)
    sender = None
    stop = threading.Event()
    try:
        engine.start()
        if engine.silent:
            raise RuntimeError(engine.status)
        system.start()
        sender = open_output("rvae-visual-in:rvae-visual", client_name="rvae-bench-cc-ctl")
        # the recorder hears the same CC our input hears, stamped with its JACK frame
        midi_rec.client.connect("rvae-bench-cc-ctl:rvae-visual", midi_rec.port.name)
        seconds = trials * 1.0 + 1.5
        rec = RecorderProcess(r"^rvae-bench-cc:out_", seconds, channels=2, name="rvae-bench-cc-rec",
                              env=jack_env)

        def apply() -> None:
            while not q.empty():
                name, value = q.get_nowait()
                if name == "head_x":
                    engine.publish(busy if value > 0.5 else silent)

        def player_loop() -> None:  # what the player's main loop does with controller actions
            frame = 1 / 60
            nxt = time.monotonic()
            while not stop.is_set():
                apply()
                nxt += frame
                if not wake:  # actions wait for the next frame
                    time.sleep(max(0.0, nxt - time.monotonic()))
                    continue
                while (left := nxt - time.monotonic()) > 0:  # actions applied as they come
                    if system.wait_actions(left):
                        apply()

        th = threading.Thread(target=player_loop, daemon=True)
        th.start()
        rng = np.random.default_rng(1)
        time.sleep(0.5)
        for _ in range(trials):
            time.sleep(rng.uniform(0.0, 0.05))  # a random phase against ticks and frames
            sender.send([0xB0, 70, 127])
            time.sleep(0.3)
            sender.send([0xB0, 70, 0])
            time.sleep(0.65)
        take = rec.result()
        stop.set()
        th.join()
        events = midi_rec.take()
    finally:
        stop.set()
        if sender is not None:
            sender.close()
        system.close()
        engine.close()
        midi_rec.close()
    bs = take.blocksize
    onsets = [int(take.period_frames[i // bs]) + i % bs for i in onsets_after_silence(take.data, sr // 4)]
    ccs = [f for f, d in events if d[:2] == bytes([0xB0, 70]) and d[2] == 127]
    lat = []
    for c in ccs:
        after = [o for o in onsets if o >= c]
        if after and after[0] - c < sr // 2:
            lat.append(after[0] - c)
    block = engine.blocksize or bs
    target = samples_per_tick(bpm, sr) + block
    lat_ms = [ms(x, sr) for x in lat]
    pre = "cc_wake_" if wake else "cc_frame_"
    return {
        pre + "trials": len(ccs),
        pre + "measured": len(lat),
        pre + "to_sound_median_ms": round(statistics.median(lat_ms), 3) if lat_ms else None,
        pre + "to_sound_p99_ms": round(float(np.percentile(lat_ms, 99)), 3) if lat_ms else None,
        pre + "to_sound_max_ms": max(lat_ms) if lat_ms else None,
        "cc_target_ms": ms(target, sr),
        pre + "within_target": sum(1 for x in lat if x <= target),
    }


def bench_follow(bars: int, bpm: float, master_bpm: float, env: dict) -> dict:
    import subprocess

    from midijack import JackClockTransport, MidiRecorder, note_phase_errors, wait_for
    from rvae_visual.midi import clock_out
    from rvae_visual.midi.notes_out import MidiScheduler, NoteOutConfig
    from rvae_visual.midi.ports import open_output
    from rvae_visual.model.store import load_model

    notes = (36, 38, 42)
    pattern = load_model().decode_pattern(0.0, 0.0)
    rec = MidiRecorder("rvae-bench-follow")
    sr = rec.sample_rate
    master = open_output("virtual", client_name="rvae-bench-master", port_name="clock")
    rec.connect_from("rvae-bench-master:clock")
    penv = {**os.environ, **env, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy",
            "XDG_CONFIG_HOME": "/nonexistent/rvae-bench"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "rvae_visual", "play", "--audio-device", "system", "--bpm", str(bpm),
         "--windowed", "--size", "960x540", "--no-landmarks", "--duration", str(30 + 6 * bars * 240 / master_bpm),
         "--clock", "midi", "--clock-in", "rvae-bench-master:clock", "--midi-out", "virtual"],
        env=penv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    bar = 4 * 60.0 / master_bpm
    segments = []
    try:
        names = lambda: [p.name for p in rec.client.get_ports(is_midi=True)]  # noqa: E731
        if not wait_for(lambda: "rvae-visual-out:rvae-visual" in names() or proc.poll() is not None, 30) \
                or proc.poll() is not None:
            raise RuntimeError("play opened no MIDI output: " + (proc.stderr.read() if proc.poll() is not None else ""))
        rec.connect_from("rvae-visual-out:rvae-visual")
        time.sleep(1.0)
        for start_tick in (0, 96 * 2 + 30):
            tr = JackClockTransport(rec, None, master_bpm, lead=0.2, start_tick=start_tick)
            sched = MidiScheduler(tr.view, master.send, NoteOutConfig(clock_out=True))
            sched.start()
            time.sleep(0.2 + bars * bar + 0.1)
            tr.playing = False
            stop_frame = rec.cycle[0]
            time.sleep(1.5)
            sched.close()
            segments.append((start_tick, tr.f0, stop_frame))
        proc.terminate()
        proc.wait(10)
        events = rec.take()
    finally:
        if proc.poll() is None:
            proc.kill()
        master.close()
        rec.close()
    tick_ms = 60000.0 / (master_bpm * 24)
    out: dict = {"follow_master_bpm": master_bpm, "follow_own_bpm": bpm, "follow_bars": bars}
    for start_tick, f0, stop_frame in segments:
        pulses = [f for f, d in events if f0 - sr <= f < stop_frame + sr and d[0] == clock_out.CLOCK]
        first = note_phase_errors(events, pulses, start_tick, pattern, notes, start_tick - 3, start_tick + 93)
        rest = note_phase_errors(events, pulses, start_tick, pattern, notes, start_tick + 93, start_tick + 96 * bars - 3)
        pre = "follow_start_" if start_tick == 0 else "follow_spp_continue_"
        for name, errs in (("first_bar", first), ("settled", rest)):
            a = np.abs(errs) if errs else np.array([np.nan])
            out[pre + name + "_notes"] = len(errs)
            out[pre + name + "_median_ticks"] = round(float(np.median(errs)), 3) if errs else None
            out[pre + name + "_p99_abs_ticks"] = round(float(np.percentile(a, 99)), 3) if errs else None
            out[pre + name + "_p99_abs_ms"] = round(float(np.percentile(a, 99)) * tick_ms, 2) if errs else None
    out["follow_expected_notes_per_bar"] = len(pattern.hits(0.5))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=20.0, help="note-out timing run (default 20)")
    ap.add_argument("--bpm", type=float, default=120.0)
    ap.add_argument("--trials", type=int, default=20, help="CC-to-sound trials (default 20)")
    ap.add_argument("--follow-bars", type=int, default=8, help="bars per clock-follow segment (default 8)")
    ap.add_argument("--master-bpm", type=float, default=100.0, help="the followed clock's tempo (default 100)")
    ap.add_argument("--only", choices=("timing", "cc", "follow"), help="run one part only")
    args = ap.parse_args()
    import servers

    env = servers.ensure_jack()
    os.environ.update(env)
    out = {"bpm": args.bpm}
    parts = {
        "timing": lambda: bench_timing(args.seconds, args.bpm),
        "cc_frame": lambda: bench_cc_to_sound(args.trials, args.bpm, env, wake=False),
        "cc_wake": lambda: bench_cc_to_sound(args.trials, args.bpm, env, wake=True),
        "follow": lambda: bench_follow(args.follow_bars, args.bpm, args.master_bpm, env),
    }
    for name, part in parts.items():
        if args.only not in (None, name.split("_")[0]):
            continue
        steal = host_steal_s()
        out.update(part())
        out[f"{name}_host_steal_s"] = round(host_steal_s() - steal, 2)
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
