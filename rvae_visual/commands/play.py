"""`rvae-visual play` (also plain `rvae-visual`): the fullscreen map, the playback head, the sound."""

from __future__ import annotations

import argparse
import functools
import json
import math
import statistics
import sys
import time

from ..errors import InputError
from .common import bpm_value, number_in, positive_int, swing_percent, unit_value

DESCRIPTION = (
    "Open the latent map of a model fullscreen and play the rhythm under the playback head "
    "through the built-in drum samples. Click or drag to move the head, click the head to "
    "silence it; press ? in the window for all keys. Drop a model file on the window to load "
    "it, or a folder of MIDI clips to train a new map without stopping the music."
)


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 1280x720, got {text!r}") from None
    if w < 64 or h < 64:
        raise argparse.ArgumentTypeError(f"window {w}x{h} is too small (64x64 at least)")
    return (w, h)


_latency_s = number_in(0.0, 1.0, "latency", " s", above=True)


def _latency(text: str) -> float | str:
    return text if text in ("low", "high") else _latency_s(text)


_display = number_in(0, None, "display number", kind=int)
_duration = number_in(0.0, None, "duration", " s", above=True)
_blocksize = number_in(0, 16384, "block size", " frames", kind=int)


def _noise(text: str) -> float:
    from ..performance import NOISE_MAX

    return number_in(0.0, NOISE_MAX, "noise", " latent units")(text)


def _head(text: str) -> tuple[float, float]:
    try:
        z1, z2 = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected Z1,Z2 such as 0.5,-1.2, got {text!r}") from None
    if not all(math.isfinite(v) for v in (z1, z2)):
        raise argparse.ArgumentTypeError(f"head {text} is outside the map (not finite)")
    return (z1, z2)


def _control(text: str) -> tuple[float, str, float]:
    from ..controls import vocabulary

    names = vocabulary().names

    try:
        when, rest = text.split(":", 1)
        name, value = rest.split("=", 1)
        parsed = (float(when), name.strip(), float(value))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected SECONDS:NAME=VALUE such as 2.5:head_x=0.25, got {text!r}") from None
    if parsed[1] not in names and not parsed[1].startswith("mute_"):
        raise argparse.ArgumentTypeError(f"unknown control {parsed[1]!r} (one of {', '.join(names)})")
    return parsed


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of `play`."""
    p.add_argument("--config", metavar="FILE.toml",
                   help="take options from a settings file (see `rvae-visual config --write FILE`); "
                        "options given here override it")
    g = p.add_argument_group("what to play")
    g.add_argument("--model", metavar="M", help="bundled model name or model file (default: the default bundled model)")
    g.add_argument("--kit", metavar="K", help="bundled kit name or a folder of samples (default: the default kit)")
    g.add_argument("--bpm", type=bpm_value, default=120.0, help="tempo, 40-300 (default 120)")
    g.add_argument("--threshold", type=unit_value, default=0.5, metavar="T",
                   help="onsets with probability above T are heard and shown (default 0.5)")
    g.add_argument("--noise", type=_noise, default=0.0, metavar="N",
                   help="jitter the head by Gaussian noise of N latent units once per bar (default 0)")
    g.add_argument("--seed", type=int, default=0, help="noise seed: the same seed repeats the jitter (default 0)")
    g.add_argument("--head", type=_head, default=(0.0, 0.0), metavar="Z1,Z2",
                   help="where the head starts, latent units (default 0,0 = the map's centre; "
                        "write --head=-1.2,0.5 when Z1 is negative)")
    g.add_argument("--playlist", type=_model_list, default=(), metavar="M[,M..]",
                   help="models (bundled names or files) an installation steps through, one every "
                        "--playlist-minutes, on a bar line, while nobody plays (the first is played first "
                        "unless --model says otherwise)")
    g.add_argument("--playlist-minutes", type=_playlist_minutes, default=10.0, metavar="MIN",
                   help="minutes each model of --playlist plays (default 10)")
    g.add_argument("--silent", action="store_true", help="start with the head silent (click it to hear it)")
    g.add_argument("--remember", action="store_true",
                   help="remember the model, kit, head, knobs and scenes at quit (and every 30 s) and start "
                        "from them next time (on in installation mode)")
    g.add_argument("--no-remember", action="store_true", help="do not remember, even in installation mode")
    g.add_argument("--state-file", metavar="FILE",
                   help="where --remember keeps its settings (default ~/.local/state/rvae-visual/remembered.toml)")
    g.add_argument("--set", metavar="FILE",
                   help="set file (TOML) of scenes 1-8: read at start, written back after every store "
                        "(keys 1-8 recall, Shift+1-8 store); created when missing")
    g = p.add_argument_group("screen")
    g.add_argument("--display", type=_display, default=0, metavar="N", help="display number (default 0)")
    g.add_argument("--windowed", action="store_true", help="a window instead of fullscreen (F toggles)")
    g.add_argument("--size", type=_size, metavar="WxH", help="window size with --windowed (default 1280x720)")
    g.add_argument("--no-hud", action="store_true", help="start with the HUD hidden (H shows it)")
    g.add_argument("--no-landmarks", action="store_true", help="start with the clip landmarks hidden (L shows them)")
    g.add_argument("--audience", type=_display, metavar="N",
                   help="also show the clean map (no HUD) fullscreen on display N, for the audience")
    g.add_argument("--audience-landmarks", action="store_true", help="show the clip landmarks on the audience display")
    g.add_argument("--style", choices=("stripes", "rows"), default="stripes",
                   help="each map point as instrument columns (stripes: kick | snare | hi-hat) or "
                        "rows (hi-hat on top, kick at the bottom); default stripes")
    g.add_argument("--glow", type=_glow, default=6, metavar="TICKS",
                   help="a hit stays lit this many ticks, fading (default 6, a 16th note; 0 = only on "
                        "its tick; G / Shift+G change it)")
    g.add_argument("--no-ghost", action="store_true",
                   help="black between hits (by default every point stays faintly visible)")
    g.add_argument("--topology", action="store_true",
                   help="start with the rhythm-region boundaries shown (T toggles)")
    g.add_argument("--installation", action="store_true",
                   help="for an unattended installation: keys do nothing (quit: hold Ctrl+Shift+Q for 3 s, or "
                        "SIGTERM), closing the window is ignored, the cursor is hidden, the HUD starts hidden")
    g.add_argument("--installation-keys", type=_control_names, default=(), metavar="CONTROL[,CONTROL..]",
                   help="in installation mode, these controls' keys still work, e.g. next_model,next_kit "
                        "(names as in `rvae-visual osc-schema`; default none)")
    g.add_argument("--quit-hold", type=_quit_hold, default=3.0, metavar="SECONDS",
                   help="in installation mode, how long Ctrl+Shift+Q must be held to quit (default 3)")
    g.add_argument("--attract", type=_attract, default=None, metavar="SECONDS",
                   help="after this many seconds without input the head wanders by itself between the "
                        "training bars until someone plays (default: 60 with --installation, else off; 0 = off)")
    g.add_argument("--invite", metavar="TEXT", default="",
                   help="a line shown on the map while the head wanders, e.g. 'turn the knobs'")
    g.add_argument("--fps", type=positive_int, default=60, help="frame rate cap (default 60)")
    g.add_argument("--vsync", choices=("auto", "on", "off"), default="auto",
                   help="sync frames to the display; auto = on unless SDL_FRAMEBUFFER_ACCELERATION=0")
    g = p.add_argument_group("audio")
    g.add_argument("--audio-device", metavar="D", help="output device index or name (see `rvae-visual devices`)")
    g.add_argument("--blocksize", type=_blocksize, default=0, metavar="FRAMES",
                   help="audio block size in frames, e.g. 64, 128, 256 (default 0: the host's choice; "
                        "on JACK its period)")
    g.add_argument("--latency", type=_latency, default=None, metavar="S",
                   help="output latency: seconds, 'low' or 'high' (default: PortAudio's 'high', the "
                        "device's safe latency, which does not click on ordinary hardware; "
                        "`devices` lists both)")
    g.add_argument("--audio-engine", choices=("process", "thread"), default=None,
                   help="where the audio callback runs: its own process (default; the frame loop "
                        "cannot delay it) or a thread of the player (the earlier form)")
    g.add_argument("--quantize", choices=("tick", "beat", "bar"), default="tick",
                   help="where a new rhythm takes over when the head moves (default tick; X steps it)")
    g.add_argument("--swing", type=swing_percent, default=50.0, metavar="PERCENT",
                   help="where the off-beat 16ths sound, 50 (straight) to 75 (default 50; S / Shift+S)")
    g = p.add_argument_group("running unattended, tests and benchmarks")
    g.add_argument("--duration", type=_duration, metavar="SECONDS", help="quit after this many seconds")
    g.add_argument("--screenshot", metavar="FILE", help="save the last frame as an image (PNG) when quitting")
    g.add_argument("--control", type=_control, action="append", default=[], metavar="SECONDS:NAME=VALUE",
                   help="apply a controller action at a time after start, e.g. 2:head_x=0.25 (repeatable)")
    g.add_argument("--log", metavar="FILE",
                   help="events and errors, one time-stamped line each, to FILE (rotated: FILE.1 .. FILE.4)")
    g.add_argument("--log-size", type=_log_size, default=1.0, metavar="MB",
                   help="rotate the log at this size (default 1 MB: at most 5 MB in all)")
    g.add_argument("--stats", metavar="FILE", help="write frame timings and startup times as JSON when quitting")
    g = p.add_argument_group("recording")
    g.add_argument("--record", metavar="DIR",
                   help="record what is played, from the start, to a MIDI file in DIR named by the time "
                        "(rvae-YYYYMMDD-HHMMSS.mid); O stops it at the end of the bar and starts a new file")
    g.add_argument("--record-audio", action="store_true", help="with --record: also the audio, to a WAV beside it")
    from ..midi.options import add_midi_arguments

    add_midi_arguments(p)
    from ..osc.options import add_osc_arguments

    add_osc_arguments(p)
    p.add_argument("--train-arg", action="append", default=[], help=argparse.SUPPRESS)
    p.add_argument("--screenshot-tick", type=int, choices=range(96), help=argparse.SUPPRESS)


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = min(len(s) - 1, max(0, math.ceil(q / 100.0 * len(s)) - 1))
    return s[k]


def stats_json(app, startup: dict, engine, driver: str) -> dict:
    """Frame-time and startup figures of a finished run (ms unless named _s)."""
    st = app.stats
    work = st.frame_work[1:]  # the first frame includes building surfaces
    starts = st.frame_starts
    span = starts[-1] - starts[0] if len(starts) > 1 else 0.0
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    return {
        "driver": driver,
        "size": list(app.window.size),
        "frames": len(st.frame_work),
        "seconds": round(span, 3),
        "fps": round((len(starts) - 1) / span, 2) if span > 0 else 0.0,
        "frame_ms_p50": round(statistics.median(work) * 1e3, 3) if work else None,
        "frame_ms_p99": round(_percentile(work, 99) * 1e3, 3) if work else None,
        "frame_ms_max": round(max(work) * 1e3, 3) if work else None,
        "frame_cpu_ms_p50": round(statistics.median(st.frame_cpu[1:]) * 1e3, 3) if work else None,
        "frame_cpu_ms_p99": round(_percentile(st.frame_cpu[1:], 99) * 1e3, 3) if work else None,
        "frame_gap_ms_p99": round(_percentile(gaps, 99) * 1e3, 3) if gaps else None,
        "frames_over_20ms_gap": sum(1 for g in gaps if g > 0.020),
        "loads": [{"name": x["name"],
                   "load_to_first_frame_ms": round((x["first_frame"] - x["requested"]) * 1e3, 1)
                   if x["first_frame"] else None} for x in st.loads],
        "publishes": app.conductor.publishes,
        "underflows": int(getattr(engine, "underflows", 0)),
        "callback_load": _callback_load(engine),
        "audio_silent": bool(getattr(engine, "silent", False)),
        "startup": {k: round(v, 4) for k, v in startup.items()},
    }


_glow = number_in(0, 24, "afterglow", " ticks", kind=int)
_quit_hold = number_in(0.5, 60.0, "quit hold", " s")
_log_size = number_in(0.01, 1000.0, "log size", " MB")
_playlist_minutes = number_in(0.05, 10080.0, "playlist minutes", " min")


def _model_list(text: str) -> tuple[str, ...]:
    import os
    from pathlib import Path

    from ..model.store import find_bundled

    refs = tuple(r.strip() for r in text.split(",") if r.strip())
    for r in refs:
        if not Path(r).exists() and (os.sep in r or find_bundled(r) is None):
            raise argparse.ArgumentTypeError(f"playlist model {r!r} is neither a file nor a bundled model "
                                             "(see `rvae-visual models`)")
    return refs
_attract = number_in(0.0, 86400.0, "attract idle time", " s")
ATTRACT_INSTALLATION_S = 60.0


def _control_names(text: str) -> tuple[str, ...]:
    from ..controls import vocabulary

    names = tuple(n.strip() for n in text.split(",") if n.strip())
    known = vocabulary().names
    bad = [n for n in names if n not in known and not n.startswith(("mute_", "threshold_"))]
    if bad:
        raise argparse.ArgumentTypeError(f"unknown control {bad[0]!r} (one of {', '.join(known)})")
    return names


def _callback_load(engine) -> dict | None:
    """The audio callback's run time as a fraction of its block, over the recent blocks."""
    rings = getattr(engine, "_rings", None)
    load = rings.recent_load() if rings is not None else None
    if load is None or len(load) == 0:
        return None
    import numpy as np

    return {"blocks": int(len(load)), "p50": round(float(np.median(load)), 4),
            "p99": round(float(np.percentile(load, 99)), 4), "max": round(float(load.max()), 4),
            "over_half": int((load > 0.5).sum())}


def run(args: argparse.Namespace) -> int:
    """Open the window and play until Esc / --duration; 1 when there is no display."""
    from ..outfiles import check_output_file

    if args.screenshot:
        check_output_file(args.screenshot, "screenshot")
    if args.stats:
        check_output_file(args.stats, "stats file")
    t0 = time.perf_counter()
    if args.installation:
        from ..render.lock import QuitSignal

        QuitSignal.install()  # before SDL's own handlers (see QuitSignal)
    from ..render.window import NoDisplayError, check_display_index, init_display

    try:
        init_display()
    except NoDisplayError as e:
        print(f"rvae-visual: error: {e}", file=sys.stderr)
        return 1
    import pygame

    startup = {"display_init_s": time.perf_counter() - t0}
    try:
        check_display_index(args.display)
        return _play(args, t0, startup)
    finally:
        pygame.quit()


def _play(args: argparse.Namespace, t0: float, startup: dict) -> int:
    from ..audio.engine import AudioEngine
    from ..audio.kit import bundled_kits
    from ..model.store import bundled_models, load_model
    from ..performance import Performance
    from ..render.app import App, AppOptions, prepare_frames
    from ..render.mapview import MapLook
    from ..render.window import Window
    from ..session.start import start_session

    from . import remembered

    rem = remembered.load(args)
    t = time.perf_counter()
    ref_wanted = remembered.model_ref(args, rem)
    if ref_wanted is None and args.playlist:
        ref_wanted = args.playlist[0]
    try:
        model = load_model(ref_wanted)
    except InputError as e:
        if ref_wanted == args.model:
            raise
        print(f"rvae-visual: warning: remembered model: {e}; playing {args.model or 'the default model'}",
              file=sys.stderr)
        model = load_model(args.model)
    model.check_point(args.head[0], args.head[1], "--head")
    from ..midi.player import check_midi_args

    unused = check_midi_args(args, model.drum_map)
    if unused:
        print(f"rvae-visual: warning: {unused}", file=sys.stderr)
    grid = model.grid()
    startup["model_load_s"] = time.perf_counter() - t
    perf = Performance(n_instruments=model.drum_map.n_instruments, extent=grid.extent,
                       threshold=args.threshold, noise=args.noise, seed=args.seed, bpm=args.bpm,
                       head=args.head, quantize=args.quantize, swing=args.swing)
    remembered.restore(args, rem, perf, tuple(model.drum_map.instruments))
    perf.listening = not args.silent
    pattern = model.decode_pattern(*perf.target(0))

    t = time.perf_counter()
    engine = AudioEngine(kit=remembered.kit_name(args, rem, bundled_kits()), bpm=perf.bpm, device=args.audio_device,
                         blocksize=args.blocksize, latency=args.latency, quantize=perf.quantize,
                         threshold=perf.threshold, instruments=model.drum_map.instruments,
                         mode=getattr(args, "audio_engine", None))
    if getattr(args, "clock", "internal") == "midi":  # a follower waits for its master
        perf.playing = False
        engine.set_playing(False)
        print("rvae-visual: following MIDI clock: waiting for Start or Continue (Space plays on its own)",
              file=sys.stderr)
    recorder = None
    try:
        engine.publish(pattern if perf.listening else type(pattern).empty(pattern.n_instruments))
        engine.start()
        startup["audio_start_s"] = time.perf_counter() - t
        startup["sound_from_start_s"] = time.perf_counter() - t0
        # one line either way: where the sound goes, or why there is none (the music goes on)
        kind = "warning: " if engine.silent else ""
        print(f"rvae-visual: {kind}{engine.status}", file=sys.stderr)
        from ..session.recorder import attach as attach_recorder, start_recorder

        recorder = start_recorder(engine, args.record, args.record_audio, model)  # at once: the ring is short

        t = time.perf_counter()
        window = Window(display=args.display, fullscreen=not args.windowed, size=args.size, vsync=args.vsync)
        startup["window_s"] = time.perf_counter() - t
        models = [(name, path) for name, path in bundled_models()]
        ref = model.path or (args.model or "")
        t = time.perf_counter()
        look = MapLook(glow_ticks=args.glow, ghost=not args.no_ghost, style=args.style)
        from ..session.scenes import SceneBank

        bank = SceneBank(args.set)
        set_note = bank.load()
        conductor = start_session(engine, perf, model, grid, ref, models=models, kits=bundled_kits(),
                                  fps=args.fps, script=args.control, train_args=args.train_arg,
                                  prepare=functools.partial(prepare_frames, look=look), scenes=bank)
        attach_recorder(conductor, recorder)
        attract = args.attract if args.attract is not None else (ATTRACT_INSTALLATION_S if args.installation else 0.0)
        conductor.wander.configure(attract, args.seed)
        if args.playlist:
            conductor.playlist.refs = list(args.playlist)
            conductor.playlist.every_s = args.playlist_minutes * 60.0
            here = [i for i, r in enumerate(args.playlist) if r in (ref, conductor.library.current.name)]
            conductor.playlist.index = here[0] if here else 0
        if set_note:
            if bank.broken:
                conductor.messages.error(set_note)
            else:
                print(f"rvae-visual: {set_note}", file=sys.stderr)
                conductor.messages.say(set_note)
        app = App(window, conductor, AppOptions(
            show_hud=not (args.no_hud or args.installation), installation=args.installation,
            installation_keys=args.installation_keys, quit_hold=args.quit_hold, invite=args.invite,
            show_landmarks=not args.no_landmarks, fps=args.fps,
            duration=args.duration, screenshot=args.screenshot, screenshot_tick=args.screenshot_tick,
            record_stats=bool(args.stats), look=look, topology=args.topology))
        if args.audience is not None:
            from ..render.audience import open_audience

            audience, why = open_audience(args.audience, args.audience_landmarks)
            if why:
                print(f"rvae-visual: warning: {why}", file=sys.stderr)
            app.set_audience(audience)
        remembered.attach(args, app, rem)
        from ..logfile import active_log

        log = active_log()
        if log is not None:
            conductor.messages.log = log.line
            app.shutdown_hooks.append(lambda: log.line("play stopped"))
        # load -> first frame of the first model, not counting the audio and window set-up between
        app.stats.loads.append({"name": app.library.current.name, "requested": t - startup["model_load_s"],
                                "first_frame": None})
        startup["app_ready_s"] = time.perf_counter() - t0
        from ..midi.audio_clock import engine_view
        from ..midi.player import start_midi
        from ..render.midi_ui import attach_midi

        midi = start_midi(args, conductor.controls, conductor.value_of, conductor,
                          lambda through: engine_view(engine, through), model.drum_map)
        if midi is not None:
            attach_midi(app, midi)  # closed on quit
            backs = [getattr(engine, "back_count", 0)]

            def audio_back(a: App) -> None:  # the audio server restarted: JACK MIDI went with it
                n = getattr(engine, "back_count", 0)
                if n != backs[0]:
                    backs[0] = n
                    midi.hotplug.server_restarted()

            app.frame_hooks.append(audio_back)
        from ..osc.system import start_osc

        osc = start_osc(args, conductor, lambda through: engine_view(engine, through))
        if osc is not None:
            osc.attach(app)  # closed on quit
        code = app.run()
        if app.stats.first_frame_at is not None:
            startup["first_frame_s"] = app.stats.first_frame_at - t0
        if args.stats:
            import pygame

            from ..outfiles import write_bytes_or_fallback

            data = stats_json(app, startup, engine, pygame.display.get_driver())
            try:
                write_bytes_or_fallback(args.stats, (json.dumps(data, indent=1) + "\n").encode(), "stats file")
            except OSError as e:
                print(f"rvae-visual: error: {args.stats}: the stats file could not be saved anywhere ({e})",
                      file=sys.stderr)
        return code
    finally:
        engine.close()
        if recorder is not None:
            recorder.close()  # after the engine: every hit it played is in the file
