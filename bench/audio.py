"""Audio engine benchmark. Last stdout line: one JSON object.

1. callback: time of the real callback code (Callback -> Mixer.process) per block at 64, 128
   and 256 frames, median and p99 as a fraction of the block period (target: p99 <= 0.10 at
   128), for a busy real clip and for the worst case (every cell of every instrument playing);
   wall time as the live stream measures it, and thread CPU time (without preemption).
2. live: on the JACK dummy server at 128 frames, our engine while a render-like load runs in
   this process (pygame drawing a full-screen 30x30 grid at 60 fps and publishing a new Pattern
   every frame), and an empty callback under the same load, taking turns every 5 s so both
   meet the same background load, --seconds each in all. Reports the underflows of each
   (target: ours <= the empty callback's), JACK's xruns meanwhile, and our live callback load.
3. onsets: placement error in samples of hits in the offline render (random tempi, ticks and
   offsets) and in a JACK capture of the live stream (target: 0 and 0).

    python bench/audio.py                 # the issue's figures (about 2.5 minutes)
    python bench/audio.py --seconds 10    # shorter live runs
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))  # servers.py (JACK) and jackcapture.py (recorder)

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import numpy as np  # noqa: E402

from rvae_visual.audio.engine import GIL_SWITCH_INTERVAL  # noqa: E402
from rvae_visual.audio.kit import load_kit  # noqa: E402
from rvae_visual.audio.mixer import Mixer  # noqa: E402
from rvae_visual.audio.offline import render_bars  # noqa: E402
from rvae_visual.audio.sequencer import hits_in_window  # noqa: E402
from rvae_visual.audio.stream import Callback  # noqa: E402
from rvae_visual.audio.transport import Transport  # noqa: E402
from rvae_visual.model.clips import read_clip  # noqa: E402
from rvae_visual.pattern import Pattern  # noqa: E402

from clipdata import data_dir  # noqa: E402  (bench/, the script's own folder)

SR = 48000
INSTS = ("kick", "snare", "hihat")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def busy_clip_patterns() -> tuple[list[Pattern], float]:
    """The clip with the most hits per bar among the gmd clips."""
    best = None
    for f in sorted((data_dir("bench/audio.py") / "gmd").rglob("*.mid")):
        c = read_clip(f)
        density = sum(c.hits.values()) / c.n_bars
        if best is None or density > best[0]:
            best = (density, c)
    return best[1].patterns, best[1].bpm


def all_cells() -> Pattern:
    rng = np.random.default_rng(0)
    return Pattern(np.ones((3, 96), np.float32), rng.uniform(0.3, 1, (3, 96)).astype(np.float32),
                   rng.uniform(-0.5, 0.5, (3, 96)).astype(np.float32))


def callback_times(pattern: Pattern, bpm: float, frames: int, seconds: float, kit) -> tuple[np.ndarray, np.ndarray]:
    """Per block over `seconds` of audio, in a tight loop: the callback's own wall-time load
    (as the live stream measures it) and its thread CPU time as a fraction of the block period
    (CPU time leaves out the moments another process had the core)."""
    t = Transport(SR, bpm)
    t.request_pattern(pattern)
    t.request_playing(True)
    m = Mixer(kit, t)
    cb = Callback(m)
    out = np.zeros((frames, 2), np.float32)
    info = SimpleNamespace(outputBufferDacTime=0.01, currentTime=0.005)
    status = SimpleNamespace(output_underflow=False)
    n = int(seconds * SR / frames)
    loads = np.zeros(n)
    cpu = np.zeros(n)
    period = frames / SR
    for i in range(n):
        c0 = time.thread_time()
        cb(out, frames, info, status)
        cpu[i] = (time.thread_time() - c0) / period
        loads[i] = cb.load[(cb.load_count - 1) % len(cb.load)]
    return loads[n // 10:], cpu[n // 10:]  # skip warm-up


def bench_callback(runs: int) -> dict:
    kit = load_kit("acoustic", INSTS, SR)
    pats, bpm = busy_clip_patterns()
    out: dict = {}
    for name, pat, tempo in (("busy_clip", pats[0], max(bpm, 160.0)), ("every_cell", all_cells(), 300.0)):
        out[name] = {"bpm": round(tempo, 1)}
        for frames in (64, 128, 256):
            med, p99, cpu_med, cpu_p99 = [], [], [], []
            for _ in range(runs):
                loads, cpu = callback_times(pat, tempo, frames, 20.0, kit)
                med.append(float(np.median(loads)))
                p99.append(float(np.percentile(loads, 99)))
                cpu_med.append(float(np.median(cpu)))
                cpu_p99.append(float(np.percentile(cpu, 99)))
            row = {"median": round(statistics.median(med), 4), "p99": round(statistics.median(p99), 4),
                   "cpu_median": round(statistics.median(cpu_med), 4),
                   "cpu_p99": round(statistics.median(cpu_p99), 4)}
            out[name][str(frames)] = row
            log(f"callback {name} {frames}: wall median {row['median']:.4f} p99 {row['p99']:.4f}, "
                f"cpu median {row['cpu_median']:.4f} p99 {row['cpu_p99']:.4f} of the block period")
    return out


class RenderLoad:
    """What the player's main thread does: draw a full-screen 30x30 grid at 60 fps, publish."""

    def __init__(self) -> None:
        import pygame

        pygame.init()
        self.pg = pygame
        self.screen = pygame.display.set_mode((1920, 1080))
        self.clock = pygame.time.Clock()
        self.frames = 0
        self.late = 0

    def run(self, seconds: float, publish=None, patterns=()) -> None:
        pg = self.pg
        end = time.monotonic() + seconds
        cw, ch = 1920 // 30, 1080 // 30
        k = 0
        while time.monotonic() < end:
            t = time.perf_counter()
            pg.event.pump()
            self.screen.fill((0, 0, 0))
            phase = self.frames % 96
            for i in range(30):
                for j in range(30):
                    c = (i * 8 + phase) % 256
                    pg.draw.rect(self.screen, (c, (j * 8) % 256, 255 - c), (i * cw, j * ch, cw - 1, ch - 1))
            if publish is not None and patterns:
                publish(patterns[k % len(patterns)])
                k += 1
            pg.display.flip()
            if time.perf_counter() - t > 1 / 60:
                self.late += 1
            self.clock.tick(60)
            self.frames += 1

    def close(self) -> None:
        self.pg.quit()


def bench_live(seconds: float, round_seconds: float = 5.0) -> dict:
    """Ours and an empty callback taking turns every `round_seconds`, so both meet the same
    background load (JACK's own xruns are counted for each); each runs `seconds` in all."""
    import servers

    os.environ.update(servers.ensure_jack())
    import jack

    from rvae_visual.audio.engine import AudioEngine
    from rvae_visual.audio.stream import import_sounddevice

    xruns = [0]
    watcher = jack.Client("rvae-bench-xruns", no_start_server=True)
    watcher.set_xrun_callback(lambda delay: xruns.__setitem__(0, xruns[0] + 1))
    watcher.activate()
    pats, bpm = busy_clip_patterns()
    clip_pats = [Pattern(p.onsets, p.velocities, p.offsets) for p in pats] * 4
    load = RenderLoad()
    tot = {k: {"underflows": 0, "jack_xruns": 0, "callbacks": 0, "frames_drawn": 0, "late_frames": 0}
           for k in ("ours", "empty")}
    loads: list[np.ndarray] = []
    errors = hits = 0

    def run_ours(sec: float) -> None:
        nonlocal errors, hits
        engine = AudioEngine(kit="acoustic", bpm=max(bpm, 160.0), device="system", blocksize=0,
                             jack_client_name="rvae-bench", mode="thread")  # in this process, as before
        engine.publish(clip_pats[0])
        engine.start()
        try:
            if engine.silent:
                raise SystemExit(f"no JACK audio: {engine.status}")
            x0, f0, l0 = xruns[0], load.frames, load.late
            load.run(sec, engine.publish, clip_pats)
            cb = engine._out.callback
            t = tot["ours"]
            t["underflows"] += engine.underflows
            t["jack_xruns"] += xruns[0] - x0
            t["callbacks"] += cb.load_count
            t["frames_drawn"] += load.frames - f0
            t["late_frames"] += load.late - l0
            loads.append(cb.recent_load())
            errors += engine.callback_errors
            hits += engine.mixer.hit_count
        finally:
            engine.close()

    def run_empty(sec: float) -> None:
        sd = import_sounddevice()
        if sd._initialized == 0:
            sd._initialize()
        c = {"underflows": 0, "callbacks": 0}

        def empty_cb(outdata, frames, time_info, status):
            if status.output_underflow:
                c["underflows"] += 1
            c["callbacks"] += 1
            outdata.fill(0.0)

        old = sys.getswitchinterval()
        sys.setswitchinterval(GIL_SWITCH_INTERVAL)  # as the engine sets it: compare like with like
        stream = sd.OutputStream(samplerate=SR, blocksize=0, device="system", channels=2, dtype="float32",
                                 callback=empty_cb)
        x0, f0, l0 = xruns[0], load.frames, load.late
        stream.start()
        try:
            load.run(sec)
        finally:
            stream.stop()
            stream.close()
            sys.setswitchinterval(old)
            sd._terminate()
        t = tot["empty"]
        t["underflows"] += c["underflows"]
        t["callbacks"] += c["callbacks"]
        t["jack_xruns"] += xruns[0] - x0
        t["frames_drawn"] += load.frames - f0
        t["late_frames"] += load.late - l0

    rounds = max(1, int(round(seconds / round_seconds)))
    sec = seconds / rounds
    try:
        for r in range(rounds):
            for fn in (run_ours, run_empty):
                fn(sec)
            log(f"live round {r + 1}/{rounds}: ours {tot['ours']['underflows']} underflows, "
                f"empty {tot['empty']['underflows']}")
    finally:
        load.close()
        watcher.deactivate()
        watcher.close()
    all_loads = np.concatenate(loads) if loads else np.zeros(1)
    tot["ours"].update({"errors": errors, "hits_played": hits,
                        "load_median": round(float(np.median(all_loads)), 4),
                        "load_p99": round(float(np.percentile(all_loads, 99)), 4)})
    return {"seconds_each": seconds, "rounds": rounds, "blocksize": 128, **tot}


def host_steal_s() -> float:
    """CPU time the VM's host has taken so far (8th field of /proc/stat's cpu line), seconds."""
    with open("/proc/stat") as f:
        fields = f.readline().split()
    return int(fields[8]) / os.sysconf("SC_CLK_TCK")


def _frame_controls(seconds: float, fps: float = 60.0) -> list[str]:
    """The head moves every frame (so a new Pattern is published every frame)."""
    out: list[str] = []
    n = int(seconds * fps)
    for k in range(n):
        t = 0.4 + k / fps
        if t > seconds - 0.3:
            break
        u = 0.5 + 0.45 * np.sin(k * 0.21)
        v = 0.5 + 0.45 * np.cos(k * 0.13)
        out += ["--control", f"{t:.3f}:head_x={u:.4f}", "--control", f"{t:.3f}:head_y={v:.4f}"]
    return out


class Jack64:
    """A JACK dummy server of our own at 64 frames (the shared one runs at 128), stopped by PID."""

    NAME = "rvae-bench64"

    def __init__(self) -> None:
        import subprocess

        self.env = {"JACK_DEFAULT_SERVER": self.NAME, "JACK_NO_START_SERVER": "1"}
        env = {**os.environ, **self.env}
        self.proc = subprocess.Popen(
            ["jackd", "-n", self.NAME, "-R" if os.geteuid() == 0 else "--no-realtime", "-d", "dummy",
             "-r", str(SR), "-p", "64"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, env=env, start_new_session=True)
        r = subprocess.run(["jack_wait", "-w", "-t", "10"], env=env, capture_output=True, text=True)
        if r.returncode != 0:
            self.close()
            raise SystemExit("jackd at 64 frames did not start")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except Exception:
                self.proc.kill()


def bench_live_player(seconds: float, sizes: tuple[int, ...] = (64, 128), round_seconds: float = 10.0,
                      mode: str | None = None) -> dict:
    """The real player (`rvae-visual play` fullscreen 1920x1080 at 60 fps under Xvfb, MIDI notes
    and clock out on a JACK port, the head moved every frame so a Pattern is published every
    frame) with our callback, and the same player with an empty callback
    (RVAE_BENCH_EMPTY_CALLBACK=1), taking turns every `round_seconds`; `seconds` each in all,
    per block size. Underflows from the player's --stats, JACK xruns from a watcher client,
    host steal from /proc/stat."""
    import subprocess
    import tempfile

    import servers

    jack128 = servers.ensure_jack()
    display = servers.ensure_xvfb()
    out: dict = {}
    for size in sizes:
        own = Jack64() if size == 64 else None
        jenv = {**jack128, **(own.env if own else {})}
        os.environ.update(jenv)
        if own is None:
            os.environ.pop("JACK_DEFAULT_SERVER", None)
        import jack

        xruns = [0]
        watcher = jack.Client(f"rvae-bench-xruns-{size}", no_start_server=True)
        watcher.set_xrun_callback(lambda delay, x=xruns: x.__setitem__(0, x[0] + 1))
        watcher.activate()
        if watcher.blocksize != size:
            raise SystemExit(f"JACK runs at {watcher.blocksize} frames, not {size}")
        tot = {k: {"underflows": 0, "jack_xruns": 0, "host_steal_s": 0.0, "seconds": 0.0, "frames": 0,
                   "fps": [], "publishes": 0} for k in ("ours", "empty")}
        rounds = max(1, int(round(seconds / round_seconds)))
        sec = seconds / rounds
        try:
            for r in range(rounds):
                for kind in ("ours", "empty"):
                    env = {**os.environ, **jenv, "DISPLAY": display, "SDL_FRAMEBUFFER_ACCELERATION": "0",
                           "PYGAME_HIDE_SUPPORT_PROMPT": "1", "SDL_AUDIODRIVER": "dummy",
                           "MIDO_BACKEND": "mido.backends.rtmidi/UNIX_JACK"}
                    env.pop("SDL_VIDEODRIVER", None)
                    if kind == "empty":
                        env["RVAE_BENCH_EMPTY_CALLBACK"] = "1"
                    if mode:
                        env["RVAE_AUDIO_ENGINE"] = mode
                    with tempfile.TemporaryDirectory() as tmp:
                        stats = Path(tmp) / "stats.json"
                        cmd = [sys.executable, "-m", "rvae_visual", "play", "--audio-device", "system",
                               "--bpm", "160", "--noise", "0.2", "--midi-out", "virtual", "--clock-out",
                               "--duration", f"{sec:.2f}", "--stats", str(stats), *_frame_controls(sec)]
                        x0, s0 = xruns[0], host_steal_s()
                        p = subprocess.run(cmd, env=env, cwd=tmp, capture_output=True, text=True,
                                           timeout=sec + 60)
                        if p.returncode != 0:
                            raise SystemExit(f"rvae-visual play failed ({p.returncode}): {p.stderr.strip()[-800:]}")
                        d = json.loads(stats.read_text())
                    t = tot[kind]
                    t["underflows"] += int(d.get("underflows", 0))
                    t["jack_xruns"] += xruns[0] - x0
                    t["host_steal_s"] += host_steal_s() - s0
                    t["seconds"] += float(d.get("seconds", 0.0))
                    t["frames"] += int(d.get("frames", 0))
                    t["fps"].append(d.get("fps"))
                    t["publishes"] += int(d.get("publishes", 0) or 0)
                log(f"live {size} round {r + 1}/{rounds}: ours {tot['ours']['underflows']} underflows "
                    f"({tot['ours']['jack_xruns']} xruns), empty {tot['empty']['underflows']} "
                    f"({tot['empty']['jack_xruns']} xruns)")
        finally:
            watcher.deactivate()
            watcher.close()
            if own is not None:
                own.close()
                os.environ.pop("JACK_DEFAULT_SERVER", None)
        for t in tot.values():
            t["host_steal_s"] = round(t["host_steal_s"], 2)
        e = tot["empty"]["underflows"]
        tot["target_met"] = tot["ours"]["underflows"] <= e + max(3, 0.1 * e)
        out[str(size)] = tot
    return out


def onset_error_offline(n: int = 200) -> int:
    """Largest |detected - expected| onset position over random single hits, in samples."""
    kit = load_kit("acoustic", INSTS, SR)
    first_nz = [int(np.flatnonzero(s)[0]) for s in kit.samples]
    rng = np.random.default_rng(1)
    worst = 0
    for _ in range(n):
        inst = int(rng.integers(3))
        tick = int(rng.integers(96))
        off = float(np.float32(rng.uniform(-0.5, 0.5)))
        bpm = float(rng.uniform(40, 300))
        on = np.zeros((3, 96), np.float32)
        vel = np.zeros_like(on)
        offs = np.zeros_like(on)
        on[inst, tick], vel[inst, tick], offs[inst, tick] = 1.0, float(rng.uniform(0.2, 1)), off
        p = Pattern(on, vel, offs)
        audio = render_bars([p], 2, bpm, kit, loop=False)
        want = [s + first_nz[inst] for s, _, _ in hits_in_window(p, 0.5, (), bpm, SR, 0, len(audio))]
        # each hit: the first non-zero sample within 200 samples either side of where it belongs
        detected = []
        for w in want:
            nz = np.flatnonzero(audio[max(0, w - 200):w + 200]) + max(0, w - 200)
            detected.append(int(nz[0]) if len(nz) else -10**9)
        for w, d in zip(want, detected):
            worst = max(worst, abs(d - w))
        if len(want) < 1 or not np.any(audio):
            return 10**9  # a hit that never sounded
    return worst


def onset_error_jack(seconds: float = 4.5) -> dict:
    import servers

    os.environ.update(servers.ensure_jack())
    from jackcapture import (RecorderProcess, compare_with_reference, onsets_after_silence,
                             period_ok, skipped_before)

    from rvae_visual.audio.engine import AudioEngine

    on = np.zeros((3, 96), np.float32)
    vel = np.zeros_like(on)
    off = np.zeros_like(on)
    for inst, tick, v, o in [(0, 0, 1.0, -0.3), (1, 36, 0.8, 0.27), (2, 66, 0.5, -0.45), (2, 80, 0.9, 0.4)]:
        on[inst, tick], vel[inst, tick], off[inst, tick] = 1.0, v, o
    p = Pattern(on, vel, off)
    bpm = 137.0
    engine = AudioEngine(kit="acoustic", bpm=bpm, device="system", jack_client_name="rvae-bench-onsets")
    engine.set_playing(False)
    engine.publish(p)
    try:
        engine.start()
        rec = RecorderProcess(r"^rvae-bench-onsets:out_", seconds, name="rvae-bench-rec")
        time.sleep(0.1)
        engine.set_playing(True)
        take = rec.result()
        kit = engine.kit
        trouble = engine.underflow_positions()
    finally:
        engine.close()
    bs = take.blocksize
    good = period_ok(take)
    ref = render_bars([p], 8, bpm, kit, loop=False)
    first_nz = [int(np.flatnonzero(s)[0]) for s in kit.samples]
    want = sorted(s + first_nz[i] for s, i, _ in hits_in_window(p, 0.5, (), bpm, SR, 0, len(take.data)))
    onsets = onsets_after_silence(take.data, 1000)
    want_set = set(want)
    candidates = {o - w for o in onsets[:6] for w in want[:6]}
    i0 = max(candidates, key=lambda c: sum((o - c) in want_set for o in onsets))
    cmp = compare_with_reference(take, ref, i0, trouble_at=trouble)
    f0 = int(take.period_frames[i0 // bs])
    skipped = skipped_before(take)
    errors = []
    for o in onsets:
        j = o // bs
        if o < i0 or not good[j]:
            continue
        pos = int(take.period_frames[j]) + o % bs - f0 - int(skipped[j] - skipped[i0 // bs]) - int(cmp.drift[j])
        errors.append(min(abs(pos - w) for w in want))
    return {"hits": len(errors), "max_error_samples": max(errors) if errors else None,
            "periods_compared": cmp.compared, "periods_equal_to_offline": cmp.equal,
            "periods_mismatched": len(cmp.mismatched), "periods_dropped_in_xruns": len(cmp.dropped),
            "xrun_periods_skipped": int((~good).sum()), "underflows": len(trouble),
            "cycles_realigned_after_xruns": len(cmp.drops)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60.0, help="length of each live run (default 60)")
    ap.add_argument("--runs", type=int, default=3, help="runs of the callback timing (median taken)")
    ap.add_argument("--no-live", action="store_true", help="skip everything that needs JACK")
    ap.add_argument("--only-live", action="store_true", help="only the live runs under the player's load")
    ap.add_argument("--sizes", default="64,128", help="block sizes of the live runs (default 64,128)")
    ap.add_argument("--round-seconds", type=float, default=10.0, help="length of each alternating round")
    ap.add_argument("--engine", choices=("process", "thread"), help="the player's audio engine (default: its own)")
    ap.add_argument("--old-live", action="store_true", help="also the earlier in-process render-like load at 128")
    args = ap.parse_args()
    sizes = tuple(int(x) for x in args.sizes.split(","))
    if args.only_live:
        steal0 = host_steal_s()
        live = bench_live_player(args.seconds, sizes, args.round_seconds, args.engine)
        print(json.dumps({"live": live, "engine": args.engine or "default",
                          "host_steal_s": round(host_steal_s() - steal0, 2)}))
        return
    result: dict = {"callback": bench_callback(args.runs)}
    result["onsets_offline_max_error_samples"] = onset_error_offline()
    log(f"offline onset error: {result['onsets_offline_max_error_samples']}")
    if not args.no_live:
        result["onsets_jack"] = onset_error_jack()
        log(f"jack onsets: {result['onsets_jack']}")
        steal0 = host_steal_s()
        result["live"] = bench_live_player(args.seconds, sizes, args.round_seconds, args.engine)
        result["live_host_steal_s"] = round(host_steal_s() - steal0, 2)
        if args.old_live:
            result["live_inprocess_load_128"] = bench_live(args.seconds)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
