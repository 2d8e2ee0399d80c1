"""Follow an external MIDI clock: tempo from the pulses, start / stop / continue, song position.

Pure logic fed with timestamps (seconds, any time base that only matters in differences):
`feed()` with every realtime message, `check()` now and then to notice a clock that vanished.
The tempo is the least-squares slope of the last `window` pulse times (a beat by default), so
single late pulses (MIDI arrives in audio-period steps under JACK) barely move it.
"""

from __future__ import annotations

from collections import deque
from typing import Sequence

from ..pattern import PPQN
from . import clock_out

MIN_BPM = 20.0
MAX_BPM = 400.0


def slope(ts: Sequence[float], ks: Sequence[float] | None = None) -> float:
    """Least-squares seconds per pulse of pulse times `ts` counted `ks` (default 0, 1, ...)."""
    n = len(ts)
    ks = range(n) if ks is None else ks
    mean_k = sum(ks) / n
    mean_t = sum(ts) / n
    num = 0.0
    den = 0.0
    for k, t in zip(ks, ts):
        dk = k - mean_k
        num += dk * (t - mean_t)
        den += dk * dk
    return num / den


def robust_slope(ts: Sequence[float], tolerance: float = 0.003) -> float:
    """`slope`, refitted without pulses that sit more than `tolerance` seconds (or 3 median
    deviations) off the first line: one pulse held up by a stalled MIDI system should not
    bend the tempo."""
    n = len(ts)
    per = slope(ts)
    mean_t = sum(ts) / n
    mid = (n - 1) / 2.0
    res = [t - (mean_t + (k - mid) * per) for k, t in enumerate(ts)]
    dev = sorted(abs(r) for r in res)[n // 2]
    limit = max(tolerance, 3.0 * dev)
    keep = [k for k in range(n) if abs(res[k]) <= limit]
    if len(keep) == n or len(keep) < max(3, n // 2):
        return per
    return slope([ts[k] for k in keep], keep)


class ClockFollower:
    """State of an external clock: `bpm` (None until known), `running`, `position` (pulses since
    song start = ticks), and `events` since the last `take_events()`.

    Events are (name, tick, at): `tick` a position in ticks, `at` the local time it holds.
    ('start', 0, at) and ('continue', P, at) come with the first pulse after Start / Continue
    (the MIDI spec starts a follower there), `at` being when that pulse is heard here and P
    where Song Position put the song (or where it stopped). ('stop', P, now), ('position', P,
    now), and ('lost', P, now) when pulses stop arriving for `timeout` seconds (or 8 pulses'
    time). Song Position while running is taken as a jump: a 'continue' at the next pulse."""

    def __init__(self, window: int = PPQN, timeout: float = 0.5) -> None:
        self.window = max(2, int(window))
        self.timeout = timeout
        self.bpm: float | None = None
        self.running = False
        self.position = 0
        self.pulses = 0  # pulses received in total
        self.present = False  # pulses are arriving
        self._times: deque[float] = deque(maxlen=self.window + 1)
        self._last_local: float | None = None  # local time the last pulse was read
        self._last_t: float | None = None  # port time of the last pulse
        self._lag: deque[float] = deque(maxlen=96)  # local read time - port time, recent pulses
        self._armed: str | None = None  # 'start' / 'continue': waiting for the first pulse
        self.events: list[tuple[str, int, float]] = []

    def feed(self, status: int, t: float, now: float, data: Sequence[int] = ()) -> None:
        """One realtime / song position message stamped `t` (port time), received at `now`
        (the time base `check` uses)."""
        if status == clock_out.CLOCK:
            self._pulse(t, now)
        elif status == clock_out.START:
            self.running = True
            self.position = 0
            self._armed = "start"
        elif status == clock_out.CONTINUE:
            self.running = True
            self._armed = "continue"
        elif status == clock_out.STOP:
            self._armed = None
            if self.running:
                self.running = False
                self.events.append(("stop", self.position, now))
        elif status == clock_out.SONG_POSITION and len(data) >= 2:
            self.position = ((data[1] << 7) | data[0]) * clock_out.TICKS_PER_SIXTEENTH
            self.events.append(("position", self.position, now))
            if self.running:
                self._armed = "continue"

    def _pulse(self, t: float, now: float) -> None:
        times = self._times
        if times:
            gap = t - times[-1]
            per = self.seconds_per_pulse()
            if gap < 0 or (per is not None and gap > max(4.0 * per, 0.25)):
                times.clear()  # the clock restarted or jumped: start measuring afresh
        times.append(t)
        self.pulses += 1
        self.present = True
        self._last_local = now
        self._last_t = t
        self._lag.append(now - t)
        if self.running:
            if self._armed is not None:
                self.events.append((self._armed, self.position, self._local(t)))
                self._armed = None
            self.position += 1
        if len(times) >= 3:
            per = robust_slope(times)
            if per > 0:
                bpm = 60.0 / (per * PPQN)
                if MIN_BPM <= bpm <= MAX_BPM:
                    self.bpm = bpm

    def seconds_per_pulse(self) -> float | None:
        """Current estimate of one pulse's length, or None."""
        return None if self.bpm is None else 60.0 / (self.bpm * PPQN)

    def check(self, now: float) -> bool:
        """Notice a vanished clock; True (and a 'lost' event) the first time it is noticed
        while running (a master stopped by Stop may stop its pulses too: no event then)."""
        if not self.present or self._last_local is None:
            return False
        per = self.seconds_per_pulse() or 0.0
        if now - self._last_local <= max(self.timeout, 8.0 * per):
            return False
        self.present = False
        self._times.clear()
        self._armed = None
        if not self.running:
            return False
        self.running = False
        self.events.append(("lost", self.position, now))
        return True

    def ticks_at(self, now: float) -> float | None:
        """Where the external clock is at local time `now`, in ticks since its Start (pulse k
        marks tick k), extrapolated from the last pulse; None unless running with a tempo.

        Port time is carried to local time by the smallest recent read delay (the reading
        that waited least for our poll)."""
        per = self.seconds_per_pulse()
        if not self.running or self._armed is not None or per is None or self._last_t is None \
                or self.position < 1:
            return None
        return (self.position - 1) + (now - self._local(self._last_t)) / per

    def _local(self, t: float) -> float:
        """Port time `t` as local time: plus the smallest recent read delay."""
        return t + min(self._lag)

    def take_events(self) -> list[tuple[str, int, float]]:
        """Events since the last call, oldest first."""
        ev, self.events = self.events, []
        return ev
