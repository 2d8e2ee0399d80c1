"""A TransportControl for tests of clock sources: records what they ask, in order."""

from __future__ import annotations

import queue
from typing import Callable, NamedTuple

CLOCK_START = "start"  # a locate while stopped
CLOCK_CONTINUE = "continue"  # a locate while playing (a jump)
CLOCK_STOP = "stop"


class ClockCmd(NamedTuple):
    kind: str
    tick: float = 0.0
    at: float | None = None


class RecordingTransport:
    """Records locate / stop as ClockCmds in `cmds` and tempos in `tempos`; the heard position
    comes from `position()`."""

    def __init__(self, position: Callable[[], float] = lambda: 0.0, tempo: float = 120.0) -> None:
        self.position = position
        self.cmds: queue.SimpleQueue[ClockCmd] = queue.SimpleQueue()
        self.tempos: list[float] = []
        self._tempo = tempo
        self._playing = False

    @property
    def playing(self) -> bool:
        return self._playing

    @property
    def tempo(self) -> float:
        return self._tempo

    def follow_tempo(self, bpm: float) -> None:
        self._tempo = bpm
        self.tempos.append(bpm)

    def locate(self, tick: float, at: float | None = None) -> None:
        self.cmds.put(ClockCmd(CLOCK_CONTINUE if self._playing else CLOCK_START, float(tick), at))
        self._playing = True

    def stop(self) -> None:
        self._playing = False
        self.cmds.put(ClockCmd(CLOCK_STOP))

    def heard_position(self) -> float:
        return self.position()
