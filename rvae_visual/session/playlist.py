"""A model playlist for installations (`--playlist A,B,C --playlist-minutes N`): every N
minutes the next map, loaded ahead and swapped in on a bar line, while nobody is playing (a
visitor's map does not change under their hands: the change waits for the attract wander)."""

from __future__ import annotations

import math
from typing import Sequence

from ..pattern import TICKS_PER_BAR
from .library import ModelLibrary
from .wander import Wander


class Playlist:
    """Steps through `refs` every `every_s` seconds; `step` once per sync."""

    def __init__(self, library: ModelLibrary, wander: Wander, refs: Sequence[str], every_s: float) -> None:
        self.library = library
        self.wander = wander
        self.refs = list(refs)
        self.every_s = float(every_s)
        self.index = 0
        self.changes = 0
        self._due: float | None = None  # time (s) of the next change
        self._line: float | None = None  # the bar line it lands on

    def _idle(self) -> bool:
        return self.wander.idle_s <= 0 or self.wander.active

    def step(self, ahead: float, now: float) -> None:
        """At tick-time `ahead` (being published), time `now` (s)."""
        if len(self.refs) < 2 or self.every_s <= 0:
            return
        if self._due is None:
            self._due = now + self.every_s
            return
        if now < self._due or not self._idle():
            self._line = None
            return
        nxt = self.refs[(self.index + 1) % len(self.refs)]
        lib = self.library
        if not lib.is_ready(nxt):
            lib.preload(nxt)
            return
        if self._line is None:
            self._line = float((math.floor(ahead / TICKS_PER_BAR) + 1) * TICKS_PER_BAR)
        if ahead >= self._line:
            self.index = (self.index + 1) % len(self.refs)
            lib.request_model(nxt, note="playlist")
            self.changes += 1
            self._due = now + self.every_s
            self._line = None
