"""Storing and recalling scenes in time: a recall lands on the next beat (the next bar with
quantize bar) and the head optionally glides to the scene's point over `glide_beats` beats.

The conductor calls `step` with the tick-time being published (the heard position plus the
lead), so what lands is in the audio from that line on; a model or kit the scene needs is
asked for at the recall, so it has the time until the line to load.
"""

from __future__ import annotations

import math
from typing import Callable

from ..pattern import PPQN, TICKS_PER_BAR
from ..performance import Performance
from .library import ModelLibrary
from .messages import Messages
from .scenes import Scene, SceneBank


def apply_settings(p: Performance, scene: Scene, instruments: tuple[str, ...]) -> None:
    """Everything of `scene` but the head, model and kit, onto `p` at once (trims and mutes by
    instrument name: a drum the scene does not know gets none)."""
    p.set_threshold(scene.threshold)
    for i, n in enumerate(instruments):
        p.set_trim(i, scene.trims.get(n, 0.0))
        p.set_latch(i, n in scene.mutes)
    p.mute_all = scene.mute_all
    p.set_noise(scene.noise)
    p.set_tempo(scene.tempo)
    p.set_swing(scene.swing)


class ScenePlayer:
    """Scenes of one session: `store` and `recall` (main thread), `step` once per sync."""

    def __init__(self, perf: Performance, library: ModelLibrary, messages: Messages, bank: SceneBank,
                 listeners: list[Callable[[int], None]]) -> None:
        self.perf = perf
        self.library = library
        self.messages = messages
        self.bank = bank
        self.listeners = listeners
        self.pending: int | None = None  # the slot recalled, waiting for its line
        self.line: float | None = None  # tick-time it lands on
        self.current: int | None = None  # the slot that landed last
        # (from head, to head, first tick-time, ticks, the head as last set) of a glide under way
        self._glide: tuple[tuple[float, float], tuple[float, float], float, float, tuple[float, float]] | None = None

    def snapshot(self) -> Scene:
        """What plays now, as a scene."""
        p, cur = self.perf, self.library.current
        names = cur.instruments
        return Scene(head=(float(p.head[0]), float(p.head[1])), threshold=float(p.threshold), noise=float(p.noise),
                     trims={n: float(p.trims[i]) for i, n in enumerate(names) if i < len(p.trims)},
                     mutes=tuple(n for i, n in enumerate(names) if i < len(p.latched) and p.latched[i]),
                     mute_all=bool(p.mute_all), tempo=float(p.bpm), swing=float(p.swing),
                     model=str(cur.ref), model_name=str(cur.name), kit=str(self.library.kit_name))

    def store(self, slot: int) -> None:
        """Keep what plays now as scene `slot` (and write the set file)."""
        err = self.bank.store(slot, self.snapshot())
        if err:
            self.messages.error(err)
        elif self.bank.moved_aside is not None:
            self.messages.say(f"scene {slot} stored; the broken set file was kept as {self.bank.moved_aside.name}")
            self.bank.moved_aside = None
        else:
            self.messages.say(f"scene {slot} stored" + ("" if self.bank.path else " (no --set FILE: kept until quit)"))

    def recall(self, slot: int) -> None:
        """Recall scene `slot` on the next beat or bar; its model and kit start loading now."""
        scene = self.bank.get(slot)
        if scene is None:
            self.messages.say(f"scene {slot} is empty (Shift+{slot} stores one)")
            return
        self.pending, self.line = slot, None
        lib = self.library
        if scene.model and scene.model != lib.current.ref:
            lib.request_model(scene.model, scene.model_name or None)
        if scene.kit and scene.kit != lib.kit_name:
            lib.request_kit(scene.kit)
        where = "bar" if self.perf.quantize == "bar" else "beat"
        self.messages.say(f"scene {slot} on the next {where}")

    def step(self, ahead: float, now: float | None) -> None:
        """At tick-time `ahead` (being published): land a pending recall whose line is reached
        (at once when stopped), move a glide on."""
        p = self.perf
        if self.pending is not None:
            if self.line is None:
                unit = TICKS_PER_BAR if p.quantize == "bar" else PPQN
                self.line = float((math.floor(ahead / unit) + 1) * unit)
            if ahead >= self.line or not p.playing:
                self._land(self.pending, self.line, now)
        if self._glide is not None:
            self._glide_to(ahead, now)

    def _land(self, slot: int, line: float, now: float | None) -> None:
        self.pending = self.line = None
        scene = self.bank.get(slot)
        if scene is None:
            return
        p = self.perf
        p.excursion, p.excursion_held = None, False  # the scene wins over an excursion
        apply_settings(p, scene, self.library.current.instruments)
        self._glide = None
        target = p.clamp_latent(*scene.head)
        if p.glide_beats > 0 and p.playing and target != p.head:
            self._glide = (p.head, target, line, p.glide_beats * PPQN, p.head)
        else:
            p.place_head(*target, now=now)
        self.current = slot
        self.messages.say(f"scene {slot}")
        for listener in self.listeners:
            listener(slot)

    def _glide_to(self, ahead: float, now: float | None) -> None:
        start, end, t0, ticks, last = self._glide  # type: ignore[misc]
        p = self.perf
        if p.head != last:  # the performer took the head: the glide ends where they put it
            self._glide = None
            return
        f = min(1.0, max(0.0, (ahead - t0) / ticks))
        z = (start[0] + (end[0] - start[0]) * f, start[1] + (end[1] - start[1]) * f)
        p.move_head(*z, now=now if now is not None else 0.0)
        self._glide = None if f >= 1.0 else (start, end, t0, ticks, p.head)

    @property
    def status(self) -> str:
        """For the HUD: 'scene 3', 'scene 3 > 5' while 5 waits for its line, '... gliding'."""
        now = f"scene {self.current}" if self.current is not None else ""
        if self.pending is not None:
            now = f"{now} > {self.pending}" if now else f"scene > {self.pending}"
        return now + ("  gliding" if self._glide is not None else "")

    @property
    def gliding(self) -> bool:
        """True while a recalled scene's head is on its way."""
        return self._glide is not None
