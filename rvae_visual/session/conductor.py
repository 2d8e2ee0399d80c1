"""The conductor: the session's musical state and its hand-off to the audio engine.

It owns the Performance, applies controls from every source (keys, mouse, MIDI, the
`--control` script) through the one vocabulary, decodes the head's point for the bar about to
be heard and publishes it, and is the `TransportControl` that clock sources drive from their
own threads. No pygame: the window calls `frame()` once a frame and draws what it reads here.

Threads: the main thread calls everything; clock sources (the MIDI input thread) call
`follow_tempo`, `locate` and `stop`. One lock keeps the hand-off to the engine whole.
"""

from __future__ import annotations

import functools
import math
import queue
import threading
import time
from typing import Callable, Protocol, Sequence

from .. import controls as ctl
from ..clock import clamp_bpm
from ..pattern import PPQN, TICKS_PER_BAR, Pattern
from ..performance import Performance
from .library import Loaded, ModelLibrary
from .messages import Messages
from .scene_player import ScenePlayer
from .scenes import SceneBank
from .playlist import Playlist
from .wander import Wander

LEAD_BLOCKS_S = 0.012  # two audio blocks of up to 256 frames at 44.1-48 kHz


class Engine(Protocol):
    """What the conductor needs of rvae_visual.audio.engine.AudioEngine."""

    @property
    def output_latency(self) -> float: ...
    def publish(self, pattern: Pattern) -> None: ...
    def set_playing(self, on: bool) -> None: ...
    def locate(self, tick: float, at: float | None = None) -> None: ...
    def set_bpm(self, bpm: float) -> None: ...
    def set_threshold(self, t: float | tuple[float, ...]) -> None: ...
    def set_mutes(self, mutes: Sequence[bool]) -> None: ...
    def set_quantize(self, name: str) -> None: ...
    def set_swing(self, swing: float) -> None: ...
    def heard_position(self) -> float: ...


Handler = Callable[[float], None]


class Conductor:
    """Performance state -> engine. `handlers` apply the controls whose target is not the
    performance (the library's models and kits here, the window's own added by the window)."""

    def __init__(self, engine: Engine, perf: Performance, library: ModelLibrary, messages: Messages,
                 fps: float = 60.0, script: Sequence[tuple[float, str, float]] = (),
                 clock: Callable[[], float] = time.perf_counter, scenes: SceneBank | None = None) -> None:
        self.engine = engine
        self.perf = perf
        self.library = library
        self.messages = messages
        self.fps = float(fps)
        self.clock = clock
        self.controls: queue.SimpleQueue[tuple[str, float]] = queue.SimpleQueue()
        self.script = sorted(script)
        self.handlers: dict[str, Handler] = {
            "next_model": lambda v: library.step_model(1),
            "prev_model": lambda v: library.step_model(-1),
            "next_kit": lambda v: library.step_kit(1),
            "prev_kit": lambda v: library.step_kit(-1),
        }
        self.values: dict[str, Callable[[], float]] = {}  # current values of controls the handlers keep
        self.wakers: list[Callable[[float], bool]] = []  # wait up to s for controls; True if some came
        self.on_scene: list[Callable[[int], None]] = []  # hear of each scene recall as it lands (slot 1..8)
        self.wander = Wander(perf, idle_s=0.0)  # off until `play` sets idle_s
        self.wander.set_points(_landmarks(library.current))
        self._wandering = False
        self.playlist = Playlist(library, self.wander, (), 0.0)  # `play --playlist` fills it
        self.scenes = ScenePlayer(perf, library, messages, scenes or SceneBank(), self.on_scene)
        for n in range(1, ctl.SCENES + 1):
            self.handlers[f"recall_scene_{n}"] = functools.partial(self._scene, self.scenes.recall, n)
            self.handlers[f"store_scene_{n}"] = functools.partial(self._scene, self.scenes.store, n)
        self.now: float | None = None  # the time stamp of the frame being made
        self._lock = threading.RLock()
        self._sent: dict[str, object] = {}
        self._published_key: tuple | None = None
        self._pattern: Pattern | None = None
        self.publishes = 0
        self._snap_beat: int | None = None  # the beat an excursion let go snaps back on
        perf.resize_instruments(len(library.current.instruments))
        library.on_activate.append(self._activated)

    @property
    def vocabulary(self) -> ctl.Vocabulary:
        """The controls of the model playing now."""
        return ctl.vocabulary(self.library.current.instruments)

    @staticmethod
    def _scene(act: Callable[[int], None], slot: int, value: float) -> None:
        act(slot)

    # -- controls ---------------------------------------------------------------------------------
    def apply(self, name: str, value: float) -> None:
        """One control (see rvae_visual.controls), on the main thread."""
        c = self.vocabulary.get(name)
        if c is None:
            self.messages.error(f"unknown control {name!r}")
            return
        self.touch()
        if c.target == ctl.PERFORMANCE:
            ctl.apply(self.perf, c, value, self.now if self.now is not None else self.clock())
            if name == "new_seed" and value >= ctl.PRESSED:
                self.messages.say(f"noise seed {self.perf.seed}")
            return
        handler = self.handlers.get(name)
        if handler is not None and (c.kind != ctl.TRIGGER or value >= ctl.PRESSED):
            handler(value)

    def touch(self) -> None:
        """Input from a visitor or performer (any control, key or mouse): the wander stops."""
        self.wander.touch(self.now if self.now is not None else self.clock())

    def value_of(self, name: str) -> float | None:
        """The current value of control `name` in control units (None: a trigger or unknown)."""
        source = self.values.get(name)
        if source is not None:
            return float(source())
        c = self.vocabulary.get(name)
        return None if c is None else ctl.value_of(self.perf, c)

    def drain(self) -> None:
        """Apply every control waiting in the queue (put there by other threads)."""
        while True:
            try:
                name, value = self.controls.get_nowait()
            except queue.Empty:
                return
            self.apply(name, value)

    def wait(self, seconds: float) -> None:
        """Between frames: sleep `seconds`, applying controls that arrive meanwhile at once, so
        a knob is heard within a tick and a block, not a frame later."""
        if not self.wakers:
            time.sleep(seconds)
            return
        end = self.clock() + seconds
        while (left := end - self.clock()) > 0:
            if any(w(left) for w in self.wakers):
                self.drain()
                self.sync_at(self.engine.heard_position())

    def frame(self, now: float, elapsed: float) -> None:
        """Once a frame, before drawing: messages, loads, queued and scripted controls."""
        self.now = now
        self.messages.expire(now)
        self.library.poll()
        self.drain()
        while self.script and self.script[0][0] <= elapsed:
            _, name, value = self.script.pop(0)
            self.apply(name, value)

    # -- TransportControl (any thread) ------------------------------------------------------------
    @property
    def playing(self) -> bool:
        """Whether the transport runs (as asked)."""
        return self.perf.playing

    @property
    def tempo(self) -> float:
        """The tempo played now, BPM."""
        return self.perf.bpm

    def follow_tempo(self, bpm: float) -> None:
        """A clock source's tempo, to the engine at once."""
        with self._lock:
            self.perf.set_tempo(clamp_bpm(bpm))
            self._send("bpm", self.perf.bpm, self.engine.set_bpm)

    def locate(self, tick: float, at: float | None = None) -> None:
        """Play from tick-time `tick` (ticks since bar 1, tick 0), heard at time.monotonic()
        `at` (None: at once): a followed clock's Start, Continue or Song Position."""
        with self._lock:
            self.perf.playing = True
            self._sent["playing"] = True
            self.engine.locate(tick, at)
            late = 0.0 if at is None else (time.monotonic() - at) * self.ticks_per_second()
            self.sync_at(float(tick) + late)

    def stop(self) -> None:
        """Stop (a followed clock's Stop)."""
        with self._lock:
            self.perf.playing = False
            self._send("playing", False, self.engine.set_playing)

    def heard_position(self) -> float:
        """Tick-time heard now."""
        return self.engine.heard_position()

    # -- the hand-off -----------------------------------------------------------------------------
    def _send(self, key: str, value: object, fn: Callable) -> None:
        if self._sent.get(key) != value:
            self._sent[key] = value
            fn(value)

    def sync_at(self, position: float) -> None:
        """`sync_engine` for the bar whose pattern is due at heard tick-time `position` (the
        next bar's once it is within `lead_ticks`); an excursion let go snaps back when the
        next beat is that close."""
        ahead = position + self.lead_ticks()
        p = self.perf
        if p.excursion is not None and not p.excursion_held:
            if self._snap_beat is None:
                self._snap_beat = math.floor(ahead / PPQN) + 1
            elif ahead >= self._snap_beat * PPQN or not p.playing:
                p.end_excursion(self.now)
                self._snap_beat = None
        else:
            self._snap_beat = None  # held again before the snap: it goes on
        self.scenes.step(ahead, self.now)
        now = self.now if self.now is not None else self.clock()
        self.wander.step(ahead, now)
        if self.wander.active != self._wandering:
            self._wandering = self.wander.active
            self.messages.say("nobody plays: the head wanders" if self._wandering else "someone plays")
        self.playlist.step(ahead, now)
        self.sync_engine(int(math.floor(ahead / TICKS_PER_BAR)))

    def sync_engine(self, bar: int) -> None:
        """Push what changed in the performance state to the engine; decode the head if needed."""
        with self._lock:
            p, e = self.perf, self.engine
            self._send("bpm", p.bpm, e.set_bpm)
            self._send("threshold", p.thresholds, e.set_threshold)
            self._send("mutes", list(p.mutes), e.set_mutes)
            self._send("quantize", p.quantize, e.set_quantize)
            self._send("swing", p.swing / 100.0, e.set_swing)
            self._send("playing", p.playing, e.set_playing)
            current = self.library.current
            target = p.target(bar)
            key = (id(current), target, p.listening)
            if key != self._published_key:
                if self._pattern is None or self._published_key is None or self._published_key[:2] != key[:2]:
                    self._pattern = current.model.decode_pattern(*target)
                n_inst = self._pattern.n_instruments
                e.publish(self._pattern if p.listening else Pattern.empty(n_inst))
                self._published_key = key
                self.publishes += 1

    def lead_ticks(self) -> float:
        """How far ahead of the heard position a per-bar pattern must be published, in ticks.

        The engine computes audio one output latency (plus a block or two) ahead of what is
        heard, and frames come every 1/fps s: publishing the next bar's jittered pattern this
        early makes it take over at the bar line (exactly with --quantize beat or bar; with
        tick, up to one frame's worth of ticks before it) instead of after the downbeat."""
        seconds = float(self.engine.output_latency) + LEAD_BLOCKS_S + 1.5 / self.fps
        return seconds * self.ticks_per_second()

    def ticks_per_second(self) -> float:
        """Ticks a second at the tempo played now."""
        return self.perf.bpm * PPQN / 60.0

    @property
    def pattern(self) -> Pattern | None:
        """The head's decoded pattern (what is heard when listening)."""
        return self._pattern

    def _activated(self, new: Loaded) -> None:
        with self._lock:
            self.perf.resize_instruments(len(new.instruments))
            self.perf.set_extent(float(new.grid.extent))
            self.wander.set_points(_landmarks(new))
            self._published_key = None


def _landmarks(loaded: Loaded) -> list[tuple[float, float]]:
    """The latent points of a model's training bars (its landmarks)."""
    return [(float(z1), float(z2)) for _, z1, z2 in getattr(loaded.model, "landmarks", ())]
