"""The window of the instrument: events in, the frame out, paced at the frame rate.

Everything here runs on the main thread. What is played lives in the conductor
(rvae_visual.session): keys, the mouse and dropped files become controls and requests there;
each frame the conductor publishes the bar about to be heard and the window draws the tick
heard now. Extension points (`event_filters`, `frame_hooks`, `hud_lines`, `shutdown_hooks`)
let MIDI learn and others join without touching the loop.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from ..controls import GLOW_MAX
from ..pattern import TICKS_PER_BAR
from ..swing import unwarp
from ..session.conductor import Conductor
from ..session.library import Loaded
from .audience import AudienceWindow
from .frame import FramePainter
from .hud import Hud, HudState, UnderflowWatch
from .keys import key_down, key_up
from .landmarks import Landmarks
from .invite import Invitation
from .lock import InstallationLock
from .mapview import MapGeometry, MapLook, MapView, look_frames, tick_frames
from .picture import save_png_or_fallback
from .pointer import Pointer
from .window import Window

MAX_FAILED_FRAMES = 300  # frames in a row that may fail before the app gives up


def prepare_frames(model: Any, grid: Any, threshold: float, look: MapLook | None = None) -> object:
    """The map's 96 tick frames at `threshold` in `look` (numpy; runs on the loading thread)."""
    if look is None:
        return tick_frames(grid.onsets, threshold)
    return look_frames(grid.onsets, grid.velocities, threshold, look)


@dataclass
class AppOptions:
    """How the window runs: what it shows at start, pacing, when to stop, what to save."""

    show_hud: bool = True
    show_landmarks: bool = True
    fps: int = 60
    duration: float | None = None  # seconds, then quit
    screenshot: str | None = None  # PNG saved on quit
    screenshot_tick: int | None = None  # redraw at this tick before saving
    record_stats: bool = False  # keep per-frame timings (--stats, benchmarks)
    installation: bool = False  # keys locked (quit: Ctrl+Shift+Q held), cursor hidden, window close ignored
    installation_keys: tuple[str, ...] = ()  # controls whose keys still work in installation mode
    quit_hold: float = 3.0  # seconds Ctrl+Shift+Q must be held to quit an installation
    invite: str = ""  # a line shown on the map while the attract wander plays
    look: MapLook | None = None  # how the map is drawn (None: hits on their tick only)
    topology: bool = False  # rhythm-region boundaries at start


@dataclass
class Stats:
    """Timings for benchmarks (seconds, the app's clock); per-frame lists only when recording."""

    frame_work: list[float] = field(default_factory=list)  # input+update+draw+flip per frame
    frame_cpu: list[float] = field(default_factory=list)  # the same, CPU time of this thread
    frame_starts: list[float] = field(default_factory=list)
    first_frame_at: float | None = None
    loads: list[dict] = field(default_factory=list)  # {"name", "requested", "first_frame"}


class App:
    """The window over a conductor: events, drawing, HUD, pacing."""

    def __init__(self, window: Window, conductor: Conductor, options: AppOptions | None = None) -> None:
        opts = options or AppOptions()
        self.window = window
        self.conductor = conductor
        self.library = conductor.library
        self.messages = conductor.messages
        self.clock = conductor.clock
        self.options = opts
        self.hud = Hud()
        self.hud.visible = opts.show_hud
        self.show_landmarks = opts.show_landmarks
        self.look = opts.look
        self.topology = opts.topology
        self.fps = opts.fps
        self.stats = Stats()
        self.running = True
        self.pointer = Pointer()
        self.event_filters: list[Callable[[Any], bool]] = []  # True = event consumed
        self.frame_hooks: list[Callable[[App], None]] = []  # once per frame, before the engine sync
        self.hud_lines: list[Callable[[], str]] = []  # extra HUD lines ("" = none)
        self.shutdown_hooks: list[Callable[[], None]] = []  # on quit (e.g. MIDI panic)
        conductor.handlers.update({
            "quit": lambda v: self.quit(),
            "fullscreen": lambda v: self.toggle_fullscreen(),
            "toggle_hud": lambda v: setattr(self.hud, "visible", not self.hud.visible),
            "toggle_landmarks": lambda v: setattr(self, "show_landmarks", not self.show_landmarks),
            "toggle_topology": lambda v: self.set_topology(not self.topology),
            "glow": self.set_glow,
            "toggle_help": lambda v: setattr(self.hud, "show_help", not self.hud.show_help),
        })
        conductor.values["glow"] = lambda: float(self.look.glow_ticks if self.look is not None else 0)
        self.library.on_activate.append(self._activated)
        self._fps_clock: Any = None
        self._t_start = self.clock()
        self._bar = 0
        self._tick = 0
        self.painter = FramePainter()
        self._underflow_watch = UnderflowWatch()
        self.lock: InstallationLock | None = None
        if opts.installation:
            def allowed(key: str, shift: bool) -> bool:
                k = conductor.vocabulary.key(key, shift)
                return k is not None and k.control in opts.installation_keys

            self.lock = InstallationLock(self.quit, self.messages.say, self.clock, opts.quit_hold, allowed)
            self.event_filters.insert(0, self.lock.event_filter)
            self.frame_hooks.append(self.lock.check)
        self.audience: AudienceWindow | None = None
        self.invitation = Invitation(opts.invite) if opts.invite else None
        self.takeover_source: Callable[[], list[tuple[str, float, float]]] | None = None  # MIDI soft takeover
        self._failed_frames = 0
        self._last_failure = ""
        self._ui(self.library.current)

    # -- the model on screen ----------------------------------------------------------------------
    def _ui(self, loaded: Loaded) -> tuple[MapView, Landmarks]:
        """The map view and landmarks of `loaded`, made the first time it is shown."""
        if loaded.ui is None:
            g = loaded.grid
            threshold = self.conductor.perf.threshold
            look, vel = self.look, (g.velocities if self.look is not None else None)
            if loaded.prepared is None or loaded.prepared_threshold is None:
                view = MapView(g.onsets, threshold, extent=g.extent, velocities=vel, look=look)
            else:
                view = MapView(g.onsets, loaded.prepared_threshold, extent=g.extent, frames=loaded.prepared,  # type: ignore[arg-type]
                               velocities=vel, look=look)
            view.topology = self.topology
            loaded.ui = (view, Landmarks(getattr(loaded.model, "landmarks", []) or []))
        return loaded.ui  # type: ignore[return-value]

    def set_topology(self, on: bool) -> None:
        """Rhythm-region boundaries over the map on or off."""
        self.topology = on
        self.view.topology = on
        self.messages.say(f"rhythm regions {'on' if on else 'off'}")

    def set_glow(self, ticks: float) -> None:
        """How long a hit stays lit, ticks (0 = only on its tick)."""
        base = self.look if self.look is not None else MapLook(glow_ticks=0, ghost=False)
        self.look = replace(base, glow_ticks=int(round(max(0.0, min(GLOW_MAX, ticks)))))
        self.view.set_look(self.look)
        self.messages.say(f"afterglow {self.look.glow_ticks} ticks")

    @property
    def view(self) -> MapView:
        """The map view of the model playing now."""
        return self._ui(self.library.current)[0]

    def _activated(self, loaded: Loaded) -> None:
        view = self._ui(loaded)[0]
        view.set_threshold(self.conductor.perf.thresholds)
        if self.look is not None:
            view.set_look(self.look)
        view.topology = self.topology
        info = loaded.info
        self.stats.loads.append({"name": loaded.name, "requested": info.get("requested", self.clock()),
                                 "first_frame": None})

    # -- events -----------------------------------------------------------------------------------
    def geometry(self) -> MapGeometry:
        """Where the map square is in the window now."""
        return self.window.geometry(self.library.extent)

    def handle_event(self, ev: Any) -> None:
        """One pygame event: keys, mouse, dropped files, window changes."""
        import pygame

        for consumed in self.event_filters:
            if consumed(ev):
                return
        t = ev.type
        c = self.conductor
        now = c.now if c.now is not None else self.clock()
        perf = c.perf
        if t in (pygame.KEYDOWN, pygame.MOUSEBUTTONDOWN, pygame.MOUSEWHEEL) or (
                t == pygame.MOUSEMOTION and any(ev.buttons)):
            c.touch()  # a visitor: the attract wander stops
        if t == pygame.QUIT:
            self.quit()
        elif t == pygame.KEYDOWN:
            key_down(c, ev)
        elif t == pygame.KEYUP:
            key_up(c, ev)
        elif t == pygame.MOUSEBUTTONDOWN and ev.button == 1:
            self.pointer.down(ev.pos, self.geometry(), self.hud, perf, now)
        elif t == pygame.MOUSEMOTION:
            self.pointer.motion(ev.pos, self.geometry(), perf, now)
        elif t == pygame.MOUSEBUTTONUP and ev.button == 1:
            self.pointer.up(ev.pos, self.geometry(), perf, now)
        elif t == pygame.MOUSEWHEEL:
            self.pointer.wheel(pygame.mouse.get_pos(), ev.y, self.hud, perf)
        elif t == pygame.DROPFILE:
            self.library.handle_drop(ev.file)
        elif t == pygame.WINDOWFOCUSLOST:  # its key-ups will never come: release held mutes
            for i in range(perf.n_instruments):
                perf.hold_mute(i, False)
        elif t in (pygame.VIDEORESIZE, pygame.WINDOWSIZECHANGED, pygame.WINDOWEXPOSED):
            self.window.refresh()
            self.painter.full_redraw = True

    def quit(self) -> None:
        """Leave the loop at the end of this frame."""
        self.running = False

    def toggle_fullscreen(self) -> None:
        """F: fullscreen <-> window; the map re-fits."""
        self.window.toggle_fullscreen()
        self.painter.full_redraw = True

    # -- drawing ----------------------------------------------------------------------------------
    def draw(self, surface: Any, position: float, now: float) -> list | None:
        """Draw the frame for transport position `position` (ticks heard now); returns the
        screen rects that changed, or None when the whole screen must be shown."""
        position = unwarp(position, self.conductor.perf.swing / 100.0)  # the map lights a hit when it sounds
        self._tick = int(math.floor(position)) % TICKS_PER_BAR
        self._bar = int(math.floor(position / TICKS_PER_BAR))
        view, landmarks = self._ui(self.library.current)
        view.set_threshold(self.conductor.perf.thresholds)
        return self.painter.paint(surface, self.library.extent, view, landmarks if self.show_landmarks else None,
                                  self.conductor.perf, self._bar, self._tick, now, self.hud, self.hud_state(),
                                  self.invite_now())

    def invite_now(self) -> Invitation | None:
        """The invitation line while the attract wander plays, else None."""
        return self.invitation if self.conductor.wander.active else None

    def set_audience(self, audience: AudienceWindow | None) -> None:
        """Show the clean map on `audience` too, at the same tick as this window."""
        self.audience = audience
        if audience is not None:
            self.event_filters.insert(0, audience.event_filter)

    def _draw_audience(self, now: float) -> None:
        aud = self.audience
        assert aud is not None
        if aud.closed:
            self.event_filters.remove(aud.event_filter)
            self.audience = None
            self.messages.say("audience window closed")
            return
        try:
            view, landmarks = self._ui(self.library.current)
            aud.draw(view, landmarks, self.conductor.perf, self._bar, self._tick, now, self.library.extent,
                     self.invite_now())
        except Exception as e:  # the performer's window and the music go on
            self.messages.error(f"audience window: {type(e).__name__}: {e}; closed")
            aud.close()

    def hud_state(self) -> HudState:
        """What the HUD shows now."""
        c, lib = self.conductor, self.library
        p, e = c.perf, c.engine
        underflows = int(getattr(e, "underflows", 0))
        minute = getattr(e, "underflows_last_minute", None)
        recent, flash = self._underflow_watch.update(underflows, self.clock())
        return HudState(
            threshold=p.threshold, thresholds=p.thresholds, trims=tuple(p.trims), noise=p.noise, seed=p.seed,
            bpm=p.bpm, quantize=p.quantize, swing=p.swing, scene=c.scenes.status,
            playing=p.playing, listening=p.listening, instruments=lib.current.instruments,
            mutes=p.mutes, latched=tuple(p.latched), bar=self._bar, tick=self._tick, head=p.head,
            model_name=lib.current.name, kit_name=lib.kit_name,
            underflows=underflows, underflows_recent=recent, underflow_flash=flash,
            underflows_minute=int(minute()) if callable(minute) else underflows,
            audio_status=str(getattr(e, "status", "")),
            message=self.messages.text, message_is_error=self.messages.is_error,
            training=lib.training_status,
            fps=self._fps_clock.get_fps() if self._fps_clock is not None else 0.0,
            pattern=c.pattern, help_rows=c.vocabulary.help_rows(),
            extra=[line for line in (f() for f in self.hud_lines) if line],
            takeover=tuple(self.takeover_source()) if self.takeover_source is not None else (),
        )

    # -- the loop ---------------------------------------------------------------------------------
    def step(self) -> None:
        """One frame: input, state, engine, draw, flip."""
        import pygame

        t0 = self.clock()
        c0 = time.thread_time()
        c = self.conductor
        c.now = t0  # one time stamp for everything that happens in this frame
        for ev in pygame.event.get():
            self.handle_event(ev)
        c.frame(t0, t0 - self._t_start)
        for hook in self.frame_hooks:
            hook(self)
        position = c.heard_position()
        c.sync_at(position)
        rects = self.draw(self.window.surface, position, t0)
        if rects is None:
            pygame.display.flip()
        else:
            pygame.display.update(rects)
        if self.audience is not None:
            self._draw_audience(t0)
        self._failed_frames = 0
        t1 = self.clock()
        st = self.stats
        if self.options.record_stats:
            st.frame_cpu.append(time.thread_time() - c0)
            st.frame_starts.append(t0)
            st.frame_work.append(t1 - t0)
        if st.first_frame_at is None:
            st.first_frame_at = t1
        for load in st.loads:
            if load["first_frame"] is None:
                load["first_frame"] = t1
        del st.loads[:-8]
        if self.options.duration is not None and t1 - self._t_start >= self.options.duration:
            self.running = False

    def run(self) -> int:
        """Play until Esc / window close / --duration; returns the exit code."""
        import pygame

        self._fps_clock = pygame.time.Clock()  # measures only (HUD fps)
        if self.lock is not None:
            self.lock.install_signals()
            pygame.mouse.set_visible(False)
            pygame.display.set_allow_screensaver(False)  # an installation's screen never blanks
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
                    self.conductor.wait(wait)
                else:
                    next_frame = self.clock()
            self._save_screenshot()
        finally:
            if self.audience is not None:
                self.audience.close()
            self.shutdown()
        return 0

    def _save_screenshot(self) -> None:

        o = self.options
        if o.screenshot:
            if o.screenshot_tick is not None:  # redraw the last frame at a chosen tick
                self.draw(self.window.surface, self._bar * TICKS_PER_BAR + o.screenshot_tick, self.clock())
            try:
                save_png_or_fallback(self.window.surface, o.screenshot)
            except OSError as e:
                print(f"rvae-visual: error: {o.screenshot}: the screenshot could not be saved anywhere ({e})",
                      file=sys.stderr)

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
            self.messages.error(text)

    def shutdown(self) -> None:
        """Run the shutdown hooks, stop training and the loader (the caller closes the engine
        and the window)."""
        for hook in self.shutdown_hooks:
            try:
                hook()
            except Exception as e:  # one failing hook must not keep the others from running
                print(f"rvae-visual: on quit: {type(e).__name__}: {e}", file=sys.stderr)
        self.shutdown_hooks = []
        self.library.shutdown()
