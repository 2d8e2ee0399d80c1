"""The instrument's main loop: input -> performance state -> decode and publish -> draw.

Everything here runs on the main thread. Slow things never run here: model files load on a
worker thread that hands back numpy objects, training runs in another process, and the audio
engine plays whatever Pattern was published last.
"""

from __future__ import annotations

import math
import os
from collections import OrderedDict
import queue
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence

from ..errors import InputError
from ..pattern import PPQN, TICKS_PER_BAR, Pattern
from ..performance import NOISE_MAX, Performance, map_unit
from .colors import BACKGROUND
from .head import draw_halo, draw_head, draw_trail
from .hud import Hud, HudState
from .keys import key_down, key_up
from .landmarks import Landmarks
from .mapview import MapGeometry, MapView, tick_frames
from .pointer import Pointer
from .training_job import TrainingJob

CONTROL_NAMES = ("head_x", "head_y", "threshold", "noise", "tempo", "mute_kick", "mute_snare",
                 "mute_hihat", "mute_all", "start_stop", "next_model", "prev_model", "next_kit",
                 "prev_kit", "listen")
MESSAGE_SECONDS = 10.0
MODEL_CACHE = 4  # models kept ready to swap back in (about 15 MB each)
MAX_FAILED_FRAMES = 300  # frames in a row that may fail before the app gives up
UNDERFLOW_WARN_S = 5.0  # the HUD shows underflows in warning colour this long after one
ERROR_SECONDS = 20.0
OVERHANG = 40  # pixels around the map square that the head, halo and labels may reach
LEAD_BLOCKS_S = 0.012  # two audio blocks of up to 256 frames at 44.1-48 kHz
MIDI_SUFFIXES = (".mid", ".midi", ".smf", ".kar")


class EngineLike(Protocol):
    """What the app needs of rvae_visual.audio.engine.AudioEngine."""

    silent: bool
    underflows: int

    def publish(self, pattern: Pattern) -> None: ...
    def set_playing(self, playing: bool) -> None: ...
    def locate(self, tick: float, at: float | None = None) -> None: ...
    def set_bpm(self, bpm: float) -> None: ...
    def set_threshold(self, threshold: float) -> None: ...
    def set_mutes(self, mutes: list[bool]) -> None: ...
    def set_kit(self, kit: str) -> None: ...
    def heard_position(self) -> float: ...


@dataclass
class Loaded:
    """A model ready to play: the numpy model, its map frames and landmarks."""

    name: str
    ref: str  # bundled name or file path, as given to load_model
    model: Any
    view: MapView
    landmarks: Landmarks
    instruments: tuple[str, ...]


@dataclass
class Stats:
    """Timings for benchmarks and tests (seconds, time.perf_counter clock)."""

    frame_work: list[float] = field(default_factory=list)  # input+update+draw+flip per frame
    frame_cpu: list[float] = field(default_factory=list)  # the same, CPU time of this thread
    frame_starts: list[float] = field(default_factory=list)
    first_frame_at: float | None = None
    loads: list[dict] = field(default_factory=list)  # {"name", "requested", "first_frame"}
    publishes: int = 0


def load_for_map(ref: str | None, n: int, extent: float, threshold: float) -> tuple[Any, Any, Any, float]:
    """Load a model (bundled name, path or None = default), its n x n grid and the grid's 96
    tick frames at `threshold`: everything a swap needs, numpy only (runs on the worker).
    Returns (model, grid, frames, threshold)."""
    from ..model.store import load_model

    model = load_model(ref)
    grid = model.grid(n=n, extent=extent)
    return model, grid, tick_frames(grid.onsets, threshold), threshold


class App:
    """The instrument: owns the performance state, the map, the HUD, and talks to the engine."""

    def __init__(
        self,
        window: Any,
        engine: EngineLike,
        perf: Performance,
        model: Any,
        grid: Any,
        model_ref: str,
        models: Sequence[tuple[str, str]] = (),
        kits: Sequence[str] = (),
        kit_name: str = "",
        show_hud: bool = True,
        show_landmarks: bool = True,
        fps: int = 60,
        duration: float | None = None,
        screenshot: str | None = None,
        screenshot_tick: int | None = None,
        script: Sequence[tuple[float, str, float]] = (),
        grid_n: int = 30,
        train_args: Sequence[str] = (),
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.window = window
        self.engine = engine
        self.perf = perf
        self.grid_n = grid_n
        self.extent = perf.extent
        self.clock = clock
        self.controls: queue.SimpleQueue[tuple[str, float]] = queue.SimpleQueue()
        self.hud = Hud()
        self.hud.visible = show_hud
        self.show_landmarks = show_landmarks
        self.fps = fps
        self.duration = duration
        self.screenshot = screenshot
        self.screenshot_tick = screenshot_tick
        self.script = sorted(script)
        self.train_args = list(train_args)
        self.stats = Stats()
        self.running = True
        self.message = ""
        self.message_is_error = False
        self._message_until = 0.0
        self.training: TrainingJob | None = None
        self.training_status = ""
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rvae-load")
        self._pending: list[tuple[str, Future, dict]] = []
        self.models: list[tuple[str, str]] = list(models)
        self.kits: list[str] = list(kits)
        self.kit_name = kit_name or (self.kits[0] if self.kits else "")
        self.current = self._make_loaded(model_ref, model, grid)
        self._loaded: OrderedDict[str, Loaded] = OrderedDict({model_ref: self.current})
        if not any(ref == model_ref for _, ref in self.models):
            self.models.insert(0, (self.current.name, model_ref))
        self.model_index = next(i for i, (_, ref) in enumerate(self.models) if ref == model_ref)
        self.pointer = Pointer()
        # extension points (MIDI learn, clock out, ...) without touching the loop:
        self.event_filters: list[Callable[[Any], bool]] = []  # True = event consumed
        self.frame_hooks: list[Callable[[App], None]] = []  # once per frame, before the engine sync
        self.hud_lines: list[Callable[[], str]] = []  # extra HUD lines ("" = none)
        self.shutdown_hooks: list[Callable[[], None]] = []  # on quit (e.g. MIDI panic)
        self.idle: Callable[[float], None] = time.sleep  # between frames (MIDI applies controls meanwhile)
        self._published_key: tuple | None = None
        self._pattern: Pattern | None = None
        self._sent: dict[str, Any] = {}
        self._bar = 0
        self._tick = 0
        self._fps_clock: Any = None
        self._t_start = self.clock()
        self._full_redraw = True
        self._underflows = 0
        self._underflow_seen = -1e9
        self._failed_frames = 0
        self._last_failure = ""
        self._now: float | None = None
        self._last_geom: MapGeometry | None = None
        self._last_panel: Any = None
        self._hud_was_visible = self.hud.visible
        self.perf.resize_instruments(len(self.current.instruments))

    # -- models -----------------------------------------------------------------------------------
    def _make_loaded(self, ref: str, model: Any, grid: Any, frames: Any = None,
                     frames_threshold: float | None = None) -> Loaded:
        if frames is None:
            view = MapView(grid.onsets, self.perf.threshold, extent=grid.extent)
        else:
            view = MapView(grid.onsets, float(frames_threshold), extent=grid.extent, frames=frames)
            view.set_threshold(self.perf.threshold)  # moved while it loaded: rebuilt lazily
        lm = Landmarks(getattr(model, "landmarks", []) or [])
        dm = getattr(model, "drum_map", None)
        insts = tuple(dm.instruments) if dm is not None else tuple(f"inst{i}" for i in range(view.n_instruments))
        return Loaded(str(getattr(model, "name", ref)), ref, model, view, lm, insts)

    def request_model(self, ref: str, label: str | None = None, fresh: bool = False, note: str = "") -> None:
        """Load a model on the worker thread; it swaps in when ready, the music goes on.
        Models played earlier in the session come back at once unless `fresh` (a dropped or
        newly trained file is always read again). `note` is added to the HUD message."""
        info = {"name": label or ref, "ref": ref, "requested": self.clock(), "note": note}
        cached = None if fresh else self._loaded.get(ref)
        if cached is not None:
            self._activate(cached, info)
            return
        fut = self._worker.submit(load_for_map, ref, self.grid_n, self.extent, self.perf.threshold)
        self._pending.append(("model", fut, info))

    def request_kit(self, name: str) -> None:
        """Switch the drum kit on the worker thread (samples are read from disk)."""
        fut = self._worker.submit(self.engine.set_kit, name)
        self._pending.append(("kit", fut, {"name": name}))

    def step_model(self, step: int) -> None:
        """Load the next (+1) or previous (-1) model of the session's list."""
        if len(self.models) < 2:
            self.say(f"only one model loaded ({self.current.name})")
            return
        self.model_index = (self.model_index + step) % len(self.models)
        name, ref = self.models[self.model_index]
        self.say(f"loading model {name}")
        self.request_model(ref, name)

    def step_kit(self, step: int) -> None:
        """Switch to the next (+1) or previous (-1) bundled kit."""
        if len(self.kits) < 2:
            self.say(f"only one kit available ({self.kit_name})")
            return
        i = self.kits.index(self.kit_name) if self.kit_name in self.kits else 0
        self.request_kit(self.kits[(i + step) % len(self.kits)])

    def _poll_pending(self) -> None:
        keep = []
        for kind, fut, info in self._pending:
            if not fut.done():
                keep.append((kind, fut, info))
                continue
            err = fut.exception()
            if kind == "model":
                if err is not None:
                    self.error(_one_line(err, info["ref"]))
                    continue
                self._swap_model(info["ref"], *fut.result(), info)
            else:
                if err is not None:
                    self.error(_one_line(err, info["name"]))
                    continue
                self.kit_name = str(getattr(self.engine, "kit_name", info["name"]) or info["name"])
                self.say(f"kit {self.kit_name}")
        self._pending = keep

    def _swap_model(self, ref: str, model: Any, grid: Any, frames: Any, frames_threshold: float,
                    info: dict) -> None:
        playing = tuple(getattr(self.engine, "instruments", ()) or ())
        wanted = tuple(model.drum_map.instruments)
        if playing and wanted != playing:
            self.error(f"{ref}: model plays {', '.join(wanted)} but this session's kit plays "
                       f"{', '.join(playing)}; start `rvae-visual play --model {ref}` to play it")
            return
        self._activate(self._make_loaded(ref, model, grid, frames, frames_threshold), info)

    def _activate(self, loaded: Loaded, info: dict) -> None:
        """Make `loaded` the model on screen and under the head (kept for quick switching back)."""
        ref = loaded.ref
        self._loaded[ref] = loaded
        self._loaded.move_to_end(ref)
        while len(self._loaded) > MODEL_CACHE:
            self._loaded.popitem(last=False)
        loaded.view.set_threshold(self.perf.threshold)
        self.current = loaded
        self.perf.resize_instruments(len(loaded.instruments))
        if not any(r == ref for _, r in self.models):
            self.models.append((loaded.name, ref))
        self.model_index = next(i for i, (_, r) in enumerate(self.models) if r == ref)
        self._published_key = None
        self.stats.loads.append({"name": loaded.name, "requested": info["requested"], "first_frame": None})
        self.say(f"model {loaded.name}" + (f" ({info['note']})" if info.get("note") else ""))

    # -- messages ---------------------------------------------------------------------------------
    def say(self, text: str) -> None:
        """A one-line note in the HUD."""
        self.message, self.message_is_error = text, False
        self._message_until = self.clock() + MESSAGE_SECONDS

    def error(self, text: str) -> None:
        """A one-line error in the HUD and on stderr; nothing stops."""
        self.message, self.message_is_error = text, True
        self._message_until = self.clock() + ERROR_SECONDS
        print(f"rvae-visual: {text}", file=sys.stderr, flush=True)

    # -- dropped files and training ---------------------------------------------------------------
    def handle_drop(self, path: str) -> None:
        """A model file loads; a folder of MIDI clips trains a new model in another process."""
        p = Path(path)
        if p.is_dir():
            self.start_training(p)
        elif p.suffix.lower() in MIDI_SUFFIXES:
            self.error(f"{p}: drop the folder that holds your MIDI clips to train a map on them")
        elif p.exists():
            self.say(f"loading model {p.name}")
            self.request_model(str(p), p.stem, fresh=True)
        else:
            self.error(f"{p}: no such file or folder")

    def start_training(self, folder: Path) -> None:
        """Train on `folder` in a subprocess; the new model swaps in when done."""
        if self.training is not None and not self.training.finished:
            self.error(f"{folder}: already training on {self.training.folder.name}; wait for it to finish")
            return
        if not os.access(folder, os.W_OK):
            self.error(f"{folder}: folder is not writable, so the trained model cannot be saved beside the clips")
            return
        try:
            self.training = TrainingJob(folder, extra_args=self.train_args)
        except OSError as e:
            self.error(f"{folder}: cannot start training ({e})")
            return
        self.training_status = f"training on {folder.name} ..."
        self.say(f"training a new map on {folder}")

    def _poll_training(self) -> None:
        job = self.training
        if job is None:
            return
        for ev in job.poll():
            if ev.kind == "progress":
                self.training_status = (f"training {job.folder.name}: epoch {ev.epoch}/{ev.epochs}"
                                        f"  loss {ev.loss:.3f}")
            elif ev.kind == "done":
                secs = (ev.summary or {}).get("seconds")
                self.training_status = (f"trained {job.folder.name}"
                                        + (f" in {float(secs):.0f} s" if secs is not None else "")
                                        + f", saved {Path(ev.path).name}")
                self.request_model(ev.path, Path(ev.path).stem, fresh=True, note=f"saved to {ev.path}")
            else:
                self.training_status = ""
                msg = ev.message.removeprefix("rvae-visual: error: ")
                self.error(msg if str(job.folder) in msg else f"{job.folder}: {msg}")

    # -- controls (keys, mouse, MIDI controller) ---------------------------------------------------
    def apply_control(self, name: str, value: float) -> None:
        """One controller action on the main thread. Names: see CONTROL_NAMES.

        head_x / head_y 0..1 across the map (y up); threshold 0..1; noise 0..1 of its range;
        tempo in BPM; mute_* and listen: >= 0.5 is on; start_stop / next_* / prev_*: >= 0.5
        triggers (send 1 on press)."""
        v = float(value)
        p = self.perf
        now = self._now if self._now is not None else self.clock()
        if name == "head_x":
            p.move_head(map_unit(v, -p.extent, p.extent), p.head[1], now)
        elif name == "head_y":
            p.move_head(p.head[0], map_unit(v, -p.extent, p.extent), now)
        elif name == "threshold":
            p.set_threshold(v)
        elif name == "noise":
            p.set_noise(map_unit(v, 0.0, NOISE_MAX))
        elif name == "tempo":
            p.set_tempo(v)
        elif name in ("mute_kick", "mute_snare", "mute_hihat"):
            inst = name.removeprefix("mute_")
            idx = self.current.instruments.index(inst) if inst in self.current.instruments else \
                ("kick", "snare", "hihat").index(inst)
            p.set_latch(idx, v >= 0.5)
        elif name == "mute_all":
            p.mute_all = v >= 0.5
        elif name == "listen":
            p.listening = v >= 0.5
        elif v >= 0.5:
            if name == "start_stop":
                p.toggle_playing()
            elif name == "next_model":
                self.step_model(1)
            elif name == "prev_model":
                self.step_model(-1)
            elif name == "next_kit":
                self.step_kit(1)
            elif name == "prev_kit":
                self.step_kit(-1)
            elif name not in CONTROL_NAMES:
                self.error(f"unknown control {name!r}")

    def _drain_controls(self) -> None:
        while True:
            try:
                name, value = self.controls.get_nowait()
            except queue.Empty:
                return
            self.apply_control(name, value)

    def _run_script(self, elapsed: float) -> None:
        while self.script and self.script[0][0] <= elapsed:
            _, name, value = self.script.pop(0)
            self.apply_control(name, value)

    def _geom(self) -> MapGeometry:
        return self.window.geometry(self.extent)

    def handle_event(self, ev: Any) -> None:
        """One pygame event: keys, mouse, dropped files, window changes."""
        import pygame

        for consumed in self.event_filters:
            if consumed(ev):
                return
        t = ev.type
        now = self._now if self._now is not None else self.clock()
        if t == pygame.QUIT:
            self.running = False
        elif t == pygame.KEYDOWN:
            key_down(self, ev)
        elif t == pygame.KEYUP:
            key_up(self, ev)
        elif t == pygame.MOUSEBUTTONDOWN and ev.button == 1:
            self.pointer.down(ev.pos, self._geom(), self.hud, self.perf, now)
        elif t == pygame.MOUSEMOTION:
            self.pointer.motion(ev.pos, self._geom(), self.perf, now)
        elif t == pygame.MOUSEBUTTONUP and ev.button == 1:
            self.pointer.up(ev.pos, self._geom(), self.perf, now)
        elif t == pygame.MOUSEWHEEL:
            self.pointer.wheel(pygame.mouse.get_pos(), ev.y, self.hud, self.perf)
        elif t == pygame.DROPFILE:
            self.handle_drop(ev.file)
        elif t == pygame.WINDOWFOCUSLOST:  # its key-ups will never come: release held mutes
            for i in range(self.perf.n_instruments):
                self.perf.hold_mute(i, False)
        elif t in (pygame.VIDEORESIZE, pygame.WINDOWSIZECHANGED, pygame.WINDOWEXPOSED):
            self.window.refresh()
            self._full_redraw = True

    def toggle_fullscreen(self) -> None:
        """F: fullscreen <-> window; the map re-fits."""
        self.window.toggle_fullscreen()
        self._full_redraw = True

    # -- engine -----------------------------------------------------------------------------------
    def _send(self, key: str, value: Any, fn: Callable[[Any], None]) -> None:
        if self._sent.get(key) != value:
            self._sent[key] = value
            fn(value)

    def locate(self, tick: float, at: float | None = None) -> None:
        """Play from tick-time `tick` (ticks since bar 1, tick 0), heard at time.monotonic()
        `at` (None: at once): a followed clock's Start, Continue or Song Position."""
        self.perf.playing = True
        self._sent["playing"] = True
        self.engine.locate(tick, at)
        late = 0.0 if at is None else (time.monotonic() - at) * self._ticks_per_second()
        self.sync_at(float(tick) + late)

    def sync_at(self, position: float) -> None:
        """`sync_engine` for the bar whose pattern is due at heard tick-time `position` (the
        next bar's once it is within `lead_ticks`)."""
        self.sync_engine(int(math.floor((position + self.lead_ticks()) / TICKS_PER_BAR)))

    def sync_engine(self, bar: int) -> None:
        """Push what changed in the performance state to the engine; decode the head if needed."""
        p, e = self.perf, self.engine
        self._send("bpm", p.bpm, e.set_bpm)
        self._send("threshold", p.threshold, e.set_threshold)
        self._send("mutes", list(p.mutes), e.set_mutes)
        self._send("playing", p.playing, e.set_playing)
        self.current.view.set_threshold(p.threshold)
        target = p.target(bar)
        key = (id(self.current), target, p.listening)
        if key != self._published_key:
            if self._pattern is None or self._published_key is None or self._published_key[:2] != key[:2]:
                self._pattern = self.current.model.decode_pattern(*target)
            n_inst = self._pattern.n_instruments
            e.publish(self._pattern if p.listening else Pattern.empty(n_inst))
            self._published_key = key
            self.stats.publishes += 1

    def lead_ticks(self) -> float:
        """How far ahead of the heard position a per-bar pattern must be published, in ticks.

        The engine computes audio one output latency (plus a block or two) ahead of what is
        heard, and frames come every 1/fps s: publishing the next bar's jittered pattern this
        early makes it take over at the bar line (exactly with --quantize beat or bar; with
        tick, up to one frame's worth of ticks before it) instead of after the downbeat."""
        seconds = float(getattr(self.engine, "output_latency", 0.0)) + LEAD_BLOCKS_S + 1.5 / self.fps
        return seconds * self._ticks_per_second()

    def _ticks_per_second(self) -> float:
        return self.perf.bpm * PPQN / 60.0

    @property
    def pattern(self) -> Pattern | None:
        """The head's decoded pattern (what is heard when listening)."""
        return self._pattern

    # -- drawing ----------------------------------------------------------------------------------
    def draw(self, surface: Any, position: float, now: float) -> list | None:
        """Draw the frame for transport position `position` (ticks heard now).

        Returns the screen rects that changed, or None when the whole screen must be shown:
        from frame to frame only the map square (plus a band the head may overhang) and the HUD
        panel change, so only they are sent to the screen."""
        import pygame

        g = MapGeometry(*surface.get_size(), self.extent)
        tick = int(math.floor(position)) % TICKS_PER_BAR
        self._tick = tick
        self._bar = int(math.floor(position / TICKS_PER_BAR))
        hud = self.hud
        full = (self._full_redraw or g != self._last_geom or hud.show_help
                or hud.visible != self._hud_was_visible)
        self._full_redraw = hud.show_help  # closing the help needs one more full frame
        self._last_geom = g
        self._hud_was_visible = hud.visible
        band = pygame.Rect(g.rect).inflate(2 * OVERHANG, 2 * OVERHANG).clip(surface.get_rect())
        # one whole-surface fill is a memset; filling the margins row by row costs more
        surface.fill(BACKGROUND)
        self.current.view.draw(surface, g, tick)
        if self.show_landmarks:
            self.current.landmarks.draw(surface, g)
        p = self.perf
        draw_trail(surface, g, p.trail_points(now))
        if p.noise > 0:
            draw_halo(surface, g, p.head, p.target(self._bar))
        draw_head(surface, g, p.head, p.listening)
        drawn = hud.draw(surface, g, self.hud_state())
        panel = pygame.Rect(drawn) if drawn else None
        last, self._last_panel = self._last_panel, panel
        if full:
            return None
        if panel is not None and last is not None:
            panel = panel.union(last)  # a shorter HUD must still clear what it covered before
        panel = panel or last
        return [band] if panel is None else [band, panel]

    def hud_state(self) -> HudState:
        """What the HUD shows now."""
        p, e = self.perf, self.engine
        underflows = int(getattr(e, "underflows", 0))
        now = self.clock()
        if underflows != self._underflows:
            self._underflows, self._underflow_seen = underflows, now
        return HudState(
            threshold=p.threshold, noise=p.noise, noise_max=NOISE_MAX, seed=p.seed, bpm=p.bpm,
            playing=p.playing, listening=p.listening, instruments=self.current.instruments,
            mutes=p.mutes, latched=tuple(p.latched), bar=self._bar, tick=self._tick, head=p.head,
            model_name=self.current.name, kit_name=self.kit_name,
            underflows=underflows, underflows_recent=now - self._underflow_seen < UNDERFLOW_WARN_S,
            audio_status=str(getattr(e, "status", "")),
            message=self.message, message_is_error=self.message_is_error,
            training=self.training_status,
            fps=self._fps_clock.get_fps() if self._fps_clock is not None else 0.0,
            pattern=self._pattern,
            extra=[line for line in (f() for f in self.hud_lines) if line],
        )

    # -- the loop ---------------------------------------------------------------------------------
    def step(self) -> None:
        """One frame: input, state, engine, draw, flip."""
        import pygame

        t0 = self.clock()
        c0 = time.thread_time()
        self._now = t0  # one time stamp for everything that happens in this frame
        for ev in pygame.event.get():
            self.handle_event(ev)
        self._drain_controls()
        self._run_script(t0 - self._t_start)
        self._poll_pending()
        self._poll_training()
        if self.message and t0 > self._message_until:
            self.message = ""
        for hook in self.frame_hooks:
            hook(self)
        position = self.engine.heard_position()
        self.sync_at(position)
        surface = self.window.surface
        rects = self.draw(surface, position, t0)
        if rects is None:
            pygame.display.flip()
        else:
            pygame.display.update(rects)
        self._failed_frames = 0
        t1 = self.clock()
        self.stats.frame_cpu.append(time.thread_time() - c0)
        self.stats.frame_starts.append(t0)
        self.stats.frame_work.append(t1 - t0)
        if self.stats.first_frame_at is None:
            self.stats.first_frame_at = t1
        for load in self.stats.loads:
            if load["first_frame"] is None:
                load["first_frame"] = t1
        if self.duration is not None and t1 - self._t_start >= self.duration:
            self.running = False

    def run(self) -> int:
        """Play until Esc / window close / --duration; returns the exit code."""
        import pygame

        self._fps_clock = pygame.time.Clock()  # measures only (HUD fps)
        self._t_start = self.clock()
        period = 1.0 / self.fps
        next_frame = self._t_start
        try:
            while self.running:
                try:
                    self.step()
                except Exception as e:  # a bug in one frame must not stop the music
                    self._frame_failed(e)
                self._fps_clock.tick()
                # pace by an absolute schedule (Clock.tick sleeps whole milliseconds and drifts
                # below 60 fps on a busy machine); a late frame resets the schedule, no catch-up
                next_frame += period
                wait = next_frame - self.clock()
                if wait > 0:
                    self.idle(wait)
                else:
                    next_frame = self.clock()
            if self.screenshot:
                if self.screenshot_tick is not None:  # redraw the last frame at a chosen tick
                    self.draw(self.window.surface, self._bar * TICKS_PER_BAR + self.screenshot_tick,
                              self.clock())
                pygame.image.save(self.window.surface, self.screenshot)
        finally:
            self.shutdown()
        return 0

    def _frame_failed(self, err: Exception) -> None:
        """Report a failed frame once (HUD and stderr) and go on; give up after many in a row."""
        import traceback

        self._failed_frames += 1
        if self._failed_frames > MAX_FAILED_FRAMES:
            raise err
        where = traceback.extract_tb(err.__traceback__)[-1]
        text = f"internal error in a frame: {type(err).__name__}: {err} ({Path(where.filename).name}:{where.lineno})"
        if text != self._last_failure:
            self._last_failure = text
            self.error(text)

    def shutdown(self) -> None:
        """Stop training and the loader thread, run the shutdown hooks (the caller closes the
        engine and the window)."""
        for hook in self.shutdown_hooks:
            try:
                hook()
            except Exception as e:  # one failing hook must not keep the others from running
                print(f"rvae-visual: on quit: {type(e).__name__}: {e}", file=sys.stderr)
        self.shutdown_hooks = []
        if self.training is not None:
            self.training.cancel()
        self._worker.shutdown(wait=False, cancel_futures=True)


def _one_line(err: BaseException, what: str) -> str:
    if isinstance(err, InputError):
        return str(err)
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return f"{what}: {text}"
